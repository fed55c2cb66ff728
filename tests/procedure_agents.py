"""Simulated agencies for the end-to-end tests of the procedures in ``processes/``.

Two ways to drive a procedure, both over HTTP:

* **live** (:func:`live_server`, :func:`run_agencies`): a real ``lienthong serve`` with its
  embedded worker; each agency is one camunda-external-task-client-python3
  ``ExternalTaskWorker`` with that agency's own worker token (the machinery of
  ``tests/test_real_clients.py``, reused), so it sees only its own topics; the desk starts
  dossiers and delivers the applicant's messages;
* **in process** (:class:`Desk`, :class:`Agency`): the Flask test client, for paths that need
  the clock to move (``time_machine`` cannot reach a server in another process): each agency
  fetches and completes its tasks through ``/engine-rest`` with its own token, and
  ``orchestrator.ticker.tick`` fires what is due.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camunda.external_task.external_task import ExternalTask, TaskResult

from orchestrator.access import add_agency, create_token
from orchestrator.runtime import Runtime
from orchestrator.services.definitions import deploy as deploy_definitions
from orchestrator.services.definitions import resources_from_paths
from orchestrator.store.db import Database

from .agency_fixtures import ROOT, EngineRest, bearer, make_agency_token
from .api_helpers import auth_headers
from .test_real_clients import (
    DOSSIER_DEADLINE_SECONDS,
    PythonAgencies,
    Server,
    deploy,
    dossier,
    python_agencies,
    serving,
    wait_until,
)

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
class Agency:
    """One agency's system over ``/engine-rest`` with its own worker token."""

    client: Any
    runtime: Runtime
    code: str

    def __post_init__(self) -> None:
        self.token = make_agency_token(self.runtime, self.code)
        self.rest = EngineRest(self.client, self.token)

    def complete(self, topic: str, business_key: str, **variables: Any) -> None:
        """Fetch this agency's open task of ``topic`` for the dossier and complete it."""
        tasks = [t for t in self.rest.fetch(topic, worker=self.code) if t["businessKey"] == business_key]
        assert len(tasks) == 1, f"{self.code} has no single {topic} task for {business_key}: {tasks}"
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


def deploy_in_process(runtime: Runtime, diagram: str) -> None:
    """Deploy ``processes/<diagram>``; it must deploy without a single warning."""
    result = deploy_definitions(runtime.engine, resources_from_paths([PROCESSES / diagram]))
    assert result.warnings == [] and len(result.definitions) == 1
