"""A small procedure and a received dossier for the document and public lookup tests.

The procedure: the commune checks (1 working day; may ask for a supplement or refuse), the
commune police register (1 working day; finishing processing), the desk returns the result.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

import time_machine

from orchestrator.access import add_agency
from orchestrator.bpmn.compiler import Resource
from orchestrator.calendar import VN_TZ
from orchestrator.dossiers.lifecycle import ReceiveRequest, receive
from orchestrator.dossiers.models import Dossier
from orchestrator.engine import Engine
from orchestrator.errors import Conflict
from orchestrator.services import definitions, external_tasks, instances

from .bpmn_builder import HEADER, chain, flow

PROCEDURE = "khai-sinh-thu"
PROCEDURE_NAME = "Đăng ký khai sinh (thử)"
AGENCIES = {
    "UBND-XA": "Ủy ban nhân dân xã Tân An",
    "CA-XA": "Công an xã Tân An",
    "MOT-CUA": "Bộ phận Một cửa xã Tân An",
}
HOSTILE_NAME = "<script>alert('x')</script> Nguyễn Văn Ác"
APPLICANT = {
    "name": HOSTILE_NAME,
    "id_number": "079123456789",
    "phone": "0912345678",
    "email": "nguoi.nop@example.vn",
    "address": "Số 12, ấp Tân Lập, xã Tân An",
}
DOCUMENTS = [
    {"name": "Tờ khai đăng ký khai sinh", "copies": 1, "original": True},
    {"name": "Giấy chứng sinh", "copies": 2, "original": False},
]
RECEIVED_AT = datetime(2026, 11, 23, 8, 5, tzinfo=VN_TZ)  # Monday, office hours


def _props(**values: str) -> str:
    inner = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in values.items())
    return (
        f"<bpmn:extensionElements><camunda:properties>{inner}</camunda:properties></bpmn:extensionElements>"
    )


def _step(task_id: str, name: str, topic: str, **properties: str) -> str:
    return (
        f'<bpmn:serviceTask id="{task_id}" name="{name}" camunda:type="external" '
        f'camunda:topic="{topic}">{_props(**properties)}</bpmn:serviceTask>'
    )


def procedure() -> Resource:
    body = "\n".join([
        _props(budget="3wd", warnBefore="1wd", maTTHC="1.001193", cutoff="15:00"),
        '<bpmn:startEvent id="s" />',
        _step("kiem_tra", "Kiểm tra hồ sơ", "ho-tich", agency="UBND-XA", budget="1wd"),
        '<bpmn:exclusiveGateway id="ket_qua" default="f_dat" />',
        '<bpmn:intermediateCatchEvent id="cho_bo_sung" name="Chờ bổ sung">' + _props(pauseClock="supplement")
        + '<bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>',
        _step("dang_ky", "Đăng ký cư trú", "cong-an", agency="CA-XA", budget="1wd", stopsClock="true"),
        _step("tra", "Trả kết quả", "mot-cua", agency="MOT-CUA"),
        '<bpmn:endEvent id="e" />',
        '<bpmn:endEvent id="tu_choi">' + _props(outcome="refused") + "</bpmn:endEvent>",
        chain("s", "kiem_tra", "ket_qua"),
        flow("f_bo_sung", "ket_qua", "cho_bo_sung", "${ketQua == 'bo-sung'}"),
        flow("f_tu_choi", "ket_qua", "tu_choi", "${ketQua == 'tu-choi'}"),
        flow("f_dat", "ket_qua", "dang_ky"),
        chain("cho_bo_sung", "dang_ky", "tra", "e"),
    ])  # fmt: skip
    xml = (
        f'{HEADER}<bpmn:message id="m" name="bo-sung" />'
        f'<bpmn:process id="{PROCEDURE}" name="{PROCEDURE_NAME}" isExecutable="true">{body}</bpmn:process>'
        "</bpmn:definitions>"
    )
    return Resource(f"{PROCEDURE}.bpmn", xml.encode())


@dataclass(frozen=True)
class Received:
    code: str
    lookup_code: str
    instance_id: str
    dossier: Dossier


def setup_procedure(engine: Engine) -> None:
    for code, name in AGENCIES.items():
        with contextlib.suppress(Conflict):
            add_agency(engine.db, code, name)
    definitions.deploy(engine, [procedure()])


def receive_dossier(engine: Engine, *, at: datetime = RECEIVED_AT, applicant: dict | None = None) -> Received:
    """A complete dossier received at the desk of UBND-XA at ``at``."""
    request = ReceiveRequest(
        process_key=PROCEDURE,
        agency="UBND-XA",
        channel="in_person",
        applicant=applicant or APPLICANT,
        documents=DOCUMENTS,
    )
    with time_machine.travel(at, tick=False):
        dossier = receive(engine, request, actor="Cán bộ một cửa Lê Thị B")
    return Received(dossier.code, dossier.lookup_code, dossier.instance_id, dossier)


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def open_task(engine: Engine, instance_id: str, activity: str) -> str:
    view = instances.get_instance(engine, instance_id)
    return next(a["task_id"] for a in view.current_activities if a["id"] == activity)


def complete_step(
    engine: Engine, received: Received, activity: str, at: datetime, actor: str, **variables: object
) -> None:
    """The agency's system completes its step ``activity`` at ``at``."""
    with time_machine.travel(at, tick=False):
        task_id = open_task(engine, received.instance_id, activity)
        external_tasks.complete_external_task(engine, task_id, variables=dict(variables), actor=actor)
