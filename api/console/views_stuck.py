"""Hồ sơ bị vướng: the stuck queue, filtered and sorted by query parameters, with a bulk retry."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from orchestrator.access import list_agencies
from orchestrator.admin import STUCK_KINDS, StuckFilter, bulk_retry, find_stuck, stuck_csv
from orchestrator.clock import utcnow
from orchestrator.errors import OrchestratorError
from orchestrator.services.definition_queries import latest_definitions
from orchestrator.services.paging import MAX_PAGE_SIZE

from . import console
from .auth import actor
from .forms import BulkRetryForm, error_text
from .runtime import db, engine
from .views_csv import csv_response

SORTS = ("-age", "age", "kind", "agency", "process")


def _filter_from(values: dict[str, list[str]]) -> StuckFilter:
    """The filter a query string (or the bulk form's hidden fields) describes; unknown values are dropped."""
    kinds = tuple(kind for kind in values.get("kind", []) if kind in STUCK_KINDS)
    agency = next(iter(values.get("agency", [])), "") or None
    process_key = next(iter(values.get("process_key", [])), "") or None
    sort = next(iter(values.get("sort", [])), "-age")
    return StuckFilter(
        kinds=kinds, agency=agency, process_key=process_key, sort=sort if sort in SORTS else "-age"
    )


def _query_of(stuck_filter: StuckFilter) -> dict[str, object]:
    query: dict[str, object] = {"kind": list(stuck_filter.kinds), "sort": stuck_filter.sort}
    if stuck_filter.agency:
        query["agency"] = stuck_filter.agency
    if stuck_filter.process_key:
        query["process_key"] = stuck_filter.process_key
    return query


@console.get("/stuck")
def stuck() -> str:
    stuck_filter = _filter_from(request.args.to_dict(flat=False))
    items = find_stuck(engine(), now=utcnow(), filter=stuck_filter)
    procedures = latest_definitions(engine(), limit=MAX_PAGE_SIZE).items
    return render_template(
        "console/stuck.html",
        active="stuck",
        items=items,
        filter=stuck_filter,
        query=_query_of(stuck_filter),
        kinds=STUCK_KINDS,
        agencies=list_agencies(db()),
        procedures=procedures,
        form=BulkRetryForm(formdata=None),
    )


@console.get("/stuck.csv")
def stuck_download() -> Response:
    stuck_filter = _filter_from(request.args.to_dict(flat=False))
    return csv_response(stuck_csv(find_stuck(engine(), now=utcnow(), filter=stuck_filter)), "ho-so-bi-vuong")


@console.post("/stuck/retry")
def stuck_bulk_retry() -> Response | str:
    """First a dry run that shows how many incidents the filter holds; then, once confirmed, the retry."""
    form = BulkRetryForm()
    stuck_filter = _filter_from(
        {"kind": form.kind.data.split(",") if form.kind.data else [],
         "agency": [form.agency.data or ""], "process_key": [form.process_key.data or ""]}
    )  # fmt: skip
    back = url_for("console.stuck", **_query_of(stuck_filter))
    if not form.validate():
        flash("Thử lại hàng loạt: " + error_text(form), "error")
        return redirect(back)
    dry_run = form.confirmed.data != "1"
    try:
        count = bulk_retry(
            engine(), filter=stuck_filter, actor=actor(), reason=form.reason.data, dry_run=dry_run
        )
    except OrchestratorError as error:  # e.g. a filter on kinds that a retry cannot fix
        flash(f"Không thử lại được: {error.detail}", "error")
        return redirect(back)
    if dry_run:
        return render_template(
            "console/bulk_retry_confirm.html",
            active="stuck",
            form=form,
            count=count,
            filter=stuck_filter,
            back=back,
        )
    flash(f"Đã thử lại {count} sự cố.", "success")
    return redirect(back)
