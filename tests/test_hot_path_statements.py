"""Round trips on the hot path, counted: a regression here costs every dossier and every agency poll.

A step that completes an external task and parks at the next one touches its own tables
once each: lock, delete the finished task's row, insert the new one, (PostgreSQL: NOTIFY),
one insert for all its history events, update the instance.  A repeated fetchAndLock needs no lookup of the
definition's metadata (it never changes once deployed), and a fetch is the claim alone: no
separate check for locks that expired too often.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select

from orchestrator.access import add_agency, authenticate, create_token
from orchestrator.clock import utcnow
from orchestrator.services import definitions, external_tasks, instances
from orchestrator.services.task_filters import TopicRequest
from orchestrator.services.task_locks import fetch_and_lock
from orchestrator.services.task_signals import signals_for
from orchestrator.store.models import Event, ExternalTaskRow

from .bpmn_builder import chain, external, resource


@contextmanager
def _statements(runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(" ".join(statement.split()))

    engines = {runtime.db.engine, runtime.db.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


OWN_TABLES = {"external_task", "process_instance", "event", "pg_notify"}


def _kind(statement: str) -> str:
    """`VERB table`: the table a statement writes, or reads first (``pg_notify`` for a notice)."""
    words = statement.replace("(", " ").split()
    verb = words[0].upper()
    if "pg_notify" in statement:
        return "SELECT pg_notify"
    if verb == "SELECT":
        return f"SELECT {words[words.index('FROM') + 1]}"
    return f"{verb} {words[2] if verb in ('INSERT', 'DELETE') else words[1]}"


def _three_steps():
    body = "\n".join(
        [
            '<bpmn:startEvent id="start" />',
            *(external(f"t{n}", "hot-path") for n in range(3)),
            '<bpmn:endEvent id="end" />',
            chain("start", "t0", "t1", "t2", "end"),
        ]
    )
    return resource(body, process_id="hot")


def _open_task(runtime, instance_id: str) -> str:
    with runtime.db.read() as session:
        return session.scalar(select(ExternalTaskRow.id).where(ExternalTaskRow.instance_id == instance_id))


def test_a_completion_step_touches_its_own_tables_once_each(runtime):
    definitions.deploy(runtime.engine, [_three_steps()])
    instance_id = instances.start_instance(runtime.engine, "hot", business_key="HS-1").id
    external_tasks.complete_external_task(runtime.engine, _open_task(runtime, instance_id))  # warm caches
    task_id = _open_task(runtime, instance_id)
    with _statements(runtime) as seen:
        external_tasks.complete_external_task(runtime.engine, task_id, variables={"ketQua": "xong"})
    kinds = sorted(_kind(s) for s in seen if _kind(s).split()[-1] in OWN_TABLES)
    expected = [
        "DELETE external_task",
        "INSERT event",  # every event of the step in one insert
        "INSERT external_task",
        "SELECT process_instance",  # the lock, found through the task
        "UPDATE process_instance",
    ]
    if not runtime.db.is_sqlite:
        expected.append("SELECT pg_notify")
    assert kinds == sorted(expected), "\n".join(s[:100] for s in seen)


def test_a_repeated_fetch_does_not_look_up_the_definition_again(runtime):
    definitions.deploy(runtime.engine, [_three_steps()])
    add_agency(runtime.db, "HOT", "Cơ quan thử")
    principal = authenticate(
        runtime.db, create_token(runtime.db, name="hot", scopes=["worker"], agency="HOT")[1]
    )
    for n in range(2):
        instances.start_instance(runtime.engine, "hot", business_key=f"HS-{n}")
    with runtime.db.write() as session:  # the topic belongs to no agency in the diagram: give it one
        session.execute(ExternalTaskRow.__table__.update().values(agency="HOT"))
    topics = [TopicRequest("hot-path", 60_000)]
    assert len(fetch_and_lock(runtime.engine, principal, "w", 1, topics)) == 1
    with _statements(runtime) as seen:
        assert len(fetch_and_lock(runtime.engine, principal, "w", 1, topics)) == 1
    assert not [s for s in seen if "process_definition" in s], seen
    if runtime.db.is_sqlite:  # RETURNING cannot name another table: the variables are a second read
        assert [_kind(s) for s in seen] == ["UPDATE external_task", "SELECT process_instance"], seen
    else:  # a claim is a lease: its commit does not wait for the WAL flush
        assert seen[0] == "SET LOCAL synchronous_commit = off", seen
        assert [_kind(s) for s in seen[1:]] == ["UPDATE external_task"], seen  # variables come back with it


def test_a_fetch_parks_a_task_at_the_expiry_limit_and_hands_out_the_others(runtime):
    """The rare path: the claim holds back a task whose lock expired once too often; the same
    fetch parks it as an incident, and the worker gets only the other task."""
    definitions.deploy(runtime.engine, [_three_steps()])
    add_agency(runtime.db, "HOT", "Cơ quan thử")
    principal = authenticate(
        runtime.db, create_token(runtime.db, name="hot", scopes=["worker"], agency="HOT")[1]
    )
    stuck, fresh = (
        instances.start_instance(runtime.engine, "hot", business_key=f"HS-{n}").id for n in (1, 2)
    )
    limit = runtime.engine.settings.lock_expiry_incident_after
    with runtime.db.write() as session:
        session.execute(ExternalTaskRow.__table__.update().values(agency="HOT"))
        session.execute(
            ExternalTaskRow.__table__.update()
            .where(ExternalTaskRow.instance_id == stuck)
            .values(
                lock_owner="dead", lock_expires_at=utcnow() - timedelta(seconds=1), lock_expiries=limit - 1
            )
        )
    fetched = fetch_and_lock(runtime.engine, principal, "w", 2, [TopicRequest("hot-path", 60_000)])
    assert [task.instance_id for task in fetched] == [fresh]
    with runtime.db.read() as session:
        parked = session.scalars(select(ExternalTaskRow).where(ExternalTaskRow.instance_id == stuck)).one()
        incident = session.scalars(
            select(Event).where(Event.instance_id == stuck, Event.type == "incident")
        ).one()
    assert (parked.incident, parked.lock_owner, parked.lock_expiries) == (True, None, limit)
    assert incident.data == {"reason": "lock_expired", "expiries": limit}


def test_a_step_that_opens_a_task_wakes_this_process_pollers_at_commit(runtime):
    """The projection writes task rows with Core, not the ORM: it names their topics itself."""
    definitions.deploy(runtime.engine, [_three_steps()])
    hub = signals_for(runtime)
    with hub.subscribe(["hot-path"]) as waiter:
        waiter.clear()
        instances.start_instance(runtime.engine, "hot", business_key="HS-1")
        assert waiter.wait(0)  # already set by the commit, no re-check or NOTIFY round needed
