"""The public dossier lookup: /tra-cuu and /api/v1/public/dossiers/{code}, no token, no personal data."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import time_machine

from api import create_app
from orchestrator.config import Settings
from orchestrator.dossiers import lifecycle
from orchestrator.runtime import Runtime

from .api_helpers import auth_headers
from .documents_fixtures import AGENCIES, APPLICANT, complete_step, receive_dossier, setup_procedure, vn
from .qr_support import decode_qr, svgs_in

PERSONAL = [APPLICANT[field] for field in ("name", "id_number", "phone", "email", "address")]


@pytest.fixture
def received(engine):
    setup_procedure(engine)
    return receive_dossier(engine)


def lookup(client, code: str, key: str, **environ: str):
    return client.get(f"/api/v1/public/dossiers/{code}?lookup={key}", environ_base=environ)


def assert_nothing_personal(body: str) -> None:
    for value in PERSONAL:
        assert value not in body
    assert "Nguyễn Văn Ác" not in body and "script" not in body


def test_the_status_follows_the_dossier_without_personal_data(engine, client, received):
    response = lookup(client, received.code, received.lookup_code)
    assert response.status_code == 200
    assert_nothing_personal(response.get_data(as_text=True))
    assert response.get_json() == {
        "code": received.code,
        "procedureName": "Đăng ký khai sinh (thử)",
        "status": f"Đang giải quyết tại {AGENCIES['UBND-XA']}",
        "nationalStatus": 2,
        "receivedAt": "2026-11-23T08:05:00+07:00",
        "appointment": "2026-11-26T08:05:00+07:00",
        "reappointment": None,
        "handlingAgency": AGENCIES["UBND-XA"],
    }
    with time_machine.travel(vn("2026-11-23T10:00"), tick=False):
        lifecycle.request_supplement(
            engine, received.code, reason="Thiếu giấy tờ", items=["Giấy chứng sinh"],
            task_id=None, variables={"ketQua": "bo-sung"}, actor="Cán bộ tư pháp",
        )  # fmt: skip
    waiting = lookup(client, received.code, received.lookup_code).get_json()
    assert (waiting["status"], waiting["nationalStatus"], waiting["handlingAgency"]) == (
        "Chờ bổ sung hồ sơ",
        5,
        None,
    )
    with time_machine.travel(vn("2026-11-25T09:00"), tick=False):
        lifecycle.receive_supplement(engine, received.code, variables={}, actor="Cán bộ một cửa")
    police = lookup(client, received.code, received.lookup_code).get_json()
    assert police["status"] == f"Đang giải quyết tại {AGENCIES['CA-XA']}" and police["nationalStatus"] == 4
    complete_step(engine, received, "dang_ky", vn("2026-11-25T15:00"), "Công an viên")
    done = lookup(client, received.code, received.lookup_code)
    assert done.get_json()["status"] == "Đã có kết quả, mời nhận tại Bộ phận Một cửa"
    assert done.get_json()["nationalStatus"] == 9
    assert_nothing_personal(done.get_data(as_text=True))


def test_a_wrong_lookup_code_answers_like_an_unknown_dossier(client, received):
    wrong_key = "AAAA" if received.lookup_code != "AAAA" else "CCCC"
    wrong = lookup(client, received.code, wrong_key)
    unknown = lookup(client, "UBND-XA-000000-9999", received.lookup_code)
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.mimetype == unknown.mimetype == "application/problem+json"
    assert wrong.get_data() == unknown.get_data()
    assert received.code not in wrong.get_data(as_text=True)
    # Read aloud and retyped: case does not matter.
    assert lookup(client, received.code, received.lookup_code.lower()).status_code == 200
    missing = client.get(f"/api/v1/public/dossiers/{received.code}")
    assert missing.status_code == 400 and "lookup" in missing.get_json()["detail"]


def test_the_re_appointment_is_public(engine, client, received):
    from orchestrator.access import Principal
    from orchestrator.deadlines.reappointment import reappoint
    from orchestrator.ticker import tick

    with time_machine.travel(vn("2026-11-24T09:00"), tick=False):
        tick(engine)
        reappoint(
            engine,
            received.instance_id,
            new_due=vn("2026-11-30T16:00"),
            reason="Chờ xác minh",
            principal=Principal("c", "UBND", "UBND-XA", frozenset({"worker"})),
        )
    body = lookup(client, received.code, received.lookup_code).get_json()
    assert body["appointment"] == "2026-11-26T08:05:00+07:00"  # the original stays
    assert body["reappointment"] == "2026-11-30T16:00:00+07:00"
    assert "Chờ xác minh" not in str(body)  # the reason is for the applicant's letter, not the web


def test_the_page_shows_the_form_and_the_status_in_vietnamese(client, received):
    form = client.get("/tra-cuu")
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and form.mimetype == "text/html"
    assert "Tra cứu tình trạng hồ sơ" in page and '<form method="get" action="/tra-cuu">' in page
    assert 'name="ma"' in page and 'name="khoa"' in page and "<script" not in page
    assert "http" not in page.replace("http-equiv", "")  # nothing loaded from elsewhere
    result = client.get(f"/tra-cuu?ma={received.code}&khoa={received.lookup_code}")
    html = result.get_data(as_text=True)
    assert result.status_code == 200
    assert f"Đang giải quyết tại {AGENCIES['UBND-XA']}" in html
    assert "Hẹn trả kết quả</dt><dd>08 giờ 05 phút, ngày 26/11/2026" in html
    assert "Ngày tiếp nhận</dt><dd>23/11/2026" in html
    assert_nothing_personal(html)
    wrong = client.get(f"/tra-cuu?ma={received.code}&khoa=ZZZZ")
    unknown = client.get(f"/tra-cuu?ma=UBND-XA-000000-9999&khoa={received.lookup_code}")
    assert wrong.status_code == unknown.status_code == 404
    assert "Không tìm thấy hồ sơ" in wrong.get_data(as_text=True)
    assert wrong.get_data(as_text=True).replace(received.code, "X") == unknown.get_data(as_text=True).replace(
        "UBND-XA-000000-9999", "X"
    )  # the same page, but for the code typed into the form again
    incomplete = client.get(f"/tra-cuu?ma={received.code}")
    assert incomplete.status_code == 400 and "Vui lòng nhập đủ" in incomplete.get_data(as_text=True)


def test_the_receipt_qr_code_opens_the_dossier_page(client, runtime, received):
    receipt = client.get(f"/api/v1/dossiers/{received.code}/documents/receipt", headers=auth_headers(runtime))
    [qr] = svgs_in(receipt.get_data(as_text=True))
    address = urlsplit(decode_qr(qr))
    opened = client.get(f"{address.path}?{address.query}")
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200 and received.code in html
    assert f"Đang giải quyết tại {AGENCIES['UBND-XA']}" in html


def test_lookups_are_rate_limited_per_address(database_url, tmp_path, handlers):
    settings = Settings(
        database_url=database_url,
        handler_modules=(),
        processes_dir=tmp_path / "processes",
        public_lookup_rate="3/minute",
    )
    runtime = Runtime.create(settings, handlers=handlers)
    try:
        setup_procedure(runtime.engine)
        received = receive_dossier(runtime.engine)
        client = create_app(runtime=runtime).test_client()
        guess = "UBND-XA-261123-0002"
        # The page and the API draw on one allowance: guessing codes is slow whichever is used.
        assert lookup(client, guess, "AAAA").status_code == 404
        assert client.get(f"/tra-cuu?ma={guess}&khoa=AAAA").status_code == 404
        assert lookup(client, received.code, received.lookup_code).status_code == 200
        blocked = lookup(client, received.code, received.lookup_code)
        assert blocked.status_code == 429 and blocked.mimetype == "application/problem+json"
        assert blocked.get_json()["status"] == 429 and "Retry-After" in blocked.headers
        page = client.get(f"/tra-cuu?ma={received.code}&khoa={received.lookup_code}")
        assert page.status_code == 429 and page.mimetype == "text/html"
        assert "quá nhiều lần" in page.get_data(as_text=True)
        # Another address has its own allowance; the authenticated API is not limited.
        assert lookup(client, received.code, received.lookup_code, REMOTE_ADDR="10.0.0.7").status_code == 200
        receipt = f"/api/v1/dossiers/{received.code}/documents/receipt"
        assert client.get(receipt, headers=auth_headers(runtime)).status_code == 200
    finally:
        runtime.close()
