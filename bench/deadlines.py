"""Deadline sweep cost and firing lateness with 10^5 and 10^6 pending deadlines.

For each size: N running deadlines far in the future, plus a few hundred that come due at
random instants during a 10-second window; a ticker sweeps every second (as in production).
Reported: the cost of one sweep with nothing due (should not grow with N), and the lateness
of each warning (sweep instant minus its warn_at) at p50/p99.

Run: ``.venv/bin/python bench/deadlines.py [--sizes 100000 1000000] [--db sqlite|postgresql]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine import machine, pg_reachable, reset_pg  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from orchestrator.config import Settings  # noqa: E402
from orchestrator.deadlines.enforcement import sweep_deadlines  # noqa: E402
from orchestrator.handler_sdk import HandlerRegistry  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from orchestrator.store.models import Deadline, Event, ProcessDefinition, ProcessInstance  # noqa: E402

PG_URL = os.environ.get("LIENTHONG_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
INSTANCES = 1000
DUE_IN_WINDOW = 300
WINDOW_SECONDS = 10


def populate(runtime: Runtime, pending: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(INSTANCES)]
    with runtime.db.write() as session:
        session.execute(insert(ProcessInstance), [{
            "id": i, "definition_id": "bench:1", "process_key": "bench", "status": "running", "version": 1,
            "state": b"", "serializer_version": "x", "variables": {}, "current_activities": [],
            "created_at": now, "updated_at": now,
        } for i in ids])  # fmt: skip
    far = now + timedelta(days=365)
    batch = 50_000
    for offset in range(0, pending, batch):
        rows = [{
            "instance_id": ids[n % INSTANCES], "scope": "step", "budget": "1wd", "started_at": now,
            "due_at": far, "original_due_at": far, "warn_at": far, "pauses": [], "supplement_count": 0,
            "state": "running",
        } for n in range(offset, min(offset + batch, pending))]  # fmt: skip
        with runtime.db.write() as session:
            session.execute(insert(Deadline), rows)
    return ids


def measure(url: str, pending: int) -> dict:
    runtime = Runtime.create(Settings(database_url=url, handler_modules=()), handlers=HandlerRegistry())
    runtime.migrate()
    with runtime.db.write() as session:  # the FK needs a definition row
        from orchestrator.store.models import Deployment

        now = datetime.now(UTC)
        session.add(Deployment(id="bench", deployed_at=now))
        session.flush()
        session.add(ProcessDefinition(
            id="bench:1", key="bench", version=1, resource_name="bench.bpmn", content_hash="x", bpmn_xml=b"",
            spec_state=b"", serializer_version="x", properties={}, deployment_id="bench", deployed_at=now,
        ))  # fmt: skip
    began = time.perf_counter()
    ids = populate(runtime, pending)
    load_seconds = time.perf_counter() - began

    idle = []
    for _ in range(5):
        t0 = time.perf_counter()
        sweep_deadlines(runtime.engine)
        idle.append((time.perf_counter() - t0) * 1000)

    start = datetime.now(UTC)
    due_rows = [{
        "instance_id": random.choice(ids), "scope": "step", "budget": "1wd", "started_at": start,
        "due_at": start + timedelta(days=30), "original_due_at": start + timedelta(days=30),
        "warn_at": start + timedelta(seconds=random.uniform(0, WINDOW_SECONDS)), "pauses": [],
        "supplement_count": 0, "state": "running",
    } for _ in range(DUE_IN_WINDOW)]  # fmt: skip
    with runtime.db.write() as session:
        session.execute(insert(Deadline), due_rows)
    busy = []
    deadline = time.monotonic() + WINDOW_SECONDS + 2
    while time.monotonic() < deadline:  # the ticker: one sweep a second
        t0 = time.perf_counter()
        sweep_deadlines(runtime.engine)
        busy.append((time.perf_counter() - t0) * 1000)
        time.sleep(max(0.0, 1.0 - (time.perf_counter() - t0)))
    with runtime.db.read() as session:
        lateness = [e.data["late_seconds"] for e in session.scalars(
            select(Event).where(Event.type == "deadline_warning"))]  # fmt: skip
    runtime.close()
    return {
        "pending": pending, "load_seconds": round(load_seconds, 1),
        "idle_sweep_ms_median": round(statistics.median(idle), 2),
        "busy_sweep_ms_max": round(max(busy), 2), "fired": len(lateness),
        "lateness_p50_s": round(statistics.median(lateness), 3),
        "lateness_p99_s": round(statistics.quantiles(lateness, n=100)[98], 3),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        if args.db == "postgresql":
            if not pg_reachable(PG_URL):
                raise SystemExit("PostgreSQL is unreachable: set LIENTHONG_BENCH_PG_URL")
            reset_pg(PG_URL)
            results.append(measure(PG_URL, size))
        else:
            with tempfile.TemporaryDirectory() as directory:
                results.append(measure(f"sqlite:///{directory}/bench.db", size))
        print(json.dumps(results[-1]))
    report = {
        "benchmark": "deadline sweep",
        "db": args.db,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": results,
        "command": f"python bench/deadlines.py --db {args.db} --sizes {' '.join(map(str, args.sizes))}",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{datetime.now(UTC):%Y-%m-%d}-{machine()['host']}-deadlines-{args.db}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Deadline sweep — {report['date']} ({args.db})",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores.",
        f"Command: `{report['command']}`",
        "",
        "| pending | idle sweep ms (median) | busy sweep ms (max) | fired | lateness p50 s | lateness p99 s"
        " |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['pending']:,} | {r['idle_sweep_ms_median']} | {r['busy_sweep_ms_max']} | {r['fired']} | "
        f"{r['lateness_p50_s']} | {r['lateness_p99_s']} |"
        for r in results
    ]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
