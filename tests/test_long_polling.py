"""fetchAndLock with ``asyncResponseTimeout``: answered as soon as a task can be locked.

A task created by another thread, by another OS process (PostgreSQL: LISTEN/NOTIFY;
SQLite: the short re-check), a lock that runs out or an unlock all end the wait; with
nothing to lock the answer is ``[]`` after roughly the timeout.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any

import pytest

from orchestrator.access import Principal, map_topic
from orchestrator.config import Settings
from orchestrator.handler_sdk import HandlerRegistry
from orchestrator.runtime import Runtime
from orchestrator.services import definitions, instances, task_locks
from orchestrator.services.task_signals import SQLITE_POLL_SECONDS, signals_for

from .agency_fixtures import EngineRest, live_server, make_agency_token
from .bpmn_builder import two_step

AGENCY = "CA-XA"
ADMIN = Principal("test", "test", None, frozenset({"admin"}))


def wake_bound(database_url: str) -> float:
    """How late an answer may be after the task's commit: NOTIFY is immediate, SQLite re-checks."""
    return 1.0 if database_url.startswith("postgresql") else SQLITE_POLL_SECONDS + 0.5


@pytest.fixture
def api(runtime, client, engine) -> EngineRest:
    token = make_agency_token(runtime, AGENCY)
    map_topic(runtime.db, "police", AGENCY)
    map_topic(runtime.db, "insurance", AGENCY)
    definitions.deploy(engine, [two_step()])
    return EngineRest(client, token)


def long_poll(api: EngineRest, timeout_ms: int, worker: str = "w1") -> tuple[list[dict[str, Any]], float]:
    """One fetchAndLock on ``police``; returns the tasks and the wall-clock time it answered."""
    tasks = api.fetch("police", worker=worker, asyncResponseTimeout=timeout_ms)
    return tasks, time.time()


def test_without_timeout_the_answer_is_immediate(api):
    started = time.monotonic()
    assert api.fetch("police") == []
    assert api.fetch("police", asyncResponseTimeout=0) == []
    assert time.monotonic() - started < 0.5


def test_a_poll_with_nothing_to_lock_times_out_with_an_empty_list(api):
    started = time.monotonic()
    tasks, _ = long_poll(api, 700)
    elapsed = time.monotonic() - started
    assert tasks == []
    assert 0.7 <= elapsed < 1.7


def test_an_existing_task_is_answered_at_once(api, engine):
    instances.start_instance(engine, "p")
    started = time.monotonic()
    tasks, _ = long_poll(api, 20_000)
    assert len(tasks) == 1 and time.monotonic() - started < 0.5


def test_a_task_created_by_another_thread_wakes_the_poll(api, engine, database_url):
    created: list[float] = []

    def create() -> None:
        instances.start_instance(engine, "p")
        created.append(time.time())

    timer = threading.Timer(0.5, create)
    started = time.time()
    timer.start()
    tasks, answered = long_poll(api, 20_000)
    timer.join()
    assert len(tasks) == 1
    assert answered - started >= 0.4  # it did wait for the task
    assert answered - created[0] < wake_bound(database_url)


def _create_in_another_process(url: str, ready: Any, go: Any, results: Any) -> None:
    runtime = Runtime.create(Settings(database_url=url, handler_modules=()), handlers=HandlerRegistry())
    try:
        ready.set()
        go.wait(30)
        instances.start_instance(runtime.engine, "p", business_key="FROM-ELSEWHERE")
        results.put(time.time())  # after the commit
    finally:
        runtime.close()


def test_a_task_created_by_another_process_wakes_the_poll(api, database_url):
    context = mp.get_context("spawn")
    ready, go, results = context.Event(), context.Event(), context.Queue()
    child = context.Process(target=_create_in_another_process, args=(database_url, ready, go, results))
    child.start()
    try:
        assert ready.wait(60), "the other process did not start"
        timer = threading.Timer(0.5, go.set)
        started = time.time()
        timer.start()
        tasks, answered = long_poll(api, 20_000)
        created = results.get(timeout=30)
    finally:
        child.join(30)
    assert [t["businessKey"] for t in tasks] == ["FROM-ELSEWHERE"]
    assert answered - started >= 0.4
    assert answered - created < wake_bound(database_url), answered - created


