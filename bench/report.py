"""The suite's summary (ratios, targets, Camunda's published figures) and its Markdown report."""

from __future__ import annotations

from typing import Any

# Camunda's published figures the issue compares with.
CAMUNDA_INSTANCES_PER_SECOND = 105.0  # Camunda 7, 2 external tasks, a user's stress test
CAMUNDA_BYTES_PER_INSTANCE = 24 * 1024  # Camunda 7 runtime + history, per instance


def _get(result: dict[str, Any], *path: Any) -> Any:
    value: Any = result.get("results", {})
    for key in path:
        if value is None:
            return None
        if isinstance(key, int):
            value = value[key] if isinstance(value, list) and len(value) > key else None
        else:
            value = value.get(key) if isinstance(value, dict) else None
    return value


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 3) if numerator is not None and denominator else None


def _by_tasks(rows: list[dict[str, Any]] | None) -> dict[int, float]:
    return {row["tasks"]: row["steps_per_second"] for row in rows or []}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    ceiling = _by_tasks(_get(result, "a_ceiling"))
    pg, lite = (
        _by_tasks(_get(result, "b_persisted_postgresql")),
        _by_tasks(_get(result, "b_persisted_sqlite")),
    )
    runs = _get(result, "c_http", "throughput") or []
    two_step = [r for r in runs if r["procedure_name"] == "two-step"]
    best = max(two_step, key=lambda r: r["dossiers_per_second"], default=None)
    fetches = {row["open_tasks"]: row for row in _get(result, "c_http", "fetch_and_lock") or []}
    small, large = (fetches[min(fetches)], fetches[max(fetches)]) if fetches else (None, None)
    lateness = {row["pending"]: row for row in _get(result, "e_deadlines") or []}
    most_pending = lateness[max(lateness)] if lateness else None
    storage = _get(result, "f_storage")
    tps = _get(result, "g_db_limit_postgresql", "per_second")
    smallest = min(ceiling) if ceiling else None
    once = [r["exactly_once"]["ok"] for r in runs] + [row["fired_once"] for row in lateness.values()]
    ratios = {
        "b_over_a_postgresql": {n: _ratio(pg.get(n), ceiling.get(n)) for n in ceiling},
        "b_over_a_sqlite": {n: _ratio(lite.get(n), ceiling.get(n)) for n in ceiling},
        "c_over_b": _ratio(best["completions_per_second"] if best else None, pg.get(2) or pg.get(smallest)),
        "b_over_g": _ratio(pg.get(smallest), tps),
        "fetch_p99_large_over_small": _ratio(large["p99_ms"], small["p99_ms"]) if fetches else None,
        "fetch_p50_large_over_small": _ratio(large["p50_ms"], small["p50_ms"]) if fetches else None,
        "dossiers_per_second_over_camunda": _ratio(
            best["dossiers_per_second"] if best else None, CAMUNDA_INSTANCES_PER_SECOND
        ),
        "bytes_over_camunda": _ratio(
            storage["bytes_per_dossier"] if storage else None, CAMUNDA_BYTES_PER_INSTANCE
        ),
    }
    share = ratios["b_over_a_postgresql"].get(smallest) if smallest else None
    targets = [
        _target(
            f"persisted step (PostgreSQL, {smallest}-task) / engine ceiling",
            share,
            "≥ 50 %",
            share is not None and share >= 0.5,
            percent=True,
        ),
        _target(
            "two-step dossiers/s over HTTP, PostgreSQL (best API process count)",
            best["dossiers_per_second"] if best else None,
            "≥ 150",
            best is not None and best["dossiers_per_second"] >= 150,
        ),
        _target(
            f"fetchAndLock p99 at {max(fetches):,} open, ms" if fetches else "fetchAndLock p99, ms",
            large["p99_ms"] if large else None,
            "≤ 20",
            large is not None and large["p99_ms"] <= 20,
        ),
        _target(
            "fetchAndLock p99 largest / smallest open-task count",
            ratios["fetch_p99_large_over_small"],
            "≤ 2",
            ratios["fetch_p99_large_over_small"] is not None and ratios["fetch_p99_large_over_small"] <= 2,
        ),
        _target(
            f"deadline lateness p99 at {max(lateness):,} pending, s"
            if lateness
            else "deadline lateness p99, s",
            most_pending["lateness_p99_s"] if most_pending else None,
            "≤ 2",
            most_pending is not None and (most_pending["lateness_p99_s"] or 99) <= 2,
        ),
        _target(
            f"bytes per completed dossier (after {storage['dossiers']:,})"
            if storage
            else "bytes per completed dossier",
            storage["bytes_per_dossier"] if storage else None,
            "≤ 8,192",
            storage is not None and storage["bytes_per_dossier"] <= 8192,
        ),
        _target(
            "every completion applied once, every deadline fired once",
            all(once) if once else None,
            "all",
            bool(once) and all(once),
        ),
    ]
    return {"ratios": ratios, "targets": targets}


