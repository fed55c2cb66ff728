"""National status codes through the real birth-registration procedure (processes/birth-registration.bpmn)."""

from __future__ import annotations

from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from orchestrator.access import add_agency
from orchestrator.dossiers import lifecycle
from orchestrator.dossiers.models import PortalSync
from orchestrator.services.definitions import deploy, resources_from_paths
from orchestrator.services.external_tasks import complete_external_task

from .dossier_support import open_task, reload, vn

DIAGRAM = Path(__file__).resolve().parent.parent / "processes" / "birth-registration.bpmn"
KEY = "lien-thong-khai-sinh"


@pytest.fixture
def birth(engine):
    add_agency(engine.db, "UBND-XA", "UBND xã")
    deploy(engine, resources_from_paths([DIAGRAM]))
    return engine


def _complete(engine, instance_id: str, activity: str, **variables) -> None:
    complete_external_task(engine, open_task(engine, instance_id, activity), variables=variables)


def test_birth_registration_walks_the_national_codes(birth):
    engine = birth
    with time_machine.travel(vn("2026-03-09T09:00"), tick=False):  # a Monday
        request = lifecycle.ReceiveRequest(KEY, "UBND-XA", "online", {"name": "Nguyễn Thị Lan"})
        dossier = lifecycle.receive(engine, request, actor="desk")
        assert (dossier.procedure_code, dossier.national_status) == ("1.001193", 2)
        assert dossier.appointment_at == vn("2026-03-12T09:00")  # 3 working days
        seen = [reload(engine, dossier.code).national_status]
        _complete(engine, dossier.instance_id, "KiemTraHoSo", ketQuaKiemTra="bo-sung")
        seen.append(reload(engine, dossier.code).national_status)
        lifecycle.receive_supplement(engine, dossier.code, variables={"giayChungSinh": True}, actor="desk")
        seen.append(reload(engine, dossier.code).national_status)
        for activity, variables in [
            ("KiemTraHoSo", {"ketQuaKiemTra": "hop-le"}),
            ("DangKyKhaiSinh", {"soDinhDanh": "001226000001"}),
            ("DangKyThuongTru", {}),
            ("CapTheBHYT", {"maTheBHYT": "TE1234"}),
        ]:
            _complete(engine, dossier.instance_id, activity, **variables)
            seen.append(reload(engine, dossier.code).national_status)
        lifecycle.finish(engine, dossier.code, task_id=None, variables={"thongBao": "xong"}, actor="desk")
        seen.append(reload(engine, dossier.code).national_status)
        lifecycle.return_result(engine, dossier.code, how="electronic", actor="desk")
        seen.append(reload(engine, dossier.code).national_status)
    assert seen == [2, 5, 4, 4, 4, 4, 4, 9, 10]
    with engine.db.read() as session:
        sent = session.scalars(select(PortalSync.national_status).order_by(PortalSync.seq)).all()
    assert sent == [2, 5, 4, 9, 10]  # one outbox row per national status change
