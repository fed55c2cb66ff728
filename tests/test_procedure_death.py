"""Procedure 2 end to end: death registration + deletion of residence + funeral allowance.

Live: one camunda-external-task-client-python3 worker per agency (commune civil status,
commune police, social insurance, social protection, desk) drive four deaths through the
inclusive gateway: insured and eligible for support (both benefits), insured only, neither
(after one supplement), and a refused dossier.  In process, with the clock moved: a police
leg overdue past the whole-dossier timer, the apology and the police's one re-appointment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from handlers.notices import TOPIC, compose_result_notice
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

DIAGRAM = "death-registration.bpmn"
KEY = "lien-thong-khai-tu"
MONDAY = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
ALLOWANCE, SUPPORT = "bhxh-tro-cap-mai-tang", "bao-tro-ho-tro-mai-tang"
BEHAVIOUR = {
    "UBND-XA": {
        "ho-tich-kiem-tra-khai-tu": verdict("ketQuaKiemTra"),
        "ho-tich-dang-ky-khai-tu": completes(soDangKyKhaiTu="15/2026"),
    },
    "CA-XA": {"cong-an-xoa-thuong-tru": completes(daXoaThuongTru=True)},
    "BHXH": {ALLOWANCE: completes(troCapMaiTang=23_400_000)},
    "BTXH": {SUPPORT: completes(hoTroMaiTang=9_000_000)},
    "MOT-CUA": {
        "mot-cua-tu-choi": completes(daThongBaoTuChoi=True),
        "mot-cua-tra-ket-qua": completes(hinhThucTraKetQua="VNeID"),
    },
}


def test_deaths_through_the_inclusive_gateway_with_real_clients(database_url, tmp_path):
    with live_server(database_url, tmp_path, DIAGRAM) as server:
        ids = {
            "KT-1": start(
                server, KEY, "KT-1", nguoiNopHoSo="Trần Văn Nam", coThamGiaBHXH=True, thuocDienBaoTro=True
            ),
            "KT-2": start(server, KEY, "KT-2", thieuGiayTo=True, coThamGiaBHXH=False, thuocDienBaoTro=False),
            "KT-3": start(server, KEY, "KT-3", giayToGia=True, coThamGiaBHXH=True, thuocDienBaoTro=False),
            "KT-4": start(server, KEY, "KT-4", coThamGiaBHXH=True, thuocDienBaoTro=False),
        }
        with run_agencies(server, BEHAVIOUR) as agencies:
            wait_for_activity(server, ids["KT-2"], "ChoBoSung")
            message(server, "bo-sung-ho-so", "KT-2", daBoSung=True)
            wait_until_ended(server, ids)

        def benefits(key: str) -> list[str]:
            return [topic for topic, _ in agencies.handled(key) if topic in (ALLOWANCE, SUPPORT)]

        assert sorted(benefits("KT-1")) == [SUPPORT, ALLOWANCE]
        assert benefits("KT-4") == [ALLOWANCE] and benefits("KT-2") == []
        both = dossier(server, ids["KT-1"])["variables"]
        assert (both["troCapMaiTang"], both["hoTroMaiTang"]) == (23_400_000, 9_000_000)
        assert "hồ sơ số KT-1" in both["thongBaoKetQua"]  # the server's in-process notice handler
        sheet = control_sheet(server, ids["KT-1"])
        assert (sheet[0]["scope"], sheet[0]["budget"], sheet[0]["outcome"]) == ("dossier", "5wd", "early")
        assert sorted((activity, agency) for activity, agency, _ in legs(sheet)) == [
            ("DangKyKhaiTu", "UBND-XA"),
            ("HoTroMaiTang", "BTXH"),
            ("KiemTraHoSo", "UBND-XA"),
            ("SoanThongBao", "UBND-XA"),
            ("TraKetQua", "MOT-CUA"),
            ("TroCapMaiTang", "BHXH"),
            ("XoaThuongTru", "CA-XA"),
        ]
        assert control_sheet(server, ids["KT-2"])[0]["supplements"] == 1
        refused = dossier(server, ids["KT-3"])
        assert (
            refused["variables"]["daThongBaoTuChoi"] is True and "daXoaThuongTru" not in refused["variables"]
        )


def test_overdue_police_leg_apologises_and_reappoints_once(client, runtime, handlers):
    handlers.register(TOPIC)(compose_result_notice)
    deploy_in_process(runtime, DIAGRAM)
    desk = Desk(client, runtime)
    commune, police, insurance, mot_cua = (
        Agency(client, runtime, code) for code in ("UBND-XA", "CA-XA", "BHXH", "MOT-CUA")
    )
    with time_machine.travel(MONDAY, tick=False) as clock:
        instance_id = desk.start(KEY, "KT-9", coThamGiaBHXH=True, thuocDienBaoTro=False)
        commune.complete("ho-tich-kiem-tra-khai-tu", "KT-9", ketQuaKiemTra="hop-le")
        commune.complete("ho-tich-dang-ky-khai-tu", "KT-9", soDangKyKhaiTu="16/2026")

        clock.move_to(MONDAY + timedelta(days=7, hours=1))  # past the 2wd police leg and the 5wd dossier
        assert tick(runtime.engine) >= 1
        assert {"XoaThuongTru", "XinLoi"} <= set(activities(desk.view(instance_id)))
        late = next(row for row in desk.sheet(instance_id) if row["activityId"] == "XoaThuongTru")
        assert (late["agency"], late["state"]) == ("CA-XA", "overdue")

        assert (
            commune.reappoint(instance_id, "2026-03-20T16:00:00+07:00", "không phải bước này").status_code
            == 409
        )
        first = police.reappoint(instance_id, "2026-03-20T16:00:00+07:00", "Chờ xác minh nơi thường trú")
        assert first.status_code == 200 and first.get_json()["reappointedBy"] == "CA-XA"
        assert police.reappoint(instance_id, "2026-03-23T16:00:00+07:00", "lần hai").status_code == 409

        mot_cua.complete("mot-cua-xin-loi", "KT-9", daGuiPhieuXinLoi=True)
        police.complete("cong-an-xoa-thuong-tru", "KT-9", daXoaThuongTru=True)
        insurance.complete(ALLOWANCE, "KT-9", troCapMaiTang=23_400_000)
        assert runtime.new_worker().run_once() == 1  # the result notice, composed in process
        mot_cua.complete("mot-cua-tra-ket-qua", "KT-9")

    final = desk.view(instance_id)
    assert final["status"] == "completed" and "hồ sơ số KT-9" in final["variables"]["thongBaoKetQua"]
    sheet = desk.sheet(instance_id)
    assert sheet[0]["reappointedBy"] == "CA-XA" and sheet[0]["outcome"] == "late"
    assert ("XoaThuongTru", "CA-XA", "late") in legs(sheet)


def test_a_dossier_received_at_the_desk_and_refused_ends_refused(client, runtime):
    deploy_in_process(runtime, DIAGRAM)
    desk = DossierDesk(client, runtime)
    code = desk.receive(KEY, "Trần Văn Nam", giayToGia=True, coThamGiaBHXH=True, thuocDienBaoTro=False)
    checker, notifier = Agency(client, runtime, "UBND-XA"), Agency(client, runtime, "MOT-CUA")
    checker.complete("ho-tich-kiem-tra-khai-tu", code, ketQuaKiemTra="khong-hop-le")
    notifier.complete("mot-cua-tu-choi", code, daThongBaoTuChoi=True)
    assert ending(desk, code) == ("refused", 9, "refused")
