"""Console login with an admin token, logout, and the login check before every page.

The session keeps the client id and the login time, never the token; each request reloads
the client, so revoking its token ends the console session too.
"""

from __future__ import annotations

import time

from flask import flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from orchestrator.access import Principal, authenticate, principal_of_client

from . import console
from .forms import LoginForm
from .runtime import db

SESSION_MAX_SECONDS = 8 * 3600  # one working day, however active the session stays
OPEN_ENDPOINTS = frozenset({"console.login", "console.static"})
LOGIN_REFUSED = "Mã truy cập không hợp lệ hoặc không có quyền quản trị."


def current_admin() -> Principal:
    """The admin logged in for this request (set by the login check)."""
    return g.console_admin


def actor() -> str:
    """How history records a console action: the API client id, as the JSON API does."""
    return f"client:{current_admin().client_id}"


def _session_admin() -> Principal | None:
    client_id = session.get("client_id")
    logged_in_at = session.get("logged_in_at", 0)
    if not client_id or time.time() - logged_in_at > SESSION_MAX_SECONDS:
        return None
    principal = principal_of_client(db(), client_id)
    return principal if principal is not None and principal.is_admin else None


@console.before_request
def _require_login() -> Response | None:
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    principal = _session_admin()
    if principal is None:
        if "client_id" in session:  # expired or revoked: forget it, but keep a pending "logged out" notice
            session.clear()
        return redirect(url_for("console.login", next=request.full_path if request.method == "GET" else None))
    g.console_admin = principal
    return None


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.dashboard")


@console.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    form = LoginForm()
    if form.validate_on_submit():
        principal = authenticate(db(), form.token.data.strip())
        if principal is not None and principal.is_admin:
            session.clear()  # a fresh session (and CSRF token) for the new login
            session.permanent = True
            session["client_id"] = principal.client_id
            session["logged_in_at"] = time.time()
            flash(f"Đã đăng nhập: {principal.name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
        # One message whether the token is unknown, revoked or not an admin's: no oracle.
        return render_template("console/login.html", form=form, error=LOGIN_REFUSED), 401
    return render_template("console/login.html", form=form, error=None)


@console.post("/logout")
def logout() -> Response:
    session.clear()
    flash("Đã đăng xuất.", "success")
    return redirect(url_for("console.login"))
