"""(d) fetchAndLock p50/p99 with 10^3, 10^5 and 10^6 open external tasks (PostgreSQL).

Open tasks of agency BENCH-A are generated inside the database (``generate_series``: a
million rows in seconds, where client-side inserts would take minutes), spread over 1,000
minimal dossier rows, then ``ANALYZE`` as autovacuum would.  Then sequential
``POST /engine-rest/external-task/fetchAndLock`` with the Python client's exact body
(maxTasks 1, lockDuration 60 000) and a new connection per call, as that client makes.
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime
from typing import Any

import requests
from common import TWO_STEP_KEY, indexes_rebuilt_after, percentile
from servers import HTTP_TIMEOUT, BenchAborted
from sqlalchemy import insert, select, text

from orchestrator.store.db import Database
from orchestrator.store.models import ExternalTaskRow, ProcessDefinition, ProcessInstance

HOLDERS = 1000  # dossier rows the open tasks belong to
WARM_UP = 5  # first calls pay for imports, caches and query plans: not counted


def open_tasks(database_url: str, first: int, last: int) -> float:
    """Tasks numbered ``first``..``last`` (older as the number grows); seconds taken."""
    db = Database(database_url)
    began = time.perf_counter()
    try:
        now = datetime.now(UTC)
        with db.write() as session:
            definition_id = session.scalar(
                select(ProcessDefinition.id).where(ProcessDefinition.key == TWO_STEP_KEY)
            )
            if first == 1:
                session.execute(
                    insert(ProcessInstance),
                    [
                        {
                            "id": f"open-{n:05d}",
                            "definition_id": definition_id,
                            "process_key": TWO_STEP_KEY,
                            "business_key": f"HS-OPEN-{n:05d}",
                            "status": "running",
                            "version": 1,
                            "state": b"",
                            "serializer_version": "bench",
                            "variables": {"hoTen": "Công dân"},
                            "current_activities": [],
                            "created_at": now,
                            "updated_at": now,
                        }
                        for n in range(HOLDERS)
                    ],
                )
            with indexes_rebuilt_after(session.connection(), ExternalTaskRow.__table__):
                session.execute(
                    text(
                        "INSERT INTO external_task (id, instance_id, definition_id, process_key,"
                        " business_key, activity_id, activity_name, topic, handled_in_process, agency,"
                        " priority, created_at, incident, suspended, local_variables)"
                        " SELECT gen_random_uuid()::text, 'open-' || lpad((g % :holders)::text, 5, '0'),"
                        " :definition,"
                        " :key, 'HS-OPEN-' || g, 'BuocA', 'Bước A', 'bench-a', false, 'BENCH-A', 0,"
                        " CAST(:now AS timestamptz) - g * interval '1 millisecond', false, false, '{}'"
                        " FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g"
                    ),
                    {
                        "holders": HOLDERS,
                        "definition": definition_id,
                        "key": TWO_STEP_KEY,
                        "now": now,
                        "first": first,
                        "last": last,
                    },
                )
        with db.write() as session:  # fresh planner statistics, as autovacuum gives a table this size
            session.execute(text("ANALYZE external_task"))
            session.execute(text("ANALYZE process_instance"))
    finally:
        db.dispose()
    return time.perf_counter() - began


def latencies(base: str, token: str, fetches: int) -> list[float]:
    url = f"{base}/engine-rest/external-task/fetchAndLock"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = {
        "workerId": "bench-latency",
        "maxTasks": 1,
        "topics": [
            {
                "topicName": "bench-a",
                "lockDuration": 60_000,
                "processVariables": {},
                "includeExtensionProperties": True,
                "deserializeValues": True,
                "variables": None,
            }
        ],
        "asyncResponseTimeout": 30_000,
        "usePriority": False,
        "sorting": None,
    }
    samples = []
    for n in range(WARM_UP + fetches):
        began = time.perf_counter()
        response = requests.post(url, json=body, headers=headers, timeout=HTTP_TIMEOUT)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200 or len(response.json()) != 1:
            raise BenchAborted(f"fetch {n}: {response.status_code} {response.text[:300]}")
        if n >= WARM_UP:
            samples.append(elapsed)
    return samples


def measure(base: str, database_url: str, token: str, sizes: list[int], fetches: int) -> list[dict[str, Any]]:
    rows, inserted = [], 0
    for size in sorted(sizes):
        load_seconds = open_tasks(database_url, inserted + 1, size)
        inserted = size
        samples = latencies(base, token, fetches)
        rows.append(
            {
                "open_tasks": size,
                "fetches": len(samples),
                "insert_seconds": round(load_seconds, 1),
                "p50_ms": round(statistics.median(samples), 2),
                "p99_ms": round(percentile(samples, 99), 2),
                "max_ms": round(max(samples), 2),
            }
        )
        print(
            f"  fetchAndLock, {size:,} open: p50 {rows[-1]['p50_ms']} ms, p99 {rows[-1]['p99_ms']} ms",
            flush=True,
        )
    return rows
