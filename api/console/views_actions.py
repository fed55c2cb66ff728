"""The action forms of a dossier page. Each needs a reason; the service records it with the actor.

A refused action (bad input, a task that moved on meanwhile) comes back as a message on the
dossier page rather than an error page, in Vietnamese (:mod:`.refusals`): the admin sees the
current state and can try again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from orchestrator import admin
from orchestrator.calendar import VN_TZ
from orchestrator.diagram import definition_xml, step_names, token_targets
from orchestrator.errors import OrchestratorError
from orchestrator.services.instances import get_instance

from . import console
from .auth import actor
from .forms import ExtendDeadlineForm, MoveTokenForm, ReasonForm, ReassignForm, error_text
from .refusals import refusal_text
from .runtime import db, engine

LIFECYCLE = {
    "suspend": (admin.suspend_dossier, "Đã tạm đình chỉ hồ sơ."),
    "resume": (admin.resume_dossier, "Hồ sơ đã được tiếp tục xử lý."),
    "cancel": (admin.cancel_dossier, "Đã hủy hồ sơ."),
}


def _back(instance_id: str | None) -> Response:
    if instance_id:
        return redirect(url_for("console.dossier", instance_id=instance_id) + "#actions")
    return redirect(url_for("console.stuck"))


def _run(form: FlaskForm, instance_id: str | None, action: Callable[[], object], done: str) -> Response:
    """Validate, act, and say how it went on the page the admin came from."""
    if not form.validate():
        flash(error_text(form), "error")
        return _back(instance_id)
    try:
        action()
    except OrchestratorError as error:
        flash(f"Không thực hiện được: {refusal_text(error)}", "error")
        return _back(instance_id)
    flash(done, "success")
    return _back(instance_id)


@console.post("/tasks/<task_id>/retry")
def retry_incident(task_id: str) -> Response:
    form = ReasonForm()
    return _run(
        form,
        request.form.get("instance_id"),
        lambda: admin.retry_incident(engine(), task_id=task_id, actor=actor(), reason=form.reason.data),
        "Đã thử lại sự cố: bước được giao lại cho cơ quan.",
    )


@console.post("/tasks/<task_id>/reassign")
def reassign_step(task_id: str) -> Response:
    form = ReassignForm()
    return _run(
        form,
        request.form.get("instance_id"),
        lambda: admin.reassign_step(
            engine(),
            task_id=task_id,
            agency=form.agency.data or None,
            topic=form.topic.data or None,
            actor=actor(),
            reason=form.reason.data,
        ),
        "Đã chuyển giao bước.",
    )


@console.post("/deadlines/<int:deadline_id>/extend")
def extend_deadline(deadline_id: int) -> Response:
    form = ExtendDeadlineForm()
    until = _vn_instant(form.until.data) if form.until.data else None
    return _run(
        form,
        request.form.get("instance_id"),
        lambda: admin.extend_deadline(
            engine(),
            deadline_id=deadline_id,
            by=form.by.data or None,
            until=until,
            actor=actor(),
            reason=form.reason.data,
        ),
        "Đã gia hạn; hạn ban đầu vẫn được giữ để đánh giá.",
    )


def _vn_instant(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=VN_TZ)
    except ValueError:
        return None  # the form's own validation reports the format


@console.post("/dossiers/<instance_id>/<any(suspend, resume, cancel):action>")
def lifecycle(instance_id: str, action: str) -> Response:
    form = ReasonForm()
    service, done = LIFECYCLE[action]
    return _run(
        form,
        instance_id,
        lambda: service(engine(), instance_id=instance_id, actor=actor(), reason=form.reason.data),
        done,
    )


@console.post("/dossiers/<instance_id>/move")
def move_token(instance_id: str) -> Response | str:
    """First a preview of the activities the move would leave open; the confirmed form moves."""
    view = get_instance(engine(), instance_id)
    xml = definition_xml(db(), view.definition_id)
    form = MoveTokenForm()
    form.cancel_activities.choices = [(a["id"], a["name"] or a["id"]) for a in view.current_activities]
    form.start_before.choices = [(step.id, step.name or step.id) for step in token_targets(xml)]
    if form.confirmed.data == "1":
        return _run(
            form,
            instance_id,
            lambda: admin.move_token(
                engine(),
                instance_id=instance_id,
                cancel_activities=form.cancel_activities.data,
                start_before=form.start_before.data,
                actor=actor(),
                reason=form.reason.data,
            ),
            "Đã di chuyển bước xử lý.",
        )
    if not form.validate():
        flash(error_text(form), "error")
        return _back(instance_id)
    try:
        preview = admin.preview_move(
            engine(), instance_id=instance_id, cancel_activities=form.cancel_activities.data,
            start_before=form.start_before.data,
        )  # fmt: skip
    except OrchestratorError as error:
        flash(f"Không xem trước được: {refusal_text(error)}", "error")
        return _back(instance_id)
    return render_template(
        "console/move_preview.html",
        active="stuck",
        dossier=view,
        form=form,
        preview=preview,
        names=step_names(xml),
    )