def _target(name: str, value: Any, target: str, met: bool, percent: bool = False) -> dict[str, Any]:
    shown = "—" if value is None else f"{100 * value:.0f} %" if percent else str(value)
    return {
        "name": name,
        "value": value,
        "shown": shown,
        "target": target,
        "met": met if value is not None else None,
    }


def render(result: dict[str, Any]) -> str:
    m, s = result["machine"], result["summary"]
    lines = [
        f"# lienthong benchmark — {result['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; Python {m['python']}; "
        f"SQLite {m['sqlite']}; "
        f"PostgreSQL {m['postgresql'] or 'not reachable'}; commit {m['git_commit']}; load before "
        f"{result['load_average_before']}.",
        f"Command: `{result['command']}` ({result['total_seconds']} s).",
        "",
        "## Targets",
        "",
        "| measure | value | target | met |",
        "|---|---:|---:|:---:|",
    ]
    lines += [f"| {t['name']} | {t['shown']} | {t['target']} | {_met(t['met'])} |" for t in s["targets"]]
    if result["skipped"]:
        lines += [
            "",
            "Skipped or failed parts: " + "; ".join(f"{k}: {v}" for k, v in result["skipped"].items()),
        ]
    lines += (
        _engine_section(result) + _http_section(result) + _rest_section(result) + _ratio_section(s["ratios"])
    )
    return "\n".join(lines) + "\n"


def _met(met: bool | None) -> str:
    return "—" if met is None else "yes" if met else "no"


