"""Shared by the console tests: a real procedure with an overdue dossier and one in incident, and login.

The procedure is ``processes/birth-registration.bpmn`` (it has a drawn diagram, budgets and
agencies).  The overdue dossier is started two weeks before ``now`` with time-machine and the
ticker runs at ``now``, so its first step is overdue for any server reading the same database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import time_machine

from api import create_app
from orchestrator.runtime import Runtime
from orchestrator.services.definitions import deploy, resources_from_paths
from orchestrator.services.instances import start_instance
from orchestrator.ticker import tick

from .agency_fixtures import EngineRest, make_agency_token

DIAGRAM = Path(__file__).resolve().parent.parent / "processes" / "birth-registration.bpmn"
KEY = "lien-thong-khai-sinh"
FIRST_STEP, FIRST_TOPIC = "KiemTraHoSo", "ho-tich-kiem-tra"
HOSTILE = "<script>alert('x')</script>"
APPLICANT = {"nguoiNopHoSo": "Nguyễn Thị Lan", "hoTenTre": "Trần Minh An", "ghiChu": HOSTILE}
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def deploy_birth_registration(runtime: Runtime) -> str:
    """Deploy the birth-registration procedure; returns its definition id."""
    return deploy(runtime.engine, resources_from_paths([DIAGRAM])).definitions[0].id


def start_overdue_dossier(runtime: Runtime, business_key: str, *, now: datetime) -> str:
    """A dossier received two weeks before ``now``: its first step (half a working day) is overdue."""
    with time_machine.travel(now - timedelta(days=14), tick=False):
        instance = start_instance(runtime.engine, KEY, business_key=business_key, variables=APPLICANT)
    with time_machine.travel(now, tick=False):
        tick(runtime.engine)
    return instance.id


def start_incident_dossier(runtime: Runtime, business_key: str) -> tuple[str, str]:
    """A dossier whose first step failed with no retries left (an incident); returns (instance, task)."""
    instance = start_instance(runtime.engine, KEY, business_key=business_key, variables=APPLICANT)
    worker = EngineRest(create_app(runtime=runtime).test_client(), make_agency_token(runtime, "UBND-XA"))
    topic = {"topicName": FIRST_TOPIC, "lockDuration": 60_000, "businessKey": business_key}
    locked = worker.post("/external-task/fetchAndLock", {"workerId": "w1", "maxTasks": 1, "topics": [topic]})
    [task] = locked.get_json()
    failed = worker.post(
        f"/external-task/{task['id']}/failure",
        {"workerId": "w1", "errorMessage": "Máy chủ hộ tịch không phản hồi", "retries": 0, "retryTimeout": 0},
    )
    assert failed.status_code == 204, failed.get_json()
    return instance.id, task["id"]


@dataclass(frozen=True)
class Scenario:
    definition_id: str
    overdue_id: str  # "HS-QUA-HAN": received two weeks ago, its first step overdue
    incident_id: str  # "HS-SU-CO": its first step failed with no retries left
    incident_task_id: str


def build_scenario(runtime: Runtime, *, now: datetime) -> Scenario:
    """The procedure, an overdue dossier and one in incident, as they stand at ``now``."""
    definition_id = deploy_birth_registration(runtime)
    overdue_id = start_overdue_dossier(runtime, "HS-QUA-HAN", now=now)
    with time_machine.travel(now, tick=False):
        incident_id, task_id = start_incident_dossier(runtime, "HS-SU-CO")
    return Scenario(definition_id, overdue_id, incident_id, task_id)


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client: Any, token: str) -> Any:
    """Log a Flask test client into the console; returns the answer to the login POST."""
    page = client.get("/console/login")
    return client.post("/console/login", data={"token": token, "csrf_token": csrf_token(page.text)})


def post_form(client: Any, page_path: str, action: str, **fields: Any) -> Any:
    """POST a console form the way a browser would: with the CSRF token of the page it sits on."""
    token = csrf_token(client.get(page_path).text)
    return client.post(action, data={"csrf_token": token, **fields})