def test_an_expiring_lock_wakes_the_poll(api, engine):
    """Nothing signals a lock running out: the poll computes when it will and re-checks then."""
    instances.start_instance(engine, "p")
    [task] = api.fetch("police", worker="crashed")
    assert (
        api.post(
            f"/external-task/{task['id']}/lock", {"workerId": "crashed", "lockDuration": 800}
        ).status_code
        == 204
    )
    started = time.monotonic()
    tasks, _ = long_poll(api, 20_000, worker="w2")
    elapsed = time.monotonic() - started
    assert [t["id"] for t in tasks] == [task["id"]]
    assert 0.6 <= elapsed < 2.0


def test_an_unlock_wakes_the_poll(api, engine, database_url):
    instances.start_instance(engine, "p")
    [task] = api.fetch("police", worker="holder")
    unlocked: list[float] = []

    def unlock() -> None:
        task_locks.unlock(engine, ADMIN, task["id"])
        unlocked.append(time.time())

    timer = threading.Timer(0.5, unlock)
    timer.start()
    tasks, answered = long_poll(api, 20_000, worker="w2")
    timer.join()
    assert [t["id"] for t in tasks] == [task["id"]]
    assert answered - unlocked[0] < wake_bound(database_url)


def test_the_hub_stops_with_the_runtime(runtime, database_url):
    hub = signals_for(runtime)
    assert signals_for(runtime) is hub
    with hub.subscribe(["police"]):
        pass
    thread = hub._thread
    assert (thread is not None) == database_url.startswith("postgresql")
    runtime.stop_background()
    assert hub.stopped
    assert thread is None or not thread.is_alive()
    assert signals_for(runtime) is not hub  # a stopped hub is replaced on next use


def test_the_python_client_long_polls_a_real_server(runtime, database_url, tmp_path, engine):
    """camunda-external-task-client-python3 against ``lienthong serve``; the task is created here,
    in the test's process, while the server holds the poll."""
    pytest.importorskip("pydantic", reason="camunda-external-task-client-python3 imports pydantic")
    from camunda.client.external_task_client import ExternalTaskClient

    token = make_agency_token(runtime, AGENCY)
    map_topic(runtime.db, "police", AGENCY)
    map_topic(runtime.db, "insurance", AGENCY)
    definitions.deploy(engine, [two_step()])
    with live_server(database_url, tmp_path) as base:
        client = ExternalTaskClient(
            "python-worker",
            f"{base}/engine-rest",
            {"auth_bearer": {"access_token": token}, "asyncResponseTimeout": 20_000, "maxTasks": 1},
        )
        created: list[Any] = []

        def create() -> None:
            created.append(instances.start_instance(engine, "p", variables={"hoTen": "Lê Văn C"}))
            created.append(time.time())

        timer = threading.Timer(0.5, create)
        timer.start()
        [task] = client.fetch_and_lock("police")
        answered = time.time()
        timer.join()
        assert answered - created[1] < wake_bound(database_url) + 0.2  # + one HTTP round trip
        assert task["variables"]["hoTen"]["value"] == "Lê Văn C"
        assert task["workerId"] == "python-worker"
        assert client.complete(task["id"], {"approved": True}) is True

        client.config["asyncResponseTimeout"] = 0
        [second] = client.fetch_and_lock("insurance")
        assert client.failure(second["id"], "down", "stack trace", 2, 0) is True
        [again] = client.fetch_and_lock("insurance")
        assert again["retries"] == 2 and again["errorMessage"] == "down"
        assert client.bpmn_failure(again["id"], "NO_BOUNDARY", "no way") is True
    view = instances.get_instance(engine, created[0].id)
    assert view.variables["approved"] is True
