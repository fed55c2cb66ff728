"""Several OS processes racing on the same tasks through the HTTP API.

fetchAndLock: no task is ever handed to two workers, and together they get them all.
complete: of several simultaneous completions of one task exactly one applies; the
dossier advances once.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from sqlalchemy import func, select

from orchestrator.access import map_topic
from orchestrator.services import definitions, instances
from orchestrator.store.models import Event, ExternalTaskRow

from .agency_fixtures import EngineRest, make_agency_token
from .bpmn_builder import two_step

AGENCY = "CA-XA"
RACERS = 3
TASKS = 30


def _client(url: str) -> tuple[Any, Any]:
    from api import create_app
    from orchestrator.config import Settings
    from orchestrator.handler_sdk import HandlerRegistry
    from orchestrator.runtime import Runtime

    runtime = Runtime.create(Settings(database_url=url, handler_modules=()), handlers=HandlerRegistry())
    return runtime, create_app(runtime=runtime).test_client()


def _fetch_until_empty(url: str, token: str, worker: str, go: Any, results: Any) -> None:
    runtime, client = _client(url)
    body = {"workerId": worker, "maxTasks": 2, "topics": [{"topicName": "police", "lockDuration": 600_000}]}
    got: list[str] = []
    empty_in_a_row = 0
    try:
        go.wait(30)
        while empty_in_a_row < 3:
            response = client.post(
                "/engine-rest/external-task/fetchAndLock",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code != 200:
                results.put((worker, f"HTTP {response.status_code}: {response.get_data(as_text=True)}"))
                return
            tasks = response.get_json()
            empty_in_a_row = 0 if tasks else empty_in_a_row + 1
            got += [task["id"] for task in tasks]
        results.put((worker, got))
    finally:
        runtime.close()


def _complete(url: str, token: str, task_id: str, go: Any, results: Any) -> None:
    runtime, client = _client(url)
    try:
        go.wait(30)
        response = client.post(
            f"/engine-rest/external-task/{task_id}/complete",
            json={"workerId": "holder", "variables": {"by": {"value": "racer"}}},
            headers={"Authorization": f"Bearer {token}"},
        )
        results.put(response.status_code)
    finally:
        runtime.close()


def _race(target: Any, args_of: Any) -> list[Any]:
    context = mp.get_context("spawn")
    go, results = context.Event(), context.Queue()
    racers = [context.Process(target=target, args=(*args_of(i), go, results)) for i in range(RACERS)]
    for racer in racers:
        racer.start()
    go.set()
    outcomes = [results.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join(30)
    return outcomes


def test_racing_fetchers_never_share_a_task(runtime, engine, database_url):
    token = make_agency_token(runtime, AGENCY)
    map_topic(runtime.db, "police", AGENCY)
    definitions.deploy(engine, [two_step()])
    for _ in range(TASKS):
        instances.start_instance(engine, "p")

    outcomes = dict(_race(_fetch_until_empty, lambda i: (database_url, token, f"worker-{i}")))

    assert all(isinstance(got, list) for got in outcomes.values()), outcomes
    handed_out = [task_id for got in outcomes.values() for task_id in got]
    assert len(handed_out) == len(set(handed_out)) == TASKS  # each task once, and every task
    with engine.db.read() as session:
        owners = dict(session.execute(select(ExternalTaskRow.id, ExternalTaskRow.lock_owner)).all())
    for worker, got in outcomes.items():
        assert all(owners[task_id] == worker for task_id in got)


def test_racing_completions_apply_once(runtime, client, engine, database_url):
    token = make_agency_token(runtime, AGENCY)
    map_topic(runtime.db, "police", AGENCY)
    map_topic(runtime.db, "insurance", AGENCY)
    definitions.deploy(engine, [two_step()])
    started = instances.start_instance(engine, "p")
    [task] = EngineRest(client, token).fetch("police", worker="holder")

    outcomes = _race(_complete, lambda i: (database_url, token, task["id"]))

    assert sorted(outcomes) == [204] + [404] * (RACERS - 1), outcomes
    view = instances.get_instance(engine, started.id)
    assert view.version == started.version + 1  # one step, not several
    assert [a["id"] for a in view.current_activities] == ["b"]
    with engine.db.read() as session:
        completions = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.instance_id == started.id, Event.type == "task_completed")
        )
    assert completions == 1
