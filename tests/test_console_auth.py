"""Console login: admin tokens only, a safe session cookie, CSRF on every POST, logout, revocation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from api import create_app
from api.console.auth import LOGIN_REFUSED
from orchestrator.access import create_token, revoke_token
from orchestrator.config import Settings, resolve_secret_key
from orchestrator.runtime import Runtime

from .agency_fixtures import admin_token, make_agency_token
from .console_helpers import csrf_token, login, post_form

PAGES = ("/console/", "/console/stuck", "/console/procedures", "/console/dossiers/x", "/console/stuck.csv")


def _cookie_header(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("lienthong_console="))


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_stranger_to_the_login_page(client, path):
    answer = client.get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/console/login?next=")


def test_the_login_page_is_in_vietnamese_and_works_offline(client):
    page = client.get("/console/login")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text and "Đăng nhập" in page.text and "Mã truy cập" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no external font
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    css = client.get("/console/static/console/console.css")
    assert css.status_code == 200 and "@import" not in css.text and "url(" not in css.text


def test_unknown_revoked_and_non_admin_tokens_get_one_and_the_same_refusal(client, runtime):
    revoked_client, revoked = create_token(runtime.db, name="old admin", scopes=["admin"])
    revoke_token(runtime.db, revoked_client.id)
    candidates = {
        "unknown": "lt_" + "x" * 43,
        "malformed": "not a token",
        "revoked admin": revoked,
        "worker": make_agency_token(runtime, "CA-XA"),
        "desk": make_agency_token(runtime, "MOT-CUA", scopes=("desk",)),
    }
    for name, token in candidates.items():
        answer = login(client, token)
        assert answer.status_code == 401, name
        assert LOGIN_REFUSED in answer.text, name
        assert client.get("/console/").status_code == 302, name  # still not logged in


def test_an_admin_logs_in_with_a_short_http_only_cookie_that_holds_no_token(client, runtime):
    token = admin_token(runtime)
    answer = login(client, token)
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/"
    cookie = _cookie_header(answer)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie and "Expires=" in cookie
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    app = client.application
    content = app.session_interface.get_signing_serializer(app).loads(value)
    assert set(content) >= {"client_id", "logged_in_at"} and token not in str(content)
    dashboard = client.get("/console/")
    assert dashboard.status_code == 200 and "Tổng quan" in dashboard.text and "Đăng xuất" in dashboard.text


def test_the_cookie_is_secure_when_served_over_https(runtime, handlers):
    settings = dataclasses.replace(runtime.settings, secure_cookies=True)
    secure_runtime = Runtime.create(settings, handlers=handlers)
    try:
        client = create_app(runtime=secure_runtime).test_client()
        assert "Secure" in _cookie_header(login(client, admin_token(secure_runtime)))
    finally:
        secure_runtime.close()


def test_next_returns_to_the_page_asked_for_but_never_to_another_site(client, runtime):
    token = admin_token(runtime)
    page = client.get("/console/login")
    data = {"token": token, "csrf_token": csrf_token(page.text)}
    inside = client.post("/console/login?next=/console/stuck?kind=incident", data=data)
    assert inside.headers["Location"] == "/console/stuck?kind=incident"
    for target in ("https://evil.example/", "//evil.example/console/", "/console/\\evil"):
        client.post("/console/logout", data={"csrf_token": csrf_token(client.get("/console/").text)})
        page = client.get("/console/login")
        answer = client.post(
            f"/console/login?next={target}", data={**data, "csrf_token": csrf_token(page.text)}
        )
        assert answer.headers["Location"] == "/console/", target


def test_a_post_without_the_csrf_token_is_refused(client, runtime):
    assert client.post("/console/login", data={"token": admin_token(runtime)}).status_code == 400
    login(client, admin_token(runtime))
    for action in ("/console/logout", "/console/dossiers/x/cancel", "/console/tasks/t/retry"):
        refused = client.post(action, data={"reason": "thử"})
        assert refused.status_code == 400, action
        assert "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ" in refused.text
    forged = client.post("/console/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert client.get("/console/").status_code == 200  # the refused logout changed nothing


def test_logout_ends_the_session(client, runtime):
    login(client, admin_token(runtime))
    answer = post_form(client, "/console/", "/console/logout")
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/login"
    assert client.get("/console/").status_code == 302
    assert "Đã đăng xuất" in client.get("/console/login").text


def test_revoking_the_token_ends_its_console_session(client, runtime):
    admin, token = create_token(runtime.db, name="admin", scopes=["admin"])
    login(client, token)
    assert client.get("/console/").status_code == 200
    revoke_token(runtime.db, admin.id)
    assert client.get("/console/").status_code == 302


def test_the_development_secret_key_is_created_once_and_shared(tmp_path: Path):
    settings = Settings(secret_key_file=tmp_path / "var" / "secret_key")
    first = resolve_secret_key(settings)
    assert len(first) == 64 and resolve_secret_key(settings) == first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600
    assert list((tmp_path / "var").iterdir()) == [tmp_path / "var" / "secret_key"]  # no draft left behind
    assert resolve_secret_key(dataclasses.replace(settings, secret_key="from-env")) == "from-env"


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path):
    settings = Settings(environment="production", secret_key_file=tmp_path / "secret_key")
    with pytest.raises(RuntimeError, match="LIENTHONG_SECRET_KEY"):
        resolve_secret_key(settings)
    assert not (tmp_path / "secret_key").exists()
    assert "from-env" not in repr(dataclasses.replace(settings, secret_key="from-env"))
