"""The admin console at ``/console``: server-rendered pages (Jinja), no JavaScript needed, works offline.

Only admins log in, with an admin token, into a short signed session cookie that holds the
client id (never the token).  Every POST carries a CSRF token (Flask-WTF).  The page families
live in ``views_*.py``; this module wires them, the session settings and the error pages.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from orchestrator.config import Settings, resolve_secret_key
from orchestrator.errors import OrchestratorError

from . import formatting
from .refusals import refusal_text

console = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
csrf = CSRFProtect()
SESSION_IDLE_LIFETIME = timedelta(hours=1)  # refreshed by every request: an idle timeout
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

ERROR_TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa đăng nhập",
    403: "Không có quyền",
    404: "Không tìm thấy",
    409: "Xung đột: dữ liệu vừa thay đổi",
    422: "Không thể thực hiện",
}


def init_console(app: Flask, settings: Settings) -> None:
    """Register the console on ``app``: session cookie, CSRF, filters, views."""
    app.config.update(
        SECRET_KEY=resolve_secret_key(settings),
        SESSION_COOKIE_NAME="lienthong_console",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_IDLE_LIFETIME,
        # The JSON APIs authenticate with bearer tokens, not cookies: only the console checks CSRF.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session that holds it
    )
    csrf.init_app(app)
    formatting.register_filters(app)
    from . import auth, views_actions, views_dashboard, views_dossier, views_procedures, views_stuck  # noqa: F401

    app.register_blueprint(console)


@console.before_request
def _protect_posts() -> None:
    if request.method == "POST":
        csrf.protect()


@console.after_request
def _security_headers(response: Response) -> Response:
    # Inline styles come from the diagram renderer's <style> and the chart widths; nothing else is inline.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")  # dossier data stays off shared disks
    return response


@console.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return render_template("console/error.html", title=ERROR_TITLES.get(code, error.name), message=""), code


@console.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    message = "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Hãy tải lại trang và thử lại."
    return render_template("console/error.html", title=ERROR_TITLES[400], message=message), 400


@console.errorhandler(OrchestratorError)
def _domain_error(error: OrchestratorError) -> tuple[str, int]:
    title = ERROR_TITLES.get(error.status, "Lỗi")
    return render_template("console/error.html", title=title, message=refusal_text(error)), error.status
