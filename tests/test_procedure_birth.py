"""Procedure 1 end to end over HTTP: birth registration + permanent residence + BHYT card (NĐ 63/2024)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from handlers.notices import TOPIC, compose_result_notice
from orchestrator.services.definitions import deploy, resources_from_paths
from orchestrator.services.instances import correlate_message
from orchestrator.store.models import ExternalTaskRow, ProcessInstance
from orchestrator.ticker import tick

from .api_helpers import authenticate
from .procedure_agents import Agency, DossierDesk, ending

DIAGRAM = Path(__file__).resolve().parent.parent / "processes" / "birth-registration.bpmn"
KEY = "lien-thong-khai-sinh"
PROBLEM = "application/problem+json"
APPLICANT = {"nguoiNopHoSo": "Nguyễn Thị Lan", "hoTenTre": "Trần Minh An", "ngaySinhTre": "2026-03-02"}
# A Monday in office hours, Vietnam time; the timer test moves the clock from here.
MONDAY = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
# Open all through processing: the wrapping sub-process, its whole-dossier timer and refusal boundary.
WRAP = ["BienTuChoi", "GiaiQuyetHoSo", "QuaHanHoSo"]


@pytest.fixture
def client(client, runtime):
    """Every call here is made by a desk officer's token."""
    return authenticate(client, runtime)


@pytest.fixture
def procedure(runtime, handlers):
    """The birth-registration diagram deployed, with the real result-notice handler registered."""
    handlers.register(TOPIC)(compose_result_notice)
    result = deploy(runtime.engine, resources_from_paths([DIAGRAM]))
    assert [d.key for d in result.definitions] == [KEY]
    assert result.warnings == []
    definition = result.definitions[0]
    assert definition.name.startswith("Liên thông đăng ký khai sinh")
    assert definition.properties["properties"] == {
        "budget": "3wd",
        "warnBefore": "1wd",
        "cutoff": "15:00",
        "maTTHC": "1.001193",
        "coQuanChuTri": "UBND-XA",
    }
    return runtime


