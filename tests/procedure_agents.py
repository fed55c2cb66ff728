"""Simulated agencies for the end-to-end tests of the procedures in ``processes/``.

Two ways to drive a procedure, both over HTTP:

* **live** (:func:`live_server`, :func:`run_agencies`): a real ``lienthong serve`` with its
  embedded worker; each agency is one camunda-external-task-client-python3
  ``ExternalTaskWorker`` with that agency's own worker token (:class:`PythonAgencies`, also
  used by ``tests/test_real_clients.py``), so it sees only its own topics; the desk starts
  dossiers and delivers the applicant's messages;
* **in process** (:class:`Desk`, :class:`Agency`): the Flask test client, for paths that need
  the clock to move (``time_machine`` cannot reach a server in another process): each agency
  fetches and completes its tasks through ``/engine-rest`` with its own token, and
  ``orchestrator.ticker.tick`` fires what is due.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pydantic", reason="camunda-external-task-client-python3 imports pydantic")
import requests  # the Camunda client depends on it
from camunda.external_task.external_task import ExternalTask, TaskResult
from camunda.external_task.external_task_worker import ExternalTaskWorker

from orchestrator.access import add_agency, create_token
from orchestrator.runtime import Runtime
from orchestrator.services.definitions import deploy as deploy_definitions
from orchestrator.services.definitions import resources_from_paths
from orchestrator.store.db import Database

from .agency_fixtures import ROOT, EngineRest, bearer, make_agency_token, serve_process
from .api_helpers import auth_headers

PROCESSES = ROOT / "processes"
AGENCIES = {
    "UBND-XA": "Ủy ban nhân dân cấp xã",
    "CA-XA": "Công an cấp xã",
    "BHXH": "Bảo hiểm xã hội",
    "BTXH": "Cơ quan bảo trợ xã hội",
    "MOT-CUA": "Bộ phận Một cửa",
    "VPDK-CN": "Chi nhánh Văn phòng đăng ký đất đai",
    "THUE": "Cơ quan thuế",
    "PDKKD": "Phòng Đăng ký kinh doanh",
    "LAO-DONG": "Cơ quan quản lý lao động",
    "SXD": "Sở Xây dựng",
    "PCCC": "Công an – phòng cháy chữa cháy",
}
Action = Callable[[ExternalTask], TaskResult]
Behaviour = Mapping[str, Mapping[str, Action]]  # agency -> topic -> what its system does


DOSSIER_DEADLINE_SECONDS = 40.0  # whole procedures, retries included; normally a few seconds
HTTP_TIMEOUT = 10.0


# -- the live server -------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A running ``lienthong serve`` and the tokens of the people and systems that use it."""

    base: str
    log: Path
    analyst: str
    desk: str
    workers: Mapping[str, str]  # agency code -> that agency's worker token

    @property
    def engine_rest(self) -> str:
        return f"{self.base}/engine-rest"

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        """An HTTP call to ``path`` (under the base URL) with ``token`` as the bearer."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base}{path}", headers=headers, timeout=HTTP_TIMEOUT, **kwargs)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def serving(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``serve`` WITH its embedded worker (unlike ``live_server``), so in-process handlers run;
    production mode, so no demo tokens exist; deployments come over HTTP, as from the Modeler."""
    env = {"LIENTHONG_HANDLER_MODULES": "handlers", "LIENTHONG_WORKER_POLL_SECONDS": "0.2"}
    with serve_process(database_url, tmp_path, worker=True, env=env) as served:
        yield served


# -- what the analyst and the desk do over HTTP ----------------------------------------------


