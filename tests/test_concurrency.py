"""Two (or more) processes completing the same task at once: exactly one applies."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from sqlalchemy import func, select

from orchestrator.config import Settings
from orchestrator.handler_sdk import HandlerRegistry
from orchestrator.runtime import Runtime
from orchestrator.services import definitions, instances
from orchestrator.store.models import Event, ExternalTaskRow

from .bpmn_builder import two_step

CONTENDERS = 4


def _complete(url: str, task_id: str, go: mp.synchronize.Event, results: mp.Queue) -> None:
    runtime = Runtime.create(Settings(database_url=url, handler_modules=()), handlers=HandlerRegistry())
    from orchestrator.errors import Conflict, NotFound
    from orchestrator.services.external_tasks import complete_external_task

    go.wait(10)
    try:
        complete_external_task(runtime.engine, task_id, variables={"winner": True}, actor="contender")
        results.put("applied")
    except Conflict as conflict:
        results.put(f"conflict: {conflict.detail}")
    except NotFound as gone:
        results.put(f"not found: {gone.detail}")
    finally:
        runtime.close()


def test_concurrent_completions_apply_once(engine, database_url):
    """Several OS processes race to complete one external task; one wins, the rest get a clear refusal."""
    definitions.deploy(engine, [two_step()])
    started = instances.start_instance(engine, "p", business_key="RACE-1")
    task_id = started.current_activities[0]["task_id"]

    context = mp.get_context("spawn")
    go, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_complete, args=(database_url, task_id, go, results))
        for _ in range(CONTENDERS)
    ]
    for worker in workers:
        worker.start()
    go.set()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(30)

    assert outcomes.count("applied") == 1, outcomes
    refusals = [o for o in outcomes if o != "applied"]
    assert all("not open any more" in o or "does not exist" in o for o in refusals), refusals

    view = instances.get_instance(engine, started.id)
    assert [a["id"] for a in view.current_activities] == ["b"]
    assert view.version == started.version + 1
    with engine.db.read() as session:
        completions = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.instance_id == started.id, Event.type == "task_completed")
        )
        open_rows = session.scalars(select(ExternalTaskRow.activity_id)).all()
    assert completions == 1
    assert open_rows == ["b"]


def test_stale_version_is_a_conflict(engine):
    """Optimistic check: completing with an outdated instance version is refused with 409 semantics."""
    from orchestrator.errors import Conflict

    definitions.deploy(engine, [two_step()])
    started = instances.start_instance(engine, "p")
    first = started.current_activities[0]["task_id"]
    instances.complete_task(engine, started.id, first, expected_version=started.version)
    second = instances.get_instance(engine, started.id).current_activities[0]["task_id"]
    with pytest.raises(Conflict, match="changed meanwhile"):
        instances.complete_task(engine, started.id, second, expected_version=started.version)
