"""Printable documents (forms 01–04 and the control sheet) for a real dossier, over the API.

Each document is read as its reader would: the Vietnamese headings and facts, the print
stylesheet, the applicant's name escaped, and the QR code decoded back to the lookup address.
"""

from __future__ import annotations

import re

import pytest
import time_machine

from orchestrator.access import Principal
from orchestrator.deadlines.reappointment import reappoint
from orchestrator.documents import lookup_url
from orchestrator.dossiers import lifecycle
from orchestrator.ticker import tick

from .api_helpers import auth_headers
from .documents_fixtures import (
    AGENCIES,
    HOSTILE_NAME,
    Received,
    complete_step,
    receive_dossier,
    setup_procedure,
    vn,
)
from .qr_support import decode_qr, svgs_in

BASE_URL = "http://127.0.0.1:8080"  # Settings' default public address


@pytest.fixture
def received(engine) -> Received:
    setup_procedure(engine)
    return receive_dossier(engine)


@pytest.fixture
def desk(runtime) -> dict[str, str]:
    return auth_headers(runtime, ["desk"])


def fetch(client, received: Received, kind: str, headers: dict[str, str]):
    return client.get(f"/api/v1/dossiers/{received.code}/documents/{kind}", headers=headers)


def printable(response, received: Received) -> str:
    """The page, after checking what every document must carry."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "@page { size: A4; margin: 20mm; }" in html and '"Times New Roman"' in html
    # Nothing is fetched from elsewhere: the page prints offline.
    assert not re.search(r"\b(src|href)=|@import|url\(", html)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html and "Độc lập - Tự do - Hạnh phúc" in html
    assert received.code in html and received.lookup_code in html
    assert "<script" not in html  # the applicant called themself "<script>..."
    [qr] = svgs_in(html)
    assert decode_qr(qr) == lookup_url(BASE_URL, received.code, received.lookup_code)
    assert decode_qr(qr) == f"{BASE_URL}/tra-cuu?ma={received.code}&khoa={received.lookup_code}"
    return html


def test_the_receipt_is_form_01_with_the_appointment(client, received, desk):
    html = printable(fetch(client, received, "receipt", desk), received)
    assert "Mẫu số 01" in html and "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Nguyễn Văn Ác" in html
    assert AGENCIES["UBND-XA"] in html and "Đăng ký khai sinh (thử)" in html and "1.001193" in html
    assert "Tờ khai đăng ký khai sinh" in html and "Giấy chứng sinh" in html
    assert re.search(r"<td>Giấy chứng sinh</td><td>Bản sao</td><td>2</td>", html)
    assert "03 ngày làm việc" in html
    assert "Thời gian nhận hồ sơ: <strong>08 giờ 05 phút, ngày 23/11/2026</strong>" in html
    # Monday 08:05 + 3 working days of 8 hours = Thursday 08:05.
    assert "Thời gian trả kết quả giải quyết hồ sơ: <strong>08 giờ 05 phút, ngày 26/11/2026</strong>" in html
    assert "ngày 23 tháng 11 năm 2026" in html  # dated the day it was received
    assert "Người nộp hồ sơ" in html and "Người tiếp nhận hồ sơ" in html


def test_the_supplement_request_lists_everything_missing(engine, client, received, desk):
    assert fetch(client, received, "supplement-request", desk).status_code == 409
    with time_machine.travel(vn("2026-11-23T10:00"), tick=False):
        lifecycle.request_supplement(
            engine,
            received.code,
            reason="Giấy chứng sinh bị mờ <không đọc được>",
            items=["Giấy chứng sinh bản rõ nét", "Bản sao giấy chứng nhận kết hôn"],
            task_id=None,
            variables={"ketQua": "bo-sung"},
            actor="Cán bộ tư pháp",
        )
    html = printable(fetch(client, received, "supplement-request", desk), received)
    assert "Mẫu số 02" in html and "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ" in html
    assert "<li>Giấy chứng sinh bản rõ nét</li>" in html
    assert "<li>Bản sao giấy chứng nhận kết hôn</li>" in html
    assert "Lý do: Giấy chứng sinh bị mờ &lt;không đọc được&gt;" in html
    assert "10 giờ 00 phút, ngày 23/11/2026" in html


def test_the_refusal_gives_its_reasons_and_replaces_the_receipt(engine, client, received, desk):
    problem = fetch(client, received, "refusal", desk)
    assert problem.status_code == 409 and problem.mimetype == "application/problem+json"
    assert "not refused" in problem.get_json()["detail"]
    with time_machine.travel(vn("2026-11-23T09:30"), tick=False):
        lifecycle.refuse(
            engine,
            received.code,
            reason="Người yêu cầu không thuộc thẩm quyền giải quyết của xã",
            task_id=None,
            variables={"ketQua": "tu-choi"},
            actor="Cán bộ tư pháp",
        )
    html = printable(fetch(client, received, "refusal", desk), received)
    assert "Mẫu số 03" in html and "Phiếu từ chối tiếp nhận giải quyết hồ sơ" in html
    assert "Người yêu cầu không thuộc thẩm quyền giải quyết của xã" in html
    assert "ngày 23 tháng 11 năm 2026" in html
    # Refused before any processing (national status 3): there is no receipt to print any more.
    assert fetch(client, received, "receipt", desk).status_code == 409


def test_the_apology_names_the_late_agency_and_both_appointments(engine, client, received, desk):
    problem = fetch(client, received, "apology", desk)
    assert problem.status_code == 409 and "not been re-appointed" in problem.get_json()["detail"]
    with time_machine.travel(vn("2026-11-24T09:00"), tick=False):  # the check was due 24/11 08:05
        tick(engine)
    commune = Principal("c-ubnd", "UBND xã", "UBND-XA", frozenset({"worker"}))
    with time_machine.travel(vn("2026-11-24T09:10"), tick=False):
        reappoint(
            engine,
            received.instance_id,
            new_due=vn("2026-11-30T16:00"),
            reason="Chờ xác minh thông tin nơi sinh",
            principal=commune,
        )
    html = printable(fetch(client, received, "apology", desk), received)
    assert "Mẫu số 04" in html and "Phiếu xin lỗi và hẹn lại ngày trả kết quả" in html
    assert f"Tuy nhiên đến nay, {AGENCIES['UBND-XA']} chưa trả kết quả" in html
    assert "Thời hạn trả kết quả giải quyết hồ sơ: <strong>08 giờ 05 phút, ngày 26/11/2026</strong>" in html
    assert "kết quả vào <strong>16 giờ 00 phút, ngày 30/11/2026</strong>" in html
    assert "Lý do: Chờ xác minh thông tin nơi sinh" in html
    assert "ngày 24 tháng 11 năm 2026" in html  # dated the day of the apology
    assert "Kính gửi Ông/Bà: <strong>&lt;script&gt;" in html


def test_the_control_sheet_has_each_hand_over_with_its_verdict(engine, client, received, desk):
    complete_step(engine, received, "kiem_tra", vn("2026-11-23T10:00"), "Cán bộ tư pháp Trần C", ketQua="dat")
    complete_step(engine, received, "dang_ky", vn("2026-11-24T15:00"), "Công an viên Phạm D")
    html = printable(fetch(client, received, "control-sheet", desk), received)
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in html
    rows = re.findall(r"<tr>\s*<td>(.*?)</tr>", html, re.DOTALL)
    assert len(rows) == 3  # the commune's check, the police's registration, the desk's return
    check, register, give_back = rows
    # Due Tuesday 08:05, done Monday 10:00: a day early.
    assert AGENCIES["UBND-XA"] in check and "10 giờ 00 phút, ngày 23/11/2026" in check
    assert "01 ngày làm việc" in check and "Trước hạn" in check and "Cán bộ tư pháp Trần C" in check
    # Handed to the police Monday 10:00, due Tuesday 10:00, done Tuesday 15:00: late.
    assert f"<td>{AGENCIES['UBND-XA']}</td>\n      <td>{AGENCIES['CA-XA']}</td>" in register
    assert "hạn: 10 giờ 00 phút, ngày 24/11/2026" in register and "Quá hạn" in register
    assert "Công an viên Phạm D" in register
    assert AGENCIES["MOT-CUA"] in give_back and "Đang giải quyết" in give_back


def test_who_may_print(engine, client, runtime, received):
    url = f"/api/v1/dossiers/{received.code}/documents/receipt"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth_headers(runtime, ["analyst"])).status_code == 403
    assert client.get(url, headers=auth_headers(runtime, ["admin"])).status_code == 200
    # The receiving commune handles it from the start; the police only once handed the dossier.
    commune = auth_headers(runtime, ["worker"], agency="UBND-XA")
    police = auth_headers(runtime, ["worker"], agency="CA-XA")
    stranger = auth_headers(runtime, ["worker"], agency="SO-TP")
    assert client.get(url, headers=commune).status_code == 200
    unknown = client.get("/api/v1/dossiers/UBND-XA-000000-9999/documents/receipt", headers=commune)
    hidden = client.get(url, headers=police)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_json() == unknown.get_json()  # no hint that the code exists
    complete_step(engine, received, "kiem_tra", vn("2026-11-23T10:00"), "Cán bộ tư pháp", ketQua="dat")
    assert client.get(url, headers=police).status_code == 200
    assert client.get(url, headers=stranger).status_code == 404
    # Another agency's desk sees its own dossiers only: the applicant's data stays with its agency.
    assert client.get(url, headers=auth_headers(runtime, ["desk"], agency="SO-TP")).status_code == 404
    assert client.get(url, headers=auth_headers(runtime, ["desk"], agency="UBND-XA")).status_code == 200


def test_unknown_kind_is_404(client, received, desk):
    response = fetch(client, received, "birth-certificate", desk)
    assert response.status_code == 404 and "receipt" in response.get_json()["detail"]


def test_the_public_address_comes_from_settings(database_url, tmp_path, handlers):
    from api import create_app
    from orchestrator.config import Settings
    from orchestrator.runtime import Runtime

    settings = Settings(
        database_url=database_url,
        handler_modules=(),
        processes_dir=tmp_path / "processes",
        public_base_url="https://dichvucong.tanan.gov.vn",
    )
    runtime = Runtime.create(settings, handlers=handlers)
    try:
        setup_procedure(runtime.engine)
        received = receive_dossier(runtime.engine)
        response = fetch(
            create_app(runtime=runtime).test_client(), received, "receipt", auth_headers(runtime)
        )
        [qr] = svgs_in(response.get_data(as_text=True))
        expected = f"https://dichvucong.tanan.gov.vn/tra-cuu?ma={received.code}&khoa={received.lookup_code}"
        assert decode_qr(qr) == expected
    finally:
        runtime.close()


def test_a_name_is_escaped_not_just_removed(engine, client, desk):
    setup_procedure(engine)
    received = receive_dossier(engine, applicant={"name": 'Lê "Bé" <b>Bảy</b> & cộng sự'})
    html = printable(fetch(client, received, "receipt", desk), received)
    assert "Lê &#34;Bé&#34; &lt;b&gt;Bảy&lt;/b&gt; &amp; cộng sự" in html
    assert HOSTILE_NAME not in html