def deploy(server: Server, name: str, content: bytes) -> dict[str, Any]:
    """Camunda Modeler's Deploy button: multipart ``/deployment/create`` with an analyst token."""
    response = server.call(
        "POST",
        "/engine-rest/deployment/create",
        server.analyst,
        data={
            "deployment-name": name,
            "deployment-source": "Camunda Modeler",
            "enable-duplicate-filtering": "true",
        },
        files={name: (name, content, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    return response.json()


def start(server: Server, key: str, business_key: str, **variables: Any) -> str:
    """The desk files a dossier: ``POST /process-definition/key/{key}/start``; its id."""
    body = {"businessKey": business_key, "variables": {k: {"value": v} for k, v in variables.items()}}
    response = server.call("POST", f"/engine-rest/process-definition/key/{key}/start", server.desk, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["ended"] is False
    return response.json()["id"]


def dossier(server: Server, instance_id: str) -> dict[str, Any]:
    """The dossier as the desk sees it (``/api/v1``): status, current activities, variables."""
    response = server.call("GET", f"/api/v1/process-instances/{instance_id}", server.desk)
    assert response.status_code == 200, response.text
    return response.json()


def history(server: Server, instance_id: str) -> list[dict[str, Any]]:
    response = server.call(
        "GET", f"/api/v1/process-instances/{instance_id}/history", server.desk, params={"limit": 200}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def wait_until(condition: Callable[[], bool], seconds: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f} s: {what()}")
        time.sleep(0.1)


def wait_until_ended(
    server: Server, ids: Mapping[str, str], seconds: float = DOSSIER_DEADLINE_SECONDS
) -> None:
    """Every dossier (business key -> id) reports ``ended: true`` on Camunda's instance resource."""

    def ended(instance_id: str) -> bool:
        response = server.call("GET", f"/engine-rest/process-instance/{instance_id}", server.desk)
        assert response.status_code == 200, response.text
        return response.json()["ended"] is True

    def where() -> str:
        states = {
            key: (view["status"], [a["id"] for a in view["currentActivities"]])
            for key, view in ((key, dossier(server, i)) for key, i in ids.items())
        }
        return f"dossiers {states}\n--- server log ---\n{server.log_tail()}"

    wait_until(lambda: all(ended(i) for i in ids.values()), seconds, where)


# -- Python agency workers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Handled:
    """One task as a worker handled it (what the agency's own system would log)."""

    agency: str
    topic: str
    business_key: str | None
    task_id: str
    outcome: str  # completed | failed | bpmn-error | crashed


@dataclass
class PythonAgencies:
    """One ``ExternalTaskWorker`` per agency, each ``subscribe``-d in a daemon thread.

    ``subscribe`` loops forever (camunda/external_task/external_task_worker.py has no stop).
    Its only pause is ``sleepSeconds`` after an error, read from the config dict we pass on
    every error: :meth:`park` sets it to an hour before the server stops, so each thread's
    next (failing) poll parks it for good and the daemon threads die with the test run.
    """

    server: Server
    journal: list[Handled] = field(default_factory=list)
    _configs: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, agency: str, topics: list[str], action: Callable[[ExternalTask], TaskResult]) -> None:
        config: dict[str, Any] = {
            "auth_bearer": {"access_token": self.server.workers[agency]},
            "maxTasks": 1,
            "lockDuration": 30_000,
            "asyncResponseTimeout": 2_000,  # long polls, but short enough for a prompt teardown
            "sleepSeconds": 0.2,  # after an error, while the test runs
            "httpTimeoutMillis": 10_000,
        }
        self._configs.append(config)
        worker = ExternalTaskWorker(
            worker_id=f"{agency}-python", base_url=self.server.engine_rest, config=config
        )
        thread = threading.Thread(
            target=worker.subscribe,
            args=(topics, self._journaled(agency, action)),
            name=f"camunda-worker-{agency}",
            daemon=True,
        )
        thread.start()

    def _journaled(
        self, agency: str, action: Callable[[ExternalTask], TaskResult]
    ) -> Callable[[ExternalTask], TaskResult]:
        def journaled(task: ExternalTask) -> TaskResult:
            try:
                result = action(task)
            except Exception:
                self._note(agency, task, "crashed")
                raise
            outcome = (
                "bpmn-error" if result.is_bpmn_error() else "failed" if result.is_failure() else "completed"
            )
            self._note(agency, task, outcome)
            return result

        return journaled

    def _note(self, agency: str, task: ExternalTask, outcome: str) -> None:
        entry = Handled(agency, task.get_topic_name(), task.get_business_key(), task.get_task_id(), outcome)
        with self._lock:
            self.journal.append(entry)

    def handled(self, business_key: str) -> list[tuple[str, str]]:
        """(topic, outcome) of the dossier's tasks in the order the workers handled them."""
        with self._lock:
            return [(h.topic, h.outcome) for h in self.journal if h.business_key == business_key]

    def park(self) -> None:
        for config in self._configs:
            config["sleepSeconds"] = 3600


@contextlib.contextmanager
def python_agencies(server: Server) -> Iterator[PythonAgencies]:
    agencies = PythonAgencies(server)
    try:
        yield agencies
    finally:
        agencies.park()


# -- what the agencies' systems do ------------------------------------------------------------


def verdict(variable: str, *, again: str = "bo-sung") -> Action:
    """A checking officer: forged papers refused, missing ones asked for once, else accepted."""

    def action(task: ExternalTask) -> TaskResult:
        if task.get_variable("giayToGia"):
            result = "khong-hop-le"
        elif task.get_variable("thieuGiayTo") and not task.get_variable("daBoSung"):
            result = again
        else:
            result = "hop-le"
        return task.complete({variable: result})

    return action


def completes(**variables: Any) -> Action:
    return lambda task: task.complete(dict(variables))


def fails_first(message: str, **variables: Any) -> Action:
    """A system that times out on the first try of every task, then completes the retry."""
    tried: set[str] = set()

    def action(task: ExternalTask) -> TaskResult:
        if task.get_task_id() not in tried:
            tried.add(task.get_task_id())
            return task.failure(message, "ReadTimeout after 30 s", max_retries=2, retry_timeout=300)
        return task.complete(dict(variables))

    return action


# -- the live server --------------------------------------------------------------------------


@contextlib.contextmanager
def live_server(database_url: str, tmp_path: Path, diagram: str) -> Iterator[Server]:
    """Every agency and its worker token, then ``serve`` with its worker; ``diagram`` deployed
    over HTTP as Camunda Modeler's Deploy button does."""
    db = Database(database_url)
    try:
        for code, name in AGENCIES.items():
            add_agency(db, code, name)
        analyst = create_token(db, name="Chuyên viên phân tích quy trình", scopes=["analyst"])[1]
        desk = create_token(db, name="Cán bộ Một cửa", scopes=["desk"])[1]
        workers = {
            code: create_token(db, name=f"Hệ thống {code}", scopes=["worker"], agency=code)[1]
            for code in AGENCIES
        }
    finally:
        db.dispose()
    with serving(database_url, tmp_path) as (base, log):
        server = Server(base=base, log=log, analyst=analyst, desk=desk, workers=workers)
        path = PROCESSES / diagram
        result = deploy(server, path.name, path.read_bytes())
        assert len(result["deployedProcessDefinitions"]) == 1, result
        yield server


@contextlib.contextmanager
def run_agencies(server: Server, behaviour: Behaviour) -> Iterator[PythonAgencies]:
    """One Python ``ExternalTaskWorker`` per agency, subscribed to that agency's topics only.

    On the way out, checks that no action crashed and that every task an agency handled was
    one of its own topics (the server hands an agency nothing else).
    """
    with python_agencies(server) as agencies:
        for agency, actions in behaviour.items():
            agencies.run(agency, list(actions), _dispatch(actions))
        yield agencies
    handled = [(h.agency, h.topic, h.outcome) for h in agencies.journal]
    assert [h for h in handled if h[2] == "crashed"] == [], handled
    assert [h for h in handled if h[1] not in behaviour[h[0]]] == [], handled


def _dispatch(actions: Mapping[str, Action]) -> Action:
    return lambda task: actions[task.get_topic_name()](task)


def message(server: Server, name: str, business_key: str, **variables: Any) -> None:
    """``POST /engine-rest/message`` with the desk's token (the applicant's answer, a payment)."""
    body = {
        "messageName": name,
        "businessKey": business_key,
        "processVariables": {key: {"value": value} for key, value in variables.items()},
    }
    response = server.call("POST", "/engine-rest/message", server.desk, json=body)
    assert response.status_code == 204, response.text


def wait_for_activity(server: Server, instance_id: str, activity_id: str) -> None:
    wait_until(
        lambda: activity_id in activities(dossier(server, instance_id)),
        DOSSIER_DEADLINE_SECONDS,
        lambda: f"{activity_id} never opened: {dossier(server, instance_id)}\n{server.log_tail()}",
    )


def activities(view: Mapping[str, Any]) -> list[str]:
    return [a["id"] for a in view["currentActivities"]]


def control_sheet(server: Server, instance_id: str) -> list[dict[str, Any]]:
    response = server.call("GET", f"/api/v1/process-instances/{instance_id}/deadlines", server.desk)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def legs(sheet: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """(activity, agency, outcome) of each step on a control sheet, in hand-over order."""
    return [(row["activityId"], row["agency"], row["outcome"]) for row in sheet if row["scope"] == "step"]


# -- in process, for paths where the clock moves --------------------------------------------------


@dataclass
class Desk:
    """The one-stop desk over the Flask test client (desk scope)."""

    client: Any
    runtime: Runtime

    def __post_init__(self) -> None:
        self.headers = auth_headers(self.runtime, ("desk",))

    def start(self, key: str, business_key: str, **variables: Any) -> str:
        response = self.client.post(
            f"/api/v1/process-definitions/{key}/start",
            json={"businessKey": business_key, "variables": variables},
            headers=self.headers,
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def view(self, instance_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/process-instances/{instance_id}", headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def sheet(self, instance_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/process-instances/{instance_id}/deadlines", headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def message(self, name: str, business_key: str, **variables: Any) -> None:
        body = {
            "messageName": name,
            "businessKey": business_key,
            "processVariables": {key: {"value": value} for key, value in variables.items()},
        }
        response = self.client.post("/engine-rest/message", json=body, headers=self.headers)
        assert response.status_code == 204, response.get_json()


@dataclass
class DossierDesk:
    """The one-stop desk receiving dossiers at ``/api/v1/dossiers`` with its own (MOT-CUA) desk token."""

    client: Any
    runtime: Runtime
    agency: str = "MOT-CUA"

    def __post_init__(self) -> None:
        self.headers = bearer(make_agency_token(self.runtime, self.agency, scopes=("desk",)))

    def receive(self, procedure: str, applicant: str, **variables: Any) -> str:
        """Receive a complete dossier in person; its code, which is also its business key."""
        body = {
            "procedure": procedure,
            "agency": self.agency,
            "channel": "in_person",
            "applicant": {"name": applicant},
            "variables": variables,
        }
        response = self.client.post("/api/v1/dossiers", json=body, headers=self.headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["code"]

    def dossier(self, code: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/dossiers/{code}", headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@dataclass
class Agency:
    """One agency's system over ``/engine-rest`` with its own worker token."""

    client: Any
    runtime: Runtime
    code: str

    def __post_init__(self) -> None:
        self.token = make_agency_token(self.runtime, self.code)
        self.rest = EngineRest(self.client, self.token)

    def complete(self, topic: str, dossier: str, **variables: Any) -> None:
        """Fetch this agency's open task of ``topic`` for the dossier (its business key or instance
        id) and complete it."""
        fetched = self.rest.fetch(topic, worker=self.code)
        tasks = [t for t in fetched if dossier in (t["businessKey"], t["processInstanceId"])]
        assert len(tasks) == 1, f"{self.code} has no single {topic} task for {dossier}: {tasks}"
        body = {"workerId": self.code, "variables": {k: {"value": v} for k, v in variables.items()}}
        response = self.rest.post(f"/external-task/{tasks[0]['id']}/complete", body)
        assert response.status_code == 204, response.get_json()

    def reappoint(self, instance_id: str, new_due: str, reason: str) -> Any:
        """The apology and new appointment (Thông tư 03/2025, form 04) by this agency."""
        return self.client.post(
            f"/api/v1/process-instances/{instance_id}/reappointment",
            json={"newDue": new_due, "reason": reason},
            headers=bearer(self.token),
        )


def ending(desk: DossierDesk, code: str) -> tuple[str, int, str]:
    """(state, national status, outcome): a refusal after appraisal ends ('refused', 9, 'refused')."""
    view = desk.dossier(code)
    return view["state"], view["nationalStatus"], view["outcome"]


def deploy_in_process(runtime: Runtime, diagram: str) -> None:
    """Deploy ``processes/<diagram>``; it must deploy without a single warning."""
    result = deploy_definitions(runtime.engine, resources_from_paths([PROCESSES / diagram]))
    assert result.warnings == [] and len(result.definitions) == 1
