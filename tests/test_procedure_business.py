"""Procedure 4 end to end: business registration with tax code and social-insurance unit code.

Live: one camunda-external-task-client-python3 worker per agency: the registration office
(checks, one amendment notice, certificate, return), the tax system (the tax code, which
times out once and succeeds on the retry), social insurance and the labour authority (the
asynchronous notifications after the certificate, which do not hold the applicant's
deadline).  In process, with the clock moved: the registration office is late, apologises
and re-appoints once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from camunda.external_task.external_task import ExternalTask, TaskResult

from orchestrator.ticker import tick

from .procedure_agents import (
    Agency,
    Desk,
    DossierDesk,
    activities,
    completes,
    control_sheet,
    deploy_in_process,
    dossier,
    ending,
    fails_first,
    history,
    legs,
    live_server,
    message,
    run_agencies,
    start,
    verdict,
    wait_for_activity,
    wait_until_ended,
)

pytestmark = pytest.mark.slow

DIAGRAM = "business-registration.bpmn"
KEY = "dang-ky-doanh-nghiep"
MONDAY = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
TAX_CODE = "thue-cap-ma-so-doanh-nghiep"


def slow_unit_code(task: ExternalTask) -> TaskResult:
    """Social insurance answers a moment after the certificate: the applicant does not wait for it."""
    time.sleep(0.3)
    return task.complete({"maDonViBHXH": "TA0123A"})


BEHAVIOUR = {
    "PDKKD": {
        "dkkd-kiem-tra": verdict("ketQuaKiemTra", again="sua-doi"),
        "dkkd-cap-giay-chung-nhan": completes(soGiayChungNhan="GCN-0312345678"),
        "dkkd-tu-choi": completes(daThongBaoTuChoi=True),
        "dkkd-tra-ket-qua": completes(hinhThucTraKetQua="Cổng thông tin quốc gia về đăng ký doanh nghiệp"),
    },
    "THUE": {TAX_CODE: fails_first("Hệ thống đăng ký thuế không phản hồi", maSoDoanhNghiep="0312345678")},
    "BHXH": {"bhxh-cap-ma-don-vi": slow_unit_code},
    "LAO-DONG": {"lao-dong-tiep-nhan-khai-trinh": completes(daTiepNhanKhaiTrinh=True)},
}


def test_registrations_with_retried_tax_code_and_async_notices(database_url, tmp_path):
    with live_server(database_url, tmp_path, DIAGRAM) as server:
        ids = {
            "DN-1": start(server, KEY, "DN-1", tenDoanhNghiep="Công ty TNHH Sông Hồng"),
            "DN-2": start(server, KEY, "DN-2", tenDoanhNghiep="Công ty CP Cửu Long", thieuGiayTo=True),
            "DN-3": start(server, KEY, "DN-3", tenDoanhNghiep="Công ty TNHH Trùng Tên", giayToGia=True),
        }
        with run_agencies(server, BEHAVIOUR) as agencies:
            wait_for_activity(server, ids["DN-2"], "ChoSuaDoi")
            message(server, "sua-doi-ho-so", "DN-2", daBoSung=True)
            wait_until_ended(server, ids)

        for key in ("DN-1", "DN-2"):
            variables = dossier(server, ids[key])["variables"]
            assert variables["maSoDoanhNghiep"] == "0312345678" and variables["maDonViBHXH"] == "TA0123A"
            assert variables["daTiepNhanKhaiTrinh"] is True
            assert [o for t, o in agencies.handled(key) if t == TAX_CODE] == ["failed", "completed"]
            failures = [e for e in history(server, ids[key]) if e["type"] == "task_failed"]
            assert [(e["activityId"], e["data"]["retries"]) for e in failures] == [("CapMaSoThue", 2)]
            sheet = control_sheet(server, ids[key])
            assert (sheet[0]["budget"], sheet[0]["outcome"]) == ("3wd", "early")
            finished = {activity: row["finishedAt"] for row in sheet if (activity := row["activityId"])}
            # The dossier clock stops with the certificate, before social insurance answers.
            assert sheet[0]["finishedAt"] == finished["CapGiayChungNhan"] < finished["CapMaDonVi"]
            assert {(a, agency) for a, agency, _ in legs(sheet)} >= {
                ("CapMaDonVi", "BHXH"),
                ("KhaiTrinhLaoDong", "LAO-DONG"),
                ("CapMaSoThue", "THUE"),
            }
        assert control_sheet(server, ids["DN-2"])[0]["supplements"] == 1
        refused = dossier(server, ids["DN-3"])["variables"]
        assert refused["daThongBaoTuChoi"] is True and "maSoDoanhNghiep" not in refused


def test_late_registration_office_apologises_and_reappoints_once(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = Desk(client, runtime)
    office, tax, insurance, labour = (
        Agency(client, runtime, code) for code in ("PDKKD", "THUE", "BHXH", "LAO-DONG")
    )
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance_id = desk.start(KEY, "DN-9", tenDoanhNghiep="Công ty TNHH Chậm Trễ")
        clock.move_to(MONDAY + timedelta(days=3, hours=1))  # Thursday 10:00: past 1wd and the 3wd timer
        assert tick(runtime.engine) >= 1
        assert {"KiemTraHoSo", "XinLoi"} <= set(activities(desk.view(instance_id)))
        late = next(row for row in desk.sheet(instance_id) if row["activityId"] == "KiemTraHoSo")
        assert (late["agency"], late["state"]) == ("PDKKD", "overdue")

        assert (
            tax.reappoint(instance_id, "2026-03-16T16:00:00+07:00", "không phải bước này").status_code == 409
        )
        first = office.reappoint(
            instance_id, "2026-03-16T16:00:00+07:00", "Tên doanh nghiệp cần tra cứu trùng"
        )
        assert first.status_code == 200 and first.get_json()["reappointedBy"] == "PDKKD"
        assert office.reappoint(instance_id, "2026-03-17T16:00:00+07:00", "lần hai").status_code == 409

        office.complete("dkkd-xin-loi", "DN-9", daGuiVanBanXinLoi=True)
        office.complete("dkkd-kiem-tra", "DN-9", ketQuaKiemTra="hop-le")
        tax.complete(TAX_CODE, "DN-9", maSoDoanhNghiep="0312345679")
        office.complete("dkkd-cap-giay-chung-nhan", "DN-9")
        office.complete("dkkd-tra-ket-qua", "DN-9")
        insurance.complete("bhxh-cap-ma-don-vi", "DN-9")
        labour.complete("lao-dong-tiep-nhan-khai-trinh", "DN-9")

    assert desk.view(instance_id)["status"] == "completed"
    sheet = desk.sheet(instance_id)
    assert sheet[0]["reappointedBy"] == "PDKKD" and sheet[0]["outcome"] == "late"
    assert ("KiemTraHoSo", "PDKKD", "late") in legs(sheet)


def test_a_dossier_received_at_the_desk_and_refused_ends_refused(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = DossierDesk(client, runtime)
    code = desk.receive(KEY, "Công ty TNHH Trùng Tên", giayToGia=True)
    checker, notifier = Agency(client, runtime, "PDKKD"), Agency(client, runtime, "PDKKD")
    checker.complete("dkkd-kiem-tra", code, ketQuaKiemTra="khong-hop-le")
    notifier.complete("dkkd-tu-choi", code, daThongBaoTuChoi=True)
    assert ending(desk, code) == ("refused", 9, "refused")
