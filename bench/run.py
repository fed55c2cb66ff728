"""The benchmark suite (issue 7): ``make bench`` runs it; bounded, under 10 minutes on 2 cores.

  (a) engine ceiling        bench/engine.py       (b) persisted step   bench/engine.py
  (c) dossiers/s over HTTP  bench/throughput.py   (d) fetchAndLock     bench/fetch_lock.py
  (e) deadline lateness     bench/deadlines.py    (f) bytes/dossier    bench/storage.py
  (g) database limit        bench/db_limit.py

Writes ``bench/results/<yyyy-mm-dd>-<host>.md`` and ``.json``.  (b)-(g) need PostgreSQL at
``LIENTHONG_BENCH_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/lt_bench``;
its ``public`` schema is dropped and recreated before each part, or with ``--keep-schema``
only emptied); without it those parts are skipped and the report says so.  ``--tiny`` runs
every module in a tiny configuration with one API process (the smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import db_limit
import deadlines
import engine
import fetch_lock
import procedures
import report
import servers
import storage
import throughput


@dataclass(frozen=True)
class Config:
    steps: dict[int, int] = field(default_factory=lambda: {5: 1000, 50: 200, 200: 200})  # tasks -> steps
    dossiers: dict[str, int] = field(default_factory=lambda: {"two-step": 300, "land-transfer": 60})
    api_processes: tuple[int, ...] = (1, 2)
    clients_per_agency: int = 2
    fetch_sizes: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    fetches: int = 300
    deadline_sizes: tuple[int, ...] = (100_000, 1_000_000)
    deadlines_due: int = 300  # coming due in the window
    deadline_window: float = 10.0
    deadline_sweep_seconds: float = deadlines.SWEEP_SECONDS
    storage_dossiers: int = 10_000
    db_seconds: float = 3.0
    load_timeout: float = 120.0


TINY = Config(
    steps={5: 10},
    dossiers={"two-step": 4, "land-transfer": 2},
    api_processes=(1,),
    clients_per_agency=1,
    fetch_sizes=(10, 100),
    fetches=5,
    deadline_sizes=(1_000,),
    deadlines_due=20,
    deadline_window=0.5,
    deadline_sweep_seconds=0.2,
    storage_dossiers=20,
    db_seconds=0.2,
    load_timeout=60.0,
)


class Suite:
    """Runs each part, keeps its result or why it did not run; one part failing does not stop the rest."""

    def __init__(
        self, config: Config, pg_url: str | None, work_dir: Path, deadline: float, keep_schema: bool = False
    ) -> None:
        self.config, self.pg_url, self.work_dir, self.deadline = config, pg_url, work_dir, deadline
        self.keep_schema = keep_schema
        self.results: dict[str, Any] = {}
        self.skipped: dict[str, str] = {}

    def part(self, name: str, needs_pg: bool, run: Callable[[], Any]) -> None:
        if needs_pg and self.pg_url is None:
            self.skipped[name] = "PostgreSQL unreachable at LIENTHONG_BENCH_PG_URL"
            return
        began = time.monotonic()
        print(f"[{name}] ...", flush=True)
        try:
            self.results[name] = run()
        except servers.BenchAborted:
            raise
        except Exception as error:  # the report shows it; the next part still runs
            traceback.print_exc()
            self.skipped[name] = f"failed: {type(error).__name__}: {str(error)[:300]}"
        print(f"[{name}] {time.monotonic() - began:.1f} s", flush=True)

    def sqlite_url(self, name: str) -> str:
        return f"sqlite:///{self.work_dir}/{name}.db"

    def fresh_pg(self) -> str:
        assert self.pg_url is not None
        (common.empty_pg if self.keep_schema else common.reset_pg)(self.pg_url)
        return self.pg_url

    def run(self) -> None:
        c = self.config
        self.part("a_ceiling", False, lambda: [engine.ceiling(n, steps) for n, steps in c.steps.items()])
        self.part(
            "b_persisted_sqlite",
            False,
            lambda: [engine.persisted(n, steps, self.sqlite_url(f"b{n}")) for n, steps in c.steps.items()],
        )
        self.part(
            "b_persisted_postgresql",
            True,
            lambda: [engine.persisted(n, steps, self.fresh_pg()) for n, steps in c.steps.items()],
        )
        self.part(
            "g_db_limit_postgresql",
            True,
            lambda: db_limit.committed_transactions(self.fresh_pg(), c.db_seconds),
        )
        self.part(
            "g_db_limit_sqlite",
            False,
            lambda: db_limit.committed_transactions(self.sqlite_url("g"), c.db_seconds),
        )
        self.part("c_http", True, self.http)
        self.part(
            "e_deadlines",
            True,
            lambda: [
                deadlines.measure(
                    self.fresh_pg(), n, c.deadlines_due, c.deadline_window, c.deadline_sweep_seconds
                )
                for n in c.deadline_sizes
            ],
        )
        # Last, with what is left of the run's time (its dossiers are real, so they take time).
        self.part(
            "f_storage",
            True,
            lambda: storage.measure(
                self.fresh_pg(), c.storage_dossiers, max(20.0, self.deadline - time.monotonic() - 45)
            ),
        )

    def http(self) -> dict[str, Any]:
        """(c) for each procedure and API process count, then (d) on the last (2-process) server."""
        c, runs, fetches = self.config, [], None
        agencies = sorted({a for p in procedures.PROCEDURES for a in p.agencies})
        for api_processes in c.api_processes:
            url = self.fresh_pg()
            work_dir = self.work_dir / f"http-{api_processes}"
            work_dir.mkdir(parents=True, exist_ok=True)
            tokens = servers.prepare_database(url, agencies)
            with servers.production(url, work_dir, api_processes) as base:
                for procedure in procedures.PROCEDURES:
                    servers.deploy(base, tokens, procedure.diagram())
                    dossiers = c.dossiers[procedure.name]
                    row = throughput.measure(
                        base, url, tokens, procedure, dossiers, c.clients_per_agency, c.load_timeout
                    )
                    name = procedure.name
                    runs.append({"api_processes": api_processes, "workers": 1, "procedure_name": name, **row})
                    print(
                        f"  {api_processes} API process(es), {name}: "
                        f"{row['dossiers_per_second']} dossiers/s, "
                        f"exactly once: {row['exactly_once']['ok']}",
                        flush=True,
                    )
                if api_processes == max(c.api_processes):
                    fetches = fetch_lock.measure(
                        base, url, tokens.workers["BENCH-A"], list(c.fetch_sizes), c.fetches
                    )
        return {"throughput": runs, "fetch_and_lock": fetches}


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="every module in a tiny configuration")
    parser.add_argument("--pg-url", default=common.PG_URL)
    parser.add_argument("--out", type=Path, default=common.ROOT / "bench" / "results")
    parser.add_argument("--max-seconds", type=int, default=570, help="abort the run after this")
    parser.add_argument(
        "--keep-schema",
        action="store_true",
        help="the PostgreSQL database is already migrated: empty its tables instead of resetting its schema",
    )
    args = parser.parse_args(argv)
    config = TINY if args.tiny else Config()

    def overrun(_signum: int, _frame: Any) -> None:
        raise servers.BenchAborted(f"the benchmark overran {args.max_seconds} s")

    signal.signal(signal.SIGALRM, overrun)
    signal.alarm(args.max_seconds)
    began, load_before = time.monotonic(), [round(x, 2) for x in os.getloadavg()]
    pg_url = args.pg_url if common.pg_reachable(args.pg_url) else None
    with tempfile.TemporaryDirectory(prefix="lienthong-bench-") as directory:
        suite = Suite(config, pg_url, Path(directory), began + args.max_seconds, args.keep_schema)
        try:
            suite.run()
        except servers.BenchAborted as aborted:
            suite.skipped["run"] = str(aborted)
        finally:
            signal.alarm(0)
    result = {
        "benchmark": "lienthong performance suite (issue 7)",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": common.machine(pg_url),
        "load_average_before": load_before,
        "config": asdict(config),
        "postgresql_url": pg_url,
        "results": suite.results,
        "skipped": suite.skipped,
        "total_seconds": round(time.monotonic() - began, 1),
        "command": " ".join(["python bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
    }
    result["summary"] = report.summary(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{datetime.now(UTC):%Y-%m-%d}-{result['machine']['host']}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    markdown = report.render(result)
    stem.with_suffix(".md").write_text(markdown)
    print(markdown)
    return stem


if __name__ == "__main__":
    main()
