"""Scale-out safety under load (issue 7, part 4): several API processes and several workers on
one database; every completion is applied once and every timer and deadline fires once.

PostgreSQL: 2 ``serve --no-worker`` API processes + 2 ``lienthong worker`` processes (each
with its ticker).  SQLite is single-host by design: 1 API process + 2 workers (the writer
lock serialises them; the claims must still hold).  Agency clients run as threads, each
fetching from one API process and completing through the other; every completion is also
sent twice at once (one per API process) so that exactly one of the pair may win.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, insert, select

from orchestrator.access import map_topic
from orchestrator.clock import utcnow
from orchestrator.runtime import Runtime
from orchestrator.services import definitions
from orchestrator.store.models import Deadline, Event, Notification, ProcessInstance

from .agency_fixtures import ROOT, make_agency_token, serve_process
from .bpmn_builder import chain, external, resource

DOSSIERS = 16
KEY = "scale-out"
TIMEOUT = 25.0


def _diagram() -> Any:
    timer = (
        '<bpmn:intermediateCatchEvent id="cho"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    )
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            external("a", "scale-a", name="Bước A"),
            timer,
            external("b", "scale-b", name="Bước B"),
            '<bpmn:endEvent id="end" />',
            chain("start", "a", "cho", "b", "end"),
        ]
    )
    return resource(body, process_id=KEY)


@contextlib.contextmanager
def _workers(database_url: str, tmp_path: Path, count: int) -> Iterator[None]:
    env = {
        **os.environ,
        "LIENTHONG_DATABASE_URL": database_url,
        "LIENTHONG_ENV": "production",
        "LIENTHONG_SECRET_KEY": "test-only-console-session-key",
        "LIENTHONG_HANDLER_MODULES": "",
        "LIENTHONG_WORKER_POLL_SECONDS": "0.2",
    }
    processes = []
    try:
        for n in range(count):
            log = (tmp_path / f"worker-{n}.log").open("wb")
            command = [sys.executable, "-m", "orchestrator.cli", "worker"]
            processes.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _agency_client(
    fetch_base: str, complete_bases: list[str], token: str, topic: str, stop: float, finished: threading.Event
) -> int:
    """Fetch from one API process, then complete through every one at once; returns completions won."""
    headers = {"Authorization": f"Bearer {token}"}
    worker_id, won = f"client-{topic}-{random.random()}", 0
    with requests.Session() as session, ThreadPoolExecutor(len(complete_bases)) as race:
        while time.monotonic() < stop and not finished.is_set():
            body = {
                "workerId": worker_id,
                "maxTasks": 2,
                "asyncResponseTimeout": 500,
                "topics": [{"topicName": topic, "lockDuration": 30_000}],
            }
            response = session.post(
                f"{fetch_base}/engine-rest/external-task/fetchAndLock", json=body, headers=headers
            )
            assert response.status_code == 200, response.text
            for task in response.json():
                answers = list(
                    race.map(
                        lambda base, task_id=task["id"]: (
                            requests.post(
                                f"{base}/engine-rest/external-task/{task_id}/complete",
                                json={"workerId": worker_id, "variables": {"ketQua": {"value": "xong"}}},
                                headers=headers,
                                timeout=20,
                            ).status_code
                        ),
                        complete_bases,
                    )
                )
                assert answers.count(204) == 1, answers  # the other attempt is refused, never applied
                won += 1
    return won


def _count(runtime: Runtime, statement: Any) -> int:
    with runtime.db.read() as session:
        return int(session.scalar(statement) or 0)


def test_completions_timers_and_deadlines_apply_once_with_several_processes(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    postgresql = not runtime.db.is_sqlite
    definitions.deploy(runtime.engine, [_diagram()])
    tokens = {
        topic: make_agency_token(runtime, agency)
        for topic, agency in (("scale-a", "SO-A"), ("scale-b", "SO-B"))
    }
    map_topic(runtime.db, "scale-a", "SO-A")
    map_topic(runtime.db, "scale-b", "SO-B")
    desk = make_agency_token(runtime, "SO-DESK", scopes=("desk",))

    with contextlib.ExitStack() as stack:
        api = [
            stack.enter_context(serve_process(database_url, tmp_path))[0]
            for _ in range(2 if postgresql else 1)
        ]
        stack.enter_context(_workers(database_url, tmp_path, 2))
        start = f"/engine-rest/process-definition/key/{KEY}/start"
        with ThreadPoolExecutor(4) as pool:
            ids = list(
                pool.map(
                    lambda n: requests.post(
                        f"{api[n % len(api)]}{start}",
                        json={"businessKey": f"HS-{n:03d}"},
                        headers={"Authorization": f"Bearer {desk}"},
                        timeout=20,
                    ).json()["id"],
                    range(DOSSIERS),
                )
            )
        # One deadline per dossier comes due while both workers' tickers sweep.
        now = utcnow()
        with runtime.db.write() as session:
            session.execute(
                insert(Deadline),
                [
                    {
                        "instance_id": instance_id,
                        "scope": "step",
                        "budget": "1wd",
                        "started_at": now,
                        "due_at": now + timedelta(days=30),
                        "original_due_at": now + timedelta(days=30),
                        "warn_at": now + timedelta(seconds=random.uniform(0.5, 3)),
                        "pauses": [],
                        "supplement_count": 0,
                        "state": "running",
                    }
                    for instance_id in ids
                ],
            )
        stop = time.monotonic() + TIMEOUT
        clients, finished = (
            [(api[n % len(api)], topic) for topic in tokens for n in range(2)],
            threading.Event(),
        )
        with ThreadPoolExecutor(len(clients)) as pool:
            running = [
                pool.submit(_agency_client, base, api, tokens[topic], topic, stop, finished)
                for base, topic in clients
            ]
            completed = ProcessInstance.status == "completed"
            while (
                time.monotonic() < stop and _count(runtime, select(func.count()).where(completed)) < DOSSIERS
            ):
                time.sleep(0.2)
            done_at = time.monotonic()
            finished.set()
            won = sum(future.result() for future in running)
        assert done_at < stop, "the dossiers did not all finish in time"
        deadline_wait = time.monotonic() + 5
        warned = select(func.count()).where(Notification.kind == "deadline_warning")
        while _count(runtime, warned) < DOSSIERS and time.monotonic() < deadline_wait:
            time.sleep(0.2)

    assert won == 2 * DOSSIERS
    with runtime.db.read() as session:
        versions = set(session.scalars(select(ProcessInstance.version).where(ProcessInstance.id.in_(ids))))
        per_task = session.execute(
            select(Event.task_id, func.count()).where(Event.type == "task_completed").group_by(Event.task_id)
        ).all()
        timers = session.execute(
            select(Event.instance_id, func.count())
            .where(Event.type == "timer_fired")
            .group_by(Event.instance_id)
        ).all()
        warnings = session.execute(
            select(Notification.deadline_id, func.count())
            .where(Notification.kind == "deadline_warning")
            .group_by(Notification.deadline_id)
        ).all()
    # start, A completed, timer fired, B completed: four steps, so version 4 and no more.
    assert versions == {4}
    assert len(per_task) == 2 * DOSSIERS and {n for _, n in per_task} == {1}
    assert len(timers) == DOSSIERS and {n for _, n in timers} == {1}
    assert len(warnings) == DOSSIERS and {n for _, n in warnings} == {1}
