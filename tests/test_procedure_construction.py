"""Procedure 5 end to end: construction permit (20 days, calendar days), silence as consent.

Live: one camunda-external-task-client-python3 worker per agency (the permit authority, the
fire-safety police consulted, the desk) drive a permit whose consultation answers, one that
supplements once, and a refused one.  In process, with the clock moved: a consultation that
never answers is deemed agreed after 12 days (8 for a private house), and a dossier past its
20 days gets the apology and the permit authority's one re-appointment.
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

DIAGRAM = "construction-permit.bpmn"
KEY = "cap-phep-xay-dung"
MONDAY = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
BEHAVIOUR = {
    "SXD": {
        "xay-dung-tham-dinh": verdict("ketQuaThamDinh"),
        "xay-dung-cap-giay-phep": completes(soGiayPhep="GPXD-2026-0042"),
    },
    "PCCC": {"pccc-cho-y-kien": completes(yKienPCCC="Đồng ý, đủ điều kiện phòng cháy")},
    "MOT-CUA": {
        "mot-cua-tu-choi": completes(daThongBaoTuChoi=True),
        "mot-cua-tra-ket-qua": completes(hinhThucTraKetQua="Bưu chính"),
    },
}


def test_permits_answered_supplemented_and_refused_with_real_clients(database_url, tmp_path):
    with live_server(database_url, tmp_path, DIAGRAM) as server:
        ids = {
            "XD-1": start(server, KEY, "XD-1", chuDauTu="Công ty CP Xây dựng Hà Nội", laNhaORiengLe=False),
            "XD-2": start(
                server, KEY, "XD-2", chuDauTu="Nguyễn Văn Tâm", laNhaORiengLe=True, thieuGiayTo=True
            ),
            "XD-3": start(server, KEY, "XD-3", chuDauTu="Lê Thị Hạnh", laNhaORiengLe=True, giayToGia=True),
        }
        with run_agencies(server, BEHAVIOUR) as agencies:
            wait_for_activity(server, ids["XD-2"], "ChoBoSung")
            message(server, "bo-sung-ho-so", "XD-2", daBoSung=True)
            wait_until_ended(server, ids)

        for key in ("XD-1", "XD-2"):
            variables = dossier(server, ids[key])["variables"]
            assert variables["soGiayPhep"] == "GPXD-2026-0042" and variables["yKienPCCC"].startswith("Đồng ý")
            sheet = control_sheet(server, ids[key])
            assert (sheet[0]["budget"], sheet[0]["outcome"]) == ("20d", "early")
            assert [(a, agency) for a, agency, _ in legs(sheet)][-3:] == [
                ("LayYKien", "PCCC"),
                ("QuyetDinh", "SXD"),
                ("TraKetQua", "MOT-CUA"),
            ]
        assert control_sheet(server, ids["XD-2"])[0]["supplements"] == 1
        assert [t for t, _ in agencies.handled("XD-3")] == ["xay-dung-tham-dinh", "mot-cua-tu-choi"]


@pytest.mark.parametrize(("private_house", "days"), [(False, 12), (True, 8)])
def test_silent_consultation_is_deemed_agreed(client, runtime, private_house, days):
    deploy_in_process(runtime, DIAGRAM)
    desk = Desk(client, runtime)
    authority = Agency(client, runtime, "SXD")
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance_id = desk.start(KEY, "XD-8", laNhaORiengLe=private_house)
        authority.complete("xay-dung-tham-dinh", "XD-8", ketQuaThamDinh="hop-le")
        assert activities(desk.view(instance_id)) == [
            "GiaiQuyetCapPhep",
            "LayYKien",
            "DongYMacNhien",
            "QuaHanHoSo",
            "BienTuChoi",
        ]

        clock.move_to(MONDAY + timedelta(days=days) - timedelta(minutes=1))
        assert tick(runtime.engine) == 0  # the consulted agency still has time
        clock.move_to(MONDAY + timedelta(days=days, minutes=1))
        assert tick(runtime.engine) == 1

        assert "QuyetDinh" in activities(desk.view(instance_id)) and "LayYKien" not in activities(
            desk.view(instance_id)
        )
        consulted = next(row for row in desk.sheet(instance_id) if row["activityId"] == "LayYKien")
        assert consulted["agency"] == "PCCC" and consulted["finishedAt"] is not None
        authority.complete("xay-dung-cap-giay-phep", "XD-8", soGiayPhep="GPXD-2026-0043")
    assert "yKienPCCC" not in desk.view(instance_id)["variables"]  # nobody answered: silence is consent


def test_dossier_past_twenty_days_apologises_and_reappoints_once(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = Desk(client, runtime)
    authority, fire_police, mot_cua = (Agency(client, runtime, code) for code in ("SXD", "PCCC", "MOT-CUA"))
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance_id = desk.start(KEY, "XD-9", laNhaORiengLe=False)
        clock.move_to(MONDAY + timedelta(days=21))  # the appraisal (5 days) never ended: 20 days are gone
        assert tick(runtime.engine) >= 1
        assert {"ThamDinh", "XinLoi"} <= set(activities(desk.view(instance_id)))
        late = next(row for row in desk.sheet(instance_id) if row["activityId"] == "ThamDinh")
        assert (late["agency"], late["state"]) == ("SXD", "overdue")

        assert fire_police.reappoint(instance_id, "2026-04-10T16:00:00+07:00", "không").status_code == 409
        first = authority.reappoint(instance_id, "2026-04-10T16:00:00+07:00", "Chờ kiểm tra thực địa")
        assert first.status_code == 200 and first.get_json()["reappointedBy"] == "SXD"
        assert authority.reappoint(instance_id, "2026-04-15T16:00:00+07:00", "lần hai").status_code == 409

        mot_cua.complete("mot-cua-xin-loi", "XD-9", daGuiPhieuXinLoi=True)
        authority.complete("xay-dung-tham-dinh", "XD-9", ketQuaThamDinh="hop-le")
        fire_police.complete("pccc-cho-y-kien", "XD-9", yKienPCCC="Đồng ý")
        authority.complete("xay-dung-cap-giay-phep", "XD-9")
        mot_cua.complete("mot-cua-tra-ket-qua", "XD-9")

    assert desk.view(instance_id)["status"] == "completed"
    sheet = desk.sheet(instance_id)
    # 20 calendar days from Monday 9/3 end on Sunday 29/3, so the appointment is the close of Monday
    # 30/3 (Bộ luật Dân sự): finished that morning, the dossier is on time though its appraisal was late.
    assert sheet[0]["appointment"].startswith("2026-03-30T10:00:00")  # 17:00 in Vietnam, in UTC
    assert sheet[0]["reappointedBy"] == "SXD" and sheet[0]["outcome"] == "on_time"
    assert ("ThamDinh", "SXD", "late") in legs(sheet)


def test_a_dossier_received_at_the_desk_and_refused_ends_refused(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = DossierDesk(client, runtime)
    code = desk.receive(KEY, "Lê Thị Hạnh", giayToGia=True, laNhaORiengLe=True)
    checker, notifier = Agency(client, runtime, "SXD"), Agency(client, runtime, "MOT-CUA")
    checker.complete("xay-dung-tham-dinh", code, ketQuaThamDinh="khong-hop-le")
    notifier.complete("mot-cua-tu-choi", code, daThongBaoTuChoi=True)
    assert ending(desk, code) == ("refused", 9, "refused")
