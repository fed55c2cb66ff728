"""queue_notice: who receives what, all in the caller's transaction; the deadline paths use it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from orchestrator.access import Principal, add_agency
from orchestrator.cli import main
from orchestrator.clock import utcnow
from orchestrator.deadlines.enforcement import sweep_deadlines
from orchestrator.deadlines.reappointment import reappoint
from orchestrator.errors import InvalidInput
from orchestrator.notify import admin, queue_notice
from orchestrator.notify.models import NotificationDelivery
from orchestrator.runtime import Runtime
from orchestrator.store.models import Agency, Deadline, Job, Notification

from .notify_support import start_dossier

HOOK = "https://portal.example.vn/hooks/lienthong"


def _targets(runtime: Runtime, notification_id: int) -> list[tuple[str, str]]:
    with runtime.db.read() as session:
        rows = session.execute(
            select(NotificationDelivery.channel, NotificationDelivery.target)
            .where(NotificationDelivery.notification_id == notification_id)
            .order_by(NotificationDelivery.id)
        ).all()
    return [tuple(row) for row in rows]


def _notice(runtime: Runtime, instance_id: str, kind: str, agency: str | None) -> int:
    with runtime.db.write() as session:
        return queue_notice(
            session, instance_id=instance_id, kind=kind, message="Thông báo.", agency=agency, now=utcnow()
        ).id


def _jobs(runtime: Runtime) -> int:
    with runtime.db.read() as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.kind == "notify.deliver"))


def test_applicant_notices_go_to_the_applicant_and_the_subscribed_webhooks(runtime):
    instance_id = start_dossier(runtime.engine, email="tran.thi.b@example.vn")
    add_agency(runtime.db, "CA-XA", "Công an xã")
    view, _ = admin.create_subscription(
        runtime.db, url=HOOK, kinds=["result_ready"], agency=None, now=utcnow()
    )
    admin.create_subscription(runtime.db, url=HOOK, kinds=["result_ready"], agency="CA-XA", now=utcnow())
    jobs_before = _jobs(runtime)
    notification_id = _notice(runtime, instance_id, "result_ready", "UBND-XA")
    assert _targets(runtime, notification_id) == [("email", "tran.thi.b@example.vn"), ("webhook", view["id"])]
    assert _jobs(runtime) == jobs_before + 2
    with runtime.db.read() as session:
        notice = session.get(Notification, notification_id)
    assert notice.subject.startswith("Hồ sơ ") and notice.subject.endswith(" đã có kết quả")


def test_deadline_notices_go_to_the_agency_mailbox_not_to_the_applicant(runtime):
    instance_id = start_dossier(runtime.engine)
    add_agency(runtime.db, "CA-XA", "Công an xã")
    with runtime.db.write() as session:
        session.get(Agency, "CA-XA").email = "mot-cua@ca-xa.gov.vn"
    notification_id = _notice(runtime, instance_id, "deadline_overdue", "CA-XA")
    assert _targets(runtime, notification_id) == [("email", "mot-cua@ca-xa.gov.vn")]


def test_an_agency_added_from_the_command_line_gets_its_deadline_mailbox(runtime, monkeypatch, capsys):
    instance_id = start_dossier(runtime.engine)
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", runtime.engine.settings.database_url)
    assert main(["agency", "add", "CA-XA", "--name", "Công an xã", "--email", "mot-cua@ca-xa.gov.vn"]) == 0
    assert "mot-cua@ca-xa.gov.vn" in capsys.readouterr().out
    notification_id = _notice(runtime, instance_id, "deadline_warning", "CA-XA")
    assert _targets(runtime, notification_id) == [("email", "mot-cua@ca-xa.gov.vn")]
    with pytest.raises(InvalidInput):
        add_agency(runtime.db, "CA-XB", "Công an xã B", email="not an address")


def test_a_notice_with_no_recipient_records_nothing_to_send(runtime):
    instance_id = start_dossier(runtime.engine, email=None)
    jobs_before = _jobs(runtime)
    notification_id = _notice(runtime, instance_id, "supplement_request", "UBND-XA")
    assert _targets(runtime, notification_id) == [] and _jobs(runtime) == jobs_before
    with runtime.db.read() as session:
        assert session.get(Notification, notification_id).kind == "supplement_request"  # still listed


def test_an_address_that_could_inject_headers_is_not_sent_to(runtime):
    instance_id = start_dossier(runtime.engine, email="a@example.vn\nBcc: b@example.vn")
    assert _targets(runtime, _notice(runtime, instance_id, "receipt", None)) == []


def test_the_notice_commits_or_rolls_back_with_the_callers_transaction(runtime):
    instance_id = start_dossier(runtime.engine)
    jobs_before = _jobs(runtime)
    with pytest.raises(RuntimeError), runtime.db.write() as session:
        queue_notice(session, instance_id=instance_id, kind="receipt", message="x", agency=None, now=utcnow())
        raise RuntimeError("the step failed")
    with runtime.db.read() as session:
        assert session.scalar(select(func.count()).select_from(NotificationDelivery)) == 0
    assert _jobs(runtime) == jobs_before


def test_an_unknown_kind_is_refused(runtime):
    instance_id = start_dossier(runtime.engine)
    with pytest.raises(ValueError, match="unknown notice kind"), runtime.db.write() as session:
        queue_notice(
            session, instance_id=instance_id, kind="birthday", message="x", agency=None, now=utcnow()
        )


def test_the_deadline_warning_and_the_apology_now_produce_deliveries(runtime):
    instance_id = start_dossier(runtime.engine, email="le.van.c@example.vn")
    add_agency(runtime.db, "CA-XA", "Công an xã")
    now = utcnow()
    with runtime.db.write() as session:
        session.get(Agency, "CA-XA").email = "mot-cua@ca-xa.gov.vn"
        for scope, agency in (("dossier", None), ("step", "CA-XA")):
            session.add(
                Deadline(
                    instance_id=instance_id,
                    scope=scope,
                    activity_id=None if scope == "dossier" else "xu-ly",
                    agency=agency,
                    budget="3wd",
                    started_at=now - timedelta(days=3),
                    due_at=now + timedelta(hours=2),
                    original_due_at=now + timedelta(hours=2),
                    warn_at=None if scope == "dossier" else now - timedelta(minutes=1),
                    state="running",
                    pauses=[],
                    supplement_count=0,
                )
            )
    hook, _ = admin.create_subscription(
        runtime.db, url=HOOK, kinds=["deadline_warning", "reappointment"], agency="CA-XA", now=utcnow()
    )
    assert sweep_deadlines(runtime.engine) == 1
    with runtime.db.read() as session:
        warning = session.scalars(select(Notification).where(Notification.kind == "deadline_warning")).one()
    assert warning.agency == "CA-XA" and warning.deadline_id is not None
    assert _targets(runtime, warning.id) == [("email", "mot-cua@ca-xa.gov.vn"), ("webhook", hook["id"])]

    admin_principal = Principal("c0", "admin", None, frozenset({"admin"}))
    reappoint(
        runtime.engine,
        instance_id,
        new_due=now + timedelta(days=5),
        reason="Chờ kết quả xác minh",
        principal=admin_principal,
    )
    with runtime.db.read() as session:
        apology = session.scalars(select(Notification).where(Notification.kind == "reappointment")).one()
    assert apology.message.startswith("Xin lỗi Ông/Bà") and apology.subject.startswith("Thư xin lỗi")
    assert _targets(runtime, apology.id) == [("email", "le.van.c@example.vn"), ("webhook", hook["id"])]
