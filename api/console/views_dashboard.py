"""Tổng quan: received / early / on time / late / open / overdue / paused per agency and procedure."""

from __future__ import annotations

from flask import Response, abort, flash, render_template, request

from orchestrator.admin import dossier_statistics, statistics_csv
from orchestrator.clock import utcnow

from . import console
from .charts import SERIES, segments
from .runtime import day_range, db, parse_day
from .views_csv import csv_response

GROUPS = {"agency": "Cơ quan", "procedure": "Thủ tục"}


def _period() -> tuple[dict[str, str], tuple]:
    """The date filter as typed (to refill the form) and as the instants the statistics need."""
    typed = {"from": request.args.get("from", ""), "to": request.args.get("to", "")}
    first, last = parse_day(typed["from"]), parse_day(typed["to"])
    if (typed["from"] and first is None) or (typed["to"] and last is None):
        flash("Ngày không hợp lệ: bộ lọc thời gian bị bỏ qua.", "error")
        first = last = None
    if first and last and first > last:
        flash("Từ ngày phải trước đến ngày: bộ lọc thời gian bị bỏ qua.", "error")
        first = last = None
    return typed, day_range(first, last)


@console.get("/")
def dashboard() -> str:
    typed, (start, end) = _period()
    now = utcnow()
    tables = {
        group: dossier_statistics(db(), group_by=group, start=start, end=end, now=now) for group in GROUPS
    }
    return render_template(
        "console/dashboard.html",
        active="dashboard",
        period=typed,
        groups=GROUPS,
        tables=tables,
        totals=_totals(tables["procedure"]),
        series=SERIES,
        segments=segments,
    )


def _totals(rows: list) -> dict[str, int]:
    """Whole-province counts: every dossier belongs to exactly one procedure, so those rows add up."""
    names = ("received", *(attribute for attribute, _, _ in SERIES))
    return {name: sum(getattr(row, name) for row in rows) for name in names}


@console.get("/statistics.csv")
def statistics_download() -> Response:
    group = request.args.get("group_by", "agency")
    if group not in GROUPS:
        abort(400)
    _typed, (start, end) = _period()
    rows = dossier_statistics(db(), group_by=group, start=start, end=end, now=utcnow())
    return csv_response(
        statistics_csv(rows), f"thong-ke-theo-{'co-quan' if group == 'agency' else 'thu-tuc'}"
    )
