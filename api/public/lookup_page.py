"""``/tra-cuu``: the lookup page the receipt's QR code opens (``?ma=CODE&khoa=LOOKUP``)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_limiter.errors import RateLimitExceeded

from orchestrator.documents.formatting import day, instant
from orchestrator.errors import NotFound
from orchestrator.public_lookup import public_status

blueprint = Blueprint("public_lookup_page", __name__, template_folder="templates")
TEMPLATE = "public/lookup.html"
INCOMPLETE = "Vui lòng nhập đủ mã hồ sơ và mã tra cứu in trên giấy tiếp nhận."
NOT_FOUND = "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này. Vui lòng kiểm tra lại giấy tiếp nhận."
TOO_MANY = "Bạn đã tra cứu quá nhiều lần. Vui lòng thử lại sau ít phút."


@blueprint.get("/tra-cuu")
def lookup_page() -> tuple[str, int]:
    """The form; with both codes, the dossier's status under it (same 404 page for any mismatch)."""
    code = request.args.get("ma", "").strip()
    lookup = request.args.get("khoa", "").strip()
    if not code and not lookup:
        return _page(), 200
    if not code or not lookup:
        return _page(code=code, message=INCOMPLETE), 400
    try:
        status = public_status(current_app.extensions["lienthong"].db, code, lookup)
    except NotFound:
        return _page(code=code, message=NOT_FOUND), 404
    return _page(code=code, status=status), 200


@blueprint.errorhandler(RateLimitExceeded)
def too_many(error: RateLimitExceeded) -> tuple[str, int]:
    return _page(message=TOO_MANY), 429


def _page(**context: object) -> str:
    context.setdefault("code", "")
    context.setdefault("message", None)
    context.setdefault("status", None)
    return render_template(TEMPLATE, instant=instant, day=day, **context)
