"""(c) completed dossiers/s end to end over HTTP, and part 4's exactly-once check under that load.

The desk starts D dossiers over HTTP (``/engine-rest/process-definition/key/K/start``) from a
few threads while camunda-external-task-client-python3 workers (one process each, maxTasks 1,
long polling) complete every step; dossiers/s = D / (first start sent -> last ``ended_at``).
Then every dossier is checked: each step completed once (one ``task_completed`` event per
task, the version counter equal to 1 + the number of steps), nothing left open.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from servers import HTTP_TIMEOUT, BenchAborted, Tokens, agency_clients
from sqlalchemy import func, select

from orchestrator.store.db import Database
from orchestrator.store.models import Event, ExternalTaskRow, ProcessInstance


@dataclass(frozen=True)
class Procedure:
    key: str
    steps: int  # external tasks on the path every bench dossier takes
    topics_by_agency: dict[str, list[str]]


def start_dossiers(base: str, tokens: Tokens, key: str, count: int, threads: int = 4) -> float:
    """The desk files ``count`` dossiers; returns the epoch second of the first send."""
    url = f"{base}/engine-rest/process-definition/key/{key}/start"

    def one(session: requests.Session, n: int) -> None:
        body = {"businessKey": f"HS-{key}-{n:06d}", "variables": {"hoTen": {"value": f"Công dân {n}"}}}
        response = session.post(url, json=body, timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise BenchAborted(f"start {n} failed: {response.status_code} {response.text[:300]}")

    sessions = [requests.Session() for _ in range(threads)]
    for session in sessions:  # a desk application keeps its connections open
        session.headers["Authorization"] = f"Bearer {tokens.desk}"
    first = time.time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda n: one(sessions[n % threads], n), range(count)))
    return first


def _completed(db: Database, key: str) -> tuple[int, Any]:
    with db.read() as session:
        count, last = session.execute(
            select(func.count(), func.max(ProcessInstance.ended_at)).where(
                ProcessInstance.process_key == key, ProcessInstance.status == "completed"
            )
        ).one()
    return int(count), last


def measure(
    base: str,
    database_url: str,
    tokens: Tokens,
    procedure: Procedure,
    dossiers: int,
    clients_per_agency: int,
    timeout: float,
) -> dict[str, Any]:
    db = Database(database_url)
    try:
        with agency_clients(base, tokens, procedure.topics_by_agency, clients_per_agency):
            time.sleep(2)  # the client processes import and open their first long poll
            first_start = start_dossiers(base, tokens, procedure.key, dossiers)
            deadline = time.monotonic() + timeout
            done, last_end = _completed(db, procedure.key)
            while done < dossiers:
                if time.monotonic() > deadline:
                    raise BenchAborted(
                        f"only {done} of {dossiers} {procedure.key} dossiers ended in {timeout:g} s"
                    )
                time.sleep(0.25)
                done, last_end = _completed(db, procedure.key)
        seconds = last_end.timestamp() - first_start
        return {
            "procedure": procedure.key,
            "dossiers": dossiers,
            "clients": clients_per_agency * len(procedure.topics_by_agency),
            "seconds": round(seconds, 2),
            "dossiers_per_second": round(dossiers / seconds, 1),
            "completions_per_second": round(dossiers * procedure.steps / seconds, 1),
            "exactly_once": exactly_once(db, procedure),
        }
    finally:
        db.dispose()


def exactly_once(db: Database, procedure: Procedure) -> dict[str, Any]:
    """Every completion applied once: counts that would differ if one were applied twice or lost."""
    with db.read() as session:
        dossiers = select(ProcessInstance.id).where(ProcessInstance.process_key == procedure.key)
        duplicated = session.scalar(
            select(func.count()).select_from(
                select(Event.task_id)
                .where(Event.type == "task_completed", Event.instance_id.in_(dossiers))
                .group_by(Event.task_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        completions = session.scalar(
            select(func.count()).where(Event.type == "task_completed", Event.instance_id.in_(dossiers))
        )
        wrong_version = session.scalar(
            select(func.count()).where(
                ProcessInstance.process_key == procedure.key, ProcessInstance.version != 1 + procedure.steps
            )
        )
        left_open = session.scalar(select(func.count()).where(ExternalTaskRow.process_key == procedure.key))
        total = session.scalar(select(func.count()).select_from(dossiers.subquery()))
    expected = total * procedure.steps
    return {
        "completions": completions,
        "expected": expected,
        "duplicated_completions": duplicated,
        "dossiers_with_wrong_version": wrong_version,
        "tasks_left_open": left_open,
        "ok": completions == expected and duplicated == 0 and wrong_version == 0 and left_open == 0,
    }
