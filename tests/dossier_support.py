"""Shared by the dossier tests: a small procedure drawn with the dossier conventions, and helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.access import add_agency
from orchestrator.bpmn.compiler import Resource
from orchestrator.calendar import VN_TZ
from orchestrator.dossiers import lifecycle
from orchestrator.dossiers.models import Dossier
from orchestrator.engine import Engine
from orchestrator.services import definitions, instances

from .bpmn_builder import HEADER, chain, flow

PROCEDURE = "thu-tuc-ho-so"
AGENCY = "UBND-XA"
APPLICANT = {"name": "Nguyễn Thị Lan", "id_number": "001190000001", "phone": "0912345678"}
DOCUMENTS = [{"name": "Tờ khai", "copies": 1, "original": True}]


def props(**values: str) -> str:
    inner = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in values.items())
    return (
        f"<bpmn:extensionElements><camunda:properties>{inner}</camunda:properties></bpmn:extensionElements>"
    )


def step(task_id: str, topic: str, **properties: str) -> str:
    return (
        f'<bpmn:serviceTask id="{task_id}" name="Bước {task_id}" camunda:type="external" '
        f'camunda:topic="{topic}">{props(**properties)}</bpmn:serviceTask>'
    )


def procedure() -> Resource:
    """check -> (ok: appraise -> pay -> sign [stopsClock] -> handover [returnsResult]), supplement, refuse."""
    body = "\n".join([
        props(budget="3wd", maTTHC="1.000001", coQuanChuTri=AGENCY),
        '<bpmn:startEvent id="s" />',
        step("check", "kiem-tra", agency=AGENCY, budget="0.5wd"),
        '<bpmn:exclusiveGateway id="g" default="to_ok" />',
        '<bpmn:intermediateCatchEvent id="wait" name="Chờ bổ sung">' + props(pauseClock="supplement")
        + '<bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent>',
        '<bpmn:endEvent id="refused" name="Từ chối">' + props(outcome="refused") + "</bpmn:endEvent>",
        step("appraise", "tham-dinh", agency="SO-TN", budget="1wd"),
        '<bpmn:exclusiveGateway id="g2" default="to_sign" />',
        '<bpmn:intermediateCatchEvent id="pay" name="Chờ nộp thuế">'
        + props(pauseClock="financial_obligation")
        + '<bpmn:messageEventDefinition messageRef="paid" /></bpmn:intermediateCatchEvent>',
        step("sign", "ky-duyet", agency=AGENCY, budget="0.5wd", stopsClock="true"),
        step("handover", "mot-cua-tra", agency=AGENCY, returnsResult="true"),
        '<bpmn:endEvent id="e" />',
        chain("s", "check", "g"),
        flow("to_wait", "g", "wait", "${ketQua == 'bo-sung'}"),
        flow("to_refused", "g", "refused", "${ketQua == 'tu-choi'}"),
        flow("to_ok", "g", "appraise"),
        chain("wait", "check"),
        chain("appraise", "g2"),
        flow("to_pay", "g2", "pay", "${thue == true}"),
        flow("to_sign", "g2", "sign"),
        chain("pay", "sign", "handover", "e"),
    ])  # fmt: skip
    xml = (
        f'{HEADER}<bpmn:message id="m" name="bo-sung" /><bpmn:message id="paid" name="da-nop-thue" />'
        f'<bpmn:process id="{PROCEDURE}" name="Thủ tục thử" isExecutable="true">{body}</bpmn:process>'
        "</bpmn:definitions>"
    )
    return Resource(f"{PROCEDURE}.bpmn", xml.encode())


def deploy_procedure(engine: Engine) -> None:
    for code in (AGENCY, "SO-TN", "UBND-XB"):
        add_agency(engine.db, code, f"Cơ quan {code}")
    result = definitions.deploy(engine, [procedure()])
    assert [d.key for d in result.definitions] == [PROCEDURE]


def receive(
    engine: Engine,
    *,
    agency: str = AGENCY,
    channel: str = "in_person",
    variables: dict[str, Any] | None = None,
) -> Dossier:
    request = lifecycle.ReceiveRequest(
        PROCEDURE, agency, channel, dict(APPLICANT), list(DOCUMENTS), dict(variables or {})
    )
    return lifecycle.receive(engine, request, actor="desk-officer")


def open_task(engine: Engine, instance_id: str, activity: str) -> str:
    view = instances.get_instance(engine, instance_id)
    return next(a["task_id"] for a in view.current_activities if a["id"] == activity)


def reload(engine: Engine, code: str) -> Dossier:
    from sqlalchemy import select

    with engine.db.read() as session:
        return session.scalars(select(Dossier).where(Dossier.code == code)).one()


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def states(engine: Engine, code: str) -> tuple[str, int]:
    dossier = reload(engine, code)
    return dossier.state, dossier.national_status


def complete(engine: Engine, instance_id: str, activity: str, **variables: Any) -> None:
    instances.complete_task(
        engine, instance_id, open_task(engine, instance_id, activity), variables=variables
    )
