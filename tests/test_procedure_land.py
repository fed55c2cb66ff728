"""Procedure 3 end to end: land-use right transfer with tax (8 working days, payment excluded).

Live: a real server and one camunda-external-task-client-python3 worker per agency (desk,
land registration branch, tax) drive a transfer that pays, one that supplements once, and
one that is refused; the payment arrives as a message at an event-based gateway racing a
30-day timer.  In process, with the clock moved: a week spent paying the tax is left out of
the dossier's deadline, a late appraisal (timer on phase 1, apology and the one re-appointment
by the late branch), an applicant who never pays (the timer wins: the dossier is stopped) and
a dossier received at the desk and refused after appraisal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

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

DIAGRAM = "land-transfer.bpmn"
KEY = "chuyen-nhuong-dat"
MONDAY = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
BEHAVIOUR = {
    "MOT-CUA": {
        "mot-cua-tiep-nhan-dat": completes(soBienNhan="BN-0001"),
        "mot-cua-tu-choi": completes(daThongBaoTuChoi=True),
        "mot-cua-tra-ket-qua": completes(hinhThucTraKetQua="Tại Bộ phận Một cửa"),
    },
    "VPDK-CN": {
        "dat-dai-tham-dinh": verdict("ketQuaThamDinh"),
        "dat-dai-gui-phieu-chuyen-thue": completes(soPhieuChuyen="PC-2026-015"),
        "dat-dai-cap-nhat-giay-chung-nhan": completes(soGiayChungNhan="DT 123456"),
        "dat-dai-ky-so": completes(daKySo=True),
        "dat-dai-chuyen-ket-qua": completes(daChuyenKetQua=True),
    },
    "THUE": {
        "thue-xac-dinh-nghia-vu": completes(thueThuNhapCaNhan=40_000_000, lePhiTruocBa=10_000_000),
    },
}
PHASE_1 = [
    ("TiepNhan", "MOT-CUA"),
    ("ThamDinh", "VPDK-CN"),
    ("GuiPhieuThue", "VPDK-CN"),
    ("XacDinhThue", "THUE"),
]
PHASE_2 = [("CapNhat", "VPDK-CN"), ("KySo", "VPDK-CN"), ("ChuyenKetQua", "VPDK-CN"), ("TraKetQua", "MOT-CUA")]


def test_transfers_paid_supplemented_and_refused_with_real_clients(database_url, tmp_path):
    with live_server(database_url, tmp_path, DIAGRAM) as server:
        ids = {
            "DAT-1": server_start(server, "DAT-1", nguoiNopHoSo="Lê Văn Bình"),
            "DAT-2": server_start(server, "DAT-2", nguoiNopHoSo="Phạm Thị Hoa", thieuGiayTo=True),
            "DAT-3": server_start(server, "DAT-3", nguoiNopHoSo="Đỗ Văn Cường", giayToGia=True),
        }
        with run_agencies(server, BEHAVIOUR) as agencies:
            wait_for_activity(server, ids["DAT-2"], "ChoBoSung")
            message(server, "bo-sung-ho-so", "DAT-2", daBoSung=True)
            for key in ("DAT-1", "DAT-2"):
                wait_for_activity(server, ids[key], "ChoNopThue")  # racing the 30-day timer
                assert control_sheet(server, ids[key])[0]["state"] == "paused"  # tax payment not counted
                message(server, "nop-thue-dat", key, soChungTuNopThue=f"CT-{key}")
            wait_until_ended(server, ids)

        for key in ("DAT-1", "DAT-2"):
            variables = dossier(server, ids[key])["variables"]
            assert (
                variables["soGiayChungNhan"] == "DT 123456" and variables["soChungTuNopThue"] == f"CT-{key}"
            )
            assert variables["thueThuNhapCaNhan"] == 40_000_000
            sheet = control_sheet(server, ids[key])
            assert sheet[0]["scope"] == "dossier" and sheet[0]["budget"] == "8wd"
            assert sheet[0]["outcome"] in {"early", "on_time"}
            assert [(a, agency) for a, agency, _ in legs(sheet) if a != "ThamDinh"] == [
                leg for leg in PHASE_1 + PHASE_2 if leg[0] != "ThamDinh"
            ]
        assert control_sheet(server, ids["DAT-2"])[0]["supplements"] == 1
        assert [t for t, _ in agencies.handled("DAT-2")].count("dat-dai-tham-dinh") == 2
        refused = dossier(server, ids["DAT-3"])
        assert refused["status"] == "completed" and refused["variables"]["daThongBaoTuChoi"] is True
        assert [t for t, _ in agencies.handled("DAT-3")] == [
            "mot-cua-tiep-nhan-dat",
            "dat-dai-tham-dinh",
            "mot-cua-tu-choi",
        ]


def server_start(server, business_key: str, **variables) -> str:
    return start(server, KEY, business_key, **variables)


def test_the_week_spent_paying_the_tax_is_left_out_of_the_deadline(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = Desk(client, runtime)
    mot_cua, branch, tax = (Agency(client, runtime, code) for code in ("MOT-CUA", "VPDK-CN", "THUE"))
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance_id = desk.start(KEY, "DAT-8")
        mot_cua.complete("mot-cua-tiep-nhan-dat", "DAT-8")
        branch.complete("dat-dai-tham-dinh", "DAT-8", ketQuaThamDinh="hop-le")
        branch.complete("dat-dai-gui-phieu-chuyen-thue", "DAT-8")
        tax.complete("thue-xac-dinh-nghia-vu", "DAT-8", thueThuNhapCaNhan=40_000_000)
        assert activities(desk.view(instance_id)) == ["ChoNopThue"]  # the gateway waits, its events arm
        waiting = desk.sheet(instance_id)[0]
        assert waiting["state"] == "paused" and waiting["appointment"] == "2026-03-19T02:00:00+00:00"  # 8wd
        appointment = datetime.fromisoformat(waiting["appointment"])

        clock.move_to(MONDAY + timedelta(days=7))  # five working days later the applicant pays
        assert tick(runtime.engine) == 0  # the phase-1 timer is gone, the 30 days are not up
        desk.message("nop-thue-dat", "DAT-8", soChungTuNopThue="CT-DAT-8")
        assert "CapNhat" in activities(desk.view(instance_id))
        resumed = desk.sheet(instance_id)[0]
        assert resumed["state"] == "running" and resumed["appointment"] == waiting["appointment"]
        assert datetime.fromisoformat(resumed["due"]) == appointment + timedelta(days=7)  # 5wd paused

        for topic in ("dat-dai-cap-nhat-giay-chung-nhan", "dat-dai-ky-so", "dat-dai-chuyen-ket-qua"):
            branch.complete(topic, "DAT-8")
        mot_cua.complete("mot-cua-tra-ket-qua", "DAT-8")
    dossier_row = desk.sheet(instance_id)[0]
    assert dossier_row["outcome"] == "early"  # 4 working days of the 8 used, the week of payment left out


def test_late_appraisal_gets_an_apology_and_one_reappointment(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = Desk(client, runtime)
    mot_cua, branch, tax = (Agency(client, runtime, code) for code in ("MOT-CUA", "VPDK-CN", "THUE"))
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance_id = desk.start(KEY, "DAT-9", nguoiNopHoSo="Vũ Thị Lan")
        mot_cua.complete("mot-cua-tiep-nhan-dat", "DAT-9")
        assert tick(runtime.engine) == 0

        clock.move_to(MONDAY + timedelta(days=7))  # next Monday: the 2wd appraisal and phase 1's 4.5wd passed
        assert tick(runtime.engine) >= 1
        assert "XinLoi1" in activities(desk.view(instance_id))
        appraisal = next(row for row in desk.sheet(instance_id) if row["activityId"] == "ThamDinh")
        assert (appraisal["agency"], appraisal["state"]) == ("VPDK-CN", "overdue")

        refused = tax.reappoint(instance_id, "2026-03-25T16:00:00+07:00", "Không phải bước của cơ quan thuế")
        assert refused.status_code == 409
        first = branch.reappoint(instance_id, "2026-03-25T16:00:00+07:00", "Chờ xác minh ranh giới thửa đất")
        assert first.status_code == 200 and first.get_json()["reappointedBy"] == "VPDK-CN"
        second = branch.reappoint(instance_id, "2026-03-27T16:00:00+07:00", "lần hai")
        assert second.status_code == 409

        mot_cua.complete("mot-cua-xin-loi", "DAT-9", daGuiPhieuXinLoi=True)
        branch.complete("dat-dai-tham-dinh", "DAT-9", ketQuaThamDinh="hop-le")
        branch.complete("dat-dai-gui-phieu-chuyen-thue", "DAT-9")
        tax.complete("thue-xac-dinh-nghia-vu", "DAT-9", thueThuNhapCaNhan=1)
        desk.message("nop-thue-dat", "DAT-9")
        for topic in ("dat-dai-cap-nhat-giay-chung-nhan", "dat-dai-ky-so", "dat-dai-chuyen-ket-qua"):
            branch.complete(topic, "DAT-9")
        mot_cua.complete("mot-cua-tra-ket-qua", "DAT-9")

    final = desk.view(instance_id)
    assert final["status"] == "completed" and final["variables"]["daGuiPhieuXinLoi"] is True
    sheet = desk.sheet(instance_id)
    assert sheet[0]["reappointedBy"] == "VPDK-CN" and sheet[0]["reappointment"].startswith("2026-03-25")
    assert ("ThamDinh", "VPDK-CN", "late") in legs(sheet)


def test_unpaid_tax_returns_the_dossier_after_thirty_days(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = Desk(client, runtime)
    mot_cua, branch, tax = (Agency(client, runtime, code) for code in ("MOT-CUA", "VPDK-CN", "THUE"))
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance_id = desk.start(KEY, "DAT-10")
        mot_cua.complete("mot-cua-tiep-nhan-dat", "DAT-10")
        branch.complete("dat-dai-tham-dinh", "DAT-10", ketQuaThamDinh="hop-le")
        branch.complete("dat-dai-gui-phieu-chuyen-thue", "DAT-10")
        tax.complete("thue-xac-dinh-nghia-vu", "DAT-10", thueThuNhapCaNhan=1)
        assert activities(desk.view(instance_id)) == ["ChoNopThue"]
        assert desk.sheet(instance_id)[0]["state"] == "paused"

        clock.move_to(MONDAY + timedelta(days=31))
        assert tick(runtime.engine) == 1
        assert activities(desk.view(instance_id)) == ["TraHoSoChuaNop"]
        mot_cua.complete("mot-cua-tra-ho-so", "DAT-10", daTraHoSo=True)

    assert desk.view(instance_id)["status"] == "completed"
    dossier_row = desk.sheet(instance_id)[0]
    assert dossier_row["state"] != "overdue"  # thirty days unpaid are the applicant's, not the agencies'


def test_a_dossier_refused_after_appraisal_ends_refused(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = DossierDesk(client, runtime)
    code = desk.receive(KEY, "Đỗ Văn Cường", giayToGia=True)
    mot_cua, branch = Agency(client, runtime, "MOT-CUA"), Agency(client, runtime, "VPDK-CN")
    mot_cua.complete("mot-cua-tiep-nhan-dat", code)
    branch.complete("dat-dai-tham-dinh", code, ketQuaThamDinh="khong-hop-le")
    mot_cua.complete("mot-cua-tu-choi", code, daThongBaoTuChoi=True)
    assert ending(desk, code) == ("refused", 9, "refused")