def start(client, business_key: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/process-definitions/{KEY}/start", json={"businessKey": business_key, "variables": APPLICANT}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def read(client, instance_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/process-instances/{instance_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def open_ids(instance: dict[str, Any]) -> list[str]:
    """The open steps and waits, without the wrap (see :data:`WRAP`)."""
    return sorted(a["id"] for a in instance["currentActivities"] if a["id"] not in WRAP)


def wrap_ids(instance: dict[str, Any]) -> list[str]:
    return sorted(a["id"] for a in instance["currentActivities"] if a["id"] in WRAP)


def complete(client, instance_id: str, activity_id: str, **variables: Any) -> dict[str, Any]:
    """Complete the one open task of ``activity_id`` over HTTP; returns the instance after it."""
    tasks = [a["taskId"] for a in read(client, instance_id)["currentActivities"] if a["id"] == activity_id]
    assert len(tasks) == 1, f"{activity_id} is not open"
    response = client.post(
        f"/api/v1/process-instances/{instance_id}/tasks/{tasks[0]}/complete", json={"variables": variables}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def agencies(engine, instance_id: str) -> dict[str, str | None]:
    with engine.db.read() as session:
        rows = session.scalars(select(ExternalTaskRow).where(ExternalTaskRow.instance_id == instance_id))
        return {row.activity_id: row.agency for row in rows}


def through_the_agencies(client, runtime, instance_id: str, *, checked: bool = False) -> dict[str, Any]:
    """From a valid dossier at "Kiểm tra hồ sơ" (or ``checked``) to the end, as agencies and desk do it."""
    if not checked:
        complete(client, instance_id, "KiemTraHoSo", ketQuaKiemTra="hop-le")
    complete(client, instance_id, "DangKyKhaiSinh", soDinhDanhCaNhan="001226000123")
    complete(client, instance_id, "DangKyThuongTru", ketQuaThuongTru="da-dang-ky")
    at_desk = complete(client, instance_id, "CapTheBHYT", maTheBHYT="TE1010126000123")
    assert open_ids(at_desk) == ["SoanThongBao"]
    assert runtime.new_worker().run_once() == 1
    assert open_ids(read(client, instance_id)) == ["TraKetQua"]
    return complete(client, instance_id, "TraKetQua", hinhThucTraKetQua="VNeID")


def ended_at(engine, instance_id: str) -> list[str]:
    """The end events the instance reached."""
    with engine.db.read() as session:
        row = session.get(ProcessInstance, instance_id)
    workflow = engine.load(row)
    return sorted(
        t.task_spec.bpmn_id
        for t in workflow.get_tasks(state=TaskState.COMPLETED)
        if (t.task_spec.bpmn_id or "").startswith("End")
    )


def test_valid_dossier_runs_through_every_agency_and_the_applicant_is_notified(client, procedure):
    """A valid dossier passes commune, police and social insurance, and gets a Vietnamese result notice."""
    instance = start(client, "000.00.31.H26-260309-0001")
    assert open_ids(instance) == ["KiemTraHoSo"] and wrap_ids(instance) == WRAP

    final = through_the_agencies(client, procedure, instance["id"])

    assert final["status"] == "completed" and final["currentActivities"] == []
    notice = final["variables"]["thongBaoKetQua"]
    assert "000.00.31.H26-260309-0001" in notice and "Nguyễn Thị Lan" in notice and "đã có kết quả" in notice
    assert final["variables"]["soDinhDanhCaNhan"] == "001226000123"
    assert ended_at(procedure.engine, instance["id"]) == ["EndDaTraKetQua"]


def test_supplement_request_waits_for_the_applicant_then_rechecks(client, procedure):
    """'bo-sung' parks the dossier at the message catch; the supplement sends it back to checking."""
    business_key = "000.00.31.H26-260309-0002"
    instance = start(client, business_key)

    waiting = complete(client, instance["id"], "KiemTraHoSo", ketQuaKiemTra="bo-sung")
    assert waiting["status"] == "running"
    steps = [(a["id"], a["state"]) for a in waiting["currentActivities"] if a["id"] not in WRAP]
    assert steps == [("ChoBoSung", "WAITING")]
    assert agencies(procedure.engine, instance["id"]) == {}  # nobody holds the dossier meanwhile

    correlate_message(
        procedure.engine,
        "bo-sung-ho-so",
        business_key=business_key,
        variables={"giayToBoSung": "Giấy chứng sinh"},
    )

    rechecking = read(client, instance["id"])
    assert open_ids(rechecking) == ["KiemTraHoSo"]
    assert rechecking["variables"]["giayToBoSung"] == "Giấy chứng sinh"
    final = through_the_agencies(client, procedure, instance["id"])
    assert final["status"] == "completed"
    assert business_key in final["variables"]["thongBaoKetQua"]


def test_ineligible_dossier_is_refused_by_the_desk(client, procedure):
    """Any other check result takes the default flow: the desk sends the refusal and the dossier ends."""
    instance = start(client, "000.00.31.H26-260309-0003")

    refusing = complete(client, instance["id"], "KiemTraHoSo", ketQuaKiemTra="khong-hop-le")
    assert open_ids(refusing) == ["TuChoi"] and wrap_ids(refusing) == []  # TU_CHOI left the sub-process
    assert agencies(procedure.engine, instance["id"]) == {"TuChoi": "MOT-CUA"}

    final = complete(client, instance["id"], "TuChoi", lyDoTuChoi="Trẻ đã trên 6 tuổi")
    assert final["status"] == "completed"
    assert "thongBaoKetQua" not in final["variables"]
    assert ended_at(procedure.engine, instance["id"]) == ["EndTuChoi", "EndTuChoi1"]


def test_whole_dossier_timer_sends_an_apology_while_processing_goes_on(client, procedure):
    """Past 3 working days the non-interrupting timer on the sub-process opens the apology beside the step."""
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance = start(client, "000.00.31.H26-260309-0007")
        complete(client, instance["id"], "KiemTraHoSo", ketQuaKiemTra="hop-le")
        clock.move_to(MONDAY + timedelta(days=3, hours=1))  # Thursday 10:00: 3wd from Monday 09:00 passed
        assert tick(procedure.engine) == 1

        late = read(client, instance["id"])
        assert open_ids(late) == ["DangKyKhaiSinh", "XinLoi"] and "QuaHanHoSo" not in wrap_ids(late)
        assert agencies(procedure.engine, instance["id"]) == {
            "DangKyKhaiSinh": "UBND-XA",
            "XinLoi": "MOT-CUA",
        }
        complete(client, instance["id"], "XinLoi", daGuiPhieuXinLoi=True)
        final = through_the_agencies(client, procedure, instance["id"], checked=True)
    assert final["status"] == "completed" and final["variables"]["daGuiPhieuXinLoi"] is True
    assert ended_at(procedure.engine, instance["id"]) == ["EndDaTraKetQua", "EndXinLoi"]


def test_a_dossier_refused_at_the_check_ends_refused(client, procedure):
    """Received at the desk (``POST /api/v1/dossiers``), refused: national status 9, a refusal letter."""
    desk = DossierDesk(client, procedure)
    code = desk.receive(KEY, "Nguyễn Thị Lan", **APPLICANT)
    commune, mot_cua = Agency(client, procedure, "UBND-XA"), Agency(client, procedure, "MOT-CUA")
    commune.complete("ho-tich-kiem-tra", code, ketQuaKiemTra="khong-hop-le")
    assert desk.dossier(code)["state"] == "processing"
    mot_cua.complete("mot-cua-tu-choi", code, lyDoTuChoi="Trẻ đã trên 6 tuổi")
    assert ending(desk, code) == ("refused", 9, "refused")


def test_a_dossier_carried_through_ends_finished_then_returned(client, procedure):
    """Registration done is processing finished (9); the desk's return step is result returned (10)."""
    desk = DossierDesk(client, procedure)
    code = desk.receive(KEY, "Nguyễn Thị Lan", **APPLICANT)
    commune = Agency(client, procedure, "UBND-XA")
    commune.complete("ho-tich-kiem-tra", code, ketQuaKiemTra="hop-le")
    commune.complete("ho-tich-dang-ky-khai-sinh", code, soDinhDanhCaNhan="001226000123")
    Agency(client, procedure, "CA-XA").complete(
        "cong-an-dang-ky-thuong-tru", code, ketQuaThuongTru="da-dang-ky"
    )
    Agency(client, procedure, "BHXH").complete("bhxh-cap-the-bhyt", code, maTheBHYT="TE1010126000123")
    worker = procedure.new_worker()
    while worker.run_once():  # the result notice (in-process handler), notices, portal sync
        pass
    assert desk.dossier(code)["nationalStatus"] == 9
    Agency(client, procedure, "MOT-CUA").complete("mot-cua-tra-ket-qua", code, hinhThucTraKetQua="VNeID")
    assert ending(desk, code) == ("returned", 10, "result")


def test_slow_residence_registration_triggers_a_reminder_without_cancelling_it(client, procedure):
    """Two days at "Đăng ký thường trú" fire the non-interrupting P1D timer: a reminder opens beside it."""
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance = start(client, "000.00.31.H26-260309-0004")
        complete(client, instance["id"], "KiemTraHoSo", ketQuaKiemTra="hop-le")
        at_police = complete(client, instance["id"], "DangKyKhaiSinh", soDinhDanhCaNhan="001226000124")
        assert open_ids(at_police) == ["DangKyThuongTru", "QuaHanBuoc"]
        assert datetime.fromisoformat(at_police["nextTimerAt"]) == MONDAY + timedelta(days=1)
        assert tick(procedure.engine) == 0

        clock.move_to(MONDAY + timedelta(days=2))
        assert tick(procedure.engine) == 1

        reminded = read(client, instance["id"])
        assert open_ids(reminded) == ["DangKyThuongTru", "NhacViec"]
        # A duration timer fires once, as in Camunda: what is left is the whole-dossier 3wd (Thursday 09:00).
        assert datetime.fromisoformat(reminded["nextTimerAt"]) == MONDAY + timedelta(days=3)
        assert agencies(procedure.engine, instance["id"]) == {
            "DangKyThuongTru": "CA-XA",
            "NhacViec": "MOT-CUA",
        }

        complete(client, instance["id"], "NhacViec", daNhac=True)
        assert "DangKyThuongTru" in open_ids(read(client, instance["id"]))
        complete(client, instance["id"], "DangKyThuongTru", ketQuaThuongTru="da-dang-ky")
        assert open_ids(read(client, instance["id"])) == ["CapTheBHYT"]


def test_stale_version_is_a_conflict_and_unknown_procedure_is_not_found(client, procedure):
    """A stale If-Match version gets 409 and an unknown procedure key 404, both as problem+json."""
    instance = start(client, "000.00.31.H26-260309-0005")
    [task_id] = [a["taskId"] for a in instance["currentActivities"] if a["id"] == "KiemTraHoSo"]
    url = f"/api/v1/process-instances/{instance['id']}/tasks/{task_id}/complete"

    stale = client.post(
        url,
        json={"variables": {"ketQuaKiemTra": "hop-le"}},
        headers={"If-Match": f'"{instance["version"] - 1}"'},
    )
    assert stale.status_code == 409 and stale.mimetype == PROBLEM
    assert stale.get_json()["status"] == 409
    assert open_ids(read(client, instance["id"])) == ["KiemTraHoSo"]  # nothing changed

    fresh = client.post(
        url, json={"variables": {"ketQuaKiemTra": "hop-le"}}, headers={"If-Match": f'"{instance["version"]}"'}
    )
    assert fresh.status_code == 200 and open_ids(fresh.get_json()) == ["DangKyKhaiSinh"]

    unknown = client.post("/api/v1/process-definitions/khai-sinh-khong-co/start", json={"businessKey": "X"})
    assert unknown.status_code == 404 and unknown.mimetype == PROBLEM
    assert unknown.get_json()["status"] == 404


def test_external_tasks_carry_the_agency_of_each_leg(client, procedure):
    """The external-task rows agencies poll name the agency from the diagram as the dossier moves."""
    engine = procedure.engine
    instance = start(client, "000.00.31.H26-260309-0006")
    legs = [
        ("KiemTraHoSo", "UBND-XA", {"ketQuaKiemTra": "hop-le"}),
        ("DangKyKhaiSinh", "UBND-XA", {"soDinhDanhCaNhan": "001226000126"}),
        ("DangKyThuongTru", "CA-XA", {"ketQuaThuongTru": "da-dang-ky"}),
        ("CapTheBHYT", "BHXH", {"maTheBHYT": "TE1010126000126"}),
    ]
    for activity_id, agency, variables in legs:
        assert agencies(engine, instance["id"]) == {activity_id: agency}
        complete(client, instance["id"], activity_id, **variables)

    with engine.db.read() as session:
        notice = session.scalars(
            select(ExternalTaskRow).where(ExternalTaskRow.instance_id == instance["id"])
        ).one()
    assert (notice.activity_id, notice.agency, notice.topic, notice.handled_in_process) == (
        "SoanThongBao",
        "MOT-CUA",
        TOPIC,
        True,
    )
    assert notice.business_key == "000.00.31.H26-260309-0006"