def _engine_section(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## (a) engine ceiling and (b) persisted step",
        "",
        "Diagram: start → N external tasks → end. Act: complete the started external task, advance to "
        "the next wait state, serialize (a: in memory; b: `complete_external_task`, one transaction). "
        "Only the step is timed.",
        "",
        "| mode | tasks | steps | steps/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode in ("a_ceiling", "b_persisted_sqlite", "b_persisted_postgresql"):
        for row in _get(result, mode) or []:
            lines.append(
                f"| {mode} | {row['tasks']} | {row['steps']} | {row['steps_per_second']} | "
                f"{row['step_ms_p50']} | {row['step_ms_p99']} |"
            )
    for mode in ("g_db_limit_postgresql", "g_db_limit_sqlite"):
        if row := _get(result, mode):
            lines.append(f"\n(g) {mode[11:]}: {row['per_second']} committed one-row UPDATE transactions/s.")
    return lines


def _http_section(result: dict[str, Any]) -> list[str]:
    runs = _get(result, "c_http", "throughput") or []
    lines = [
        "",
        "## (c) end to end over HTTP (PostgreSQL) and the exactly-once check",
        "",
        "gunicorn `-k gthread --threads 8` with N processes + 1 `lienthong worker`; the desk starts "
        "dossiers over `/engine-rest` from 4 threads; camunda-external-task-client-python3 workers (one "
        "process each, maxTasks 1, long polling) complete every step. Land transfer: the real "
        "`processes/land-transfer.bpmn` (`chuyen-nhuong-dat`: 8 steps of 3 agencies, one client process "
        "per agency, two sub-processes with timers, step and dossier deadlines) on its happy path; a payer "
        "thread sends each dossier's `nop-thue-dat` payment message once it waits at the event-based "
        "gateway.",
        "",
        "| API processes | procedure | dossiers | clients | s | dossiers/s | completions/s | exactly once |",
        "|---:|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in runs:
        once = r["exactly_once"]
        lines.append(
            f"| {r['api_processes']} | {r['procedure_name']} | {r['dossiers']} | {r['clients']} | "
            f"{r['seconds']} | {r['dossiers_per_second']} | {r['completions_per_second']} | "
            f"{'yes' if once['ok'] else 'NO'} ({once['completions']}/{once['expected']}"
            + (f", paid {once['payments']}/{once['expected_payments']}" if once["expected_payments"] else "")
            + ") |"
        )
    fetches = _get(result, "c_http", "fetch_and_lock") or []
    if fetches:
        lines += [
            "",
            "(d) fetchAndLock, Python client's body, new connection per call, 2 API processes:",
            "",
            "| open tasks | fetches | p50 ms | p99 ms | max ms |",
            "|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {f['open_tasks']:,} | {f['fetches']} | {f['p50_ms']} | {f['p99_ms']} | {f['max_ms']} |"
            for f in fetches
        ]
    return lines


def _rest_section(result: dict[str, Any]) -> list[str]:
    lines = []
    if rows := _get(result, "e_deadlines"):
        lines += [
            "",
            "## (e) deadline firing (PostgreSQL, 2 tickers sweeping once a second each, half a second apart)",
            "",
            "| pending | idle sweep ms | fired | fired once | lateness p50 s | p99 s |",
            "|---:|---:|---:|:---:|---:|---:|",
        ]
        lines += [
            f"| {r['pending']:,} | {r['idle_sweep_ms_median']} | {r['fired']}/{r['expected']} | "
            f"{'yes' if r['fired_once'] else 'NO'} | {r['lateness_p50_s']} | {r['lateness_p99_s']} |"
            for r in rows
        ]
    if row := _get(result, "f_storage"):
        parts = ", ".join(f"{k} {v:,} B" for k, v in row["parts"].items())
        lines += [
            "",
            f"## (f) storage: {row['bytes_per_dossier']:,} bytes per completed two-step dossier after "
            f"{row['dossiers']:,} ({parts}; the gzip state column averages "
            f"{row['state_column_bytes_avg']} B).",
        ]
    return lines


def _ratio_section(ratios: dict[str, Any]) -> list[str]:
    def pct(value: float | None) -> str:
        return "—" if value is None else f"{100 * value:.0f} %"

    lines = ["", "## Ratios", ""]
    lines += [
        f"- (b)/(a), {n} tasks: PostgreSQL {pct(v)}, SQLite {pct(ratios['b_over_a_sqlite'].get(n))}"
        for n, v in ratios["b_over_a_postgresql"].items()
    ]
    lines += [
        f"- (c)/(b): HTTP completions/s over persisted PostgreSQL steps/s: {pct(ratios['c_over_b'])}",
        f"- (b)/(g): persisted PostgreSQL steps/s over committed transactions/s: {pct(ratios['b_over_g'])}",
        "- fetchAndLock at the largest over the smallest open-task count: "
        f"p50 ×{ratios['fetch_p50_large_over_small']}, "
        f"p99 ×{ratios['fetch_p99_large_over_small']}",
        f"- Camunda 7 (2 external tasks, 105 instances/s in a user's stress test): two-step dossiers/s here "
        f"= ×{ratios['dossiers_per_second_over_camunda']} of it",
        "- Camunda 7 runtime + history ≈ 24 KB per instance: bytes per dossier here = "
        f"×{ratios['bytes_over_camunda']}",
    ]
    return lines
