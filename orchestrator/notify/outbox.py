"""Queue a notice: the notification, one delivery per recipient and a job per delivery, in one transaction.

Called inside the caller's transaction (a dossier step, the deadline sweep, a re-appointment),
so the notice exists exactly when the change that caused it commits; sending happens later,
outside any transaction, in ``delivery.run_delivery``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from orchestrator.dossiers.models import Dossier
from orchestrator.store.models import Notification, ProcessInstance
from orchestrator.store.queue import enqueue

from .models import NotificationDelivery
from .recipients import NOTICE_KINDS, dossier_of, recipients_of

DELIVER_JOB = "notify.deliver"
# One first attempt and five retries, 30 s to 6 h apart (``delivery.RETRY_DELAYS``): a mail
# server or an agency system down for an afternoon still gets the notice.
MAX_ATTEMPTS = 6

SUBJECTS = {
    "receipt": "Tiếp nhận hồ sơ {code}",
    "supplement_request": "Yêu cầu bổ sung hồ sơ {code}",
    "result_ready": "Hồ sơ {code} đã có kết quả",
    "reappointment": "Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {code}",
    "deadline_warning": "Hồ sơ {code} sắp đến hạn giải quyết",
    "deadline_overdue": "Hồ sơ {code} đã quá hạn giải quyết",
}


def queue_notice(
    session: Session,
    *,
    instance_id: str,
    kind: str,
    message: str,
    agency: str | None,
    now: datetime,
    deadline_id: int | None = None,
    subject: str | None = None,
) -> Notification:
    """Record a notice and its deliveries (e-mail to the applicant, webhooks subscribed to the kind) in the caller's transaction."""  # noqa: E501
    if kind not in NOTICE_KINDS:
        raise ValueError(f"unknown notice kind '{kind}'; expected one of {sorted(NOTICE_KINDS)}")
    dossier = dossier_of(session, instance_id)
    notification = Notification(
        instance_id=instance_id,
        deadline_id=deadline_id,
        kind=kind,
        agency=agency,
        subject=subject or SUBJECTS[kind].format(code=_dossier_code(session, instance_id, dossier)),
        message=message,
        created_at=now,
    )
    session.add(notification)
    session.flush()  # the id the deliveries point to
    deliveries = [
        NotificationDelivery(
            notification_id=notification.id,
            channel=recipient.channel,
            target=recipient.target,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for recipient in recipients_of(session, notification, dossier)
    ]
    session.add_all(deliveries)
    session.flush()  # one INSERT for all of them; their ids name the jobs
    for delivery in deliveries:
        enqueue_delivery(session, delivery, now=now)
    return notification


def enqueue_delivery(session: Session, delivery: NotificationDelivery, *, now: datetime) -> None:
    """The job that sends one delivery; while one is queued or running a second is not added."""
    enqueue(
        session,
        DELIVER_JOB,
        {"delivery_id": delivery.id},
        now=now,
        dedupe_key=f"{DELIVER_JOB}:{delivery.id}",
        max_attempts=MAX_ATTEMPTS,
    )


def _dossier_code(session: Session, instance_id: str, dossier: Dossier | None) -> str:
    """The code the applicant knows; an instance without a dossier is named by its business key."""
    if dossier is not None:
        return dossier.code
    instance = session.get(ProcessInstance, instance_id)
    return (instance.business_key if instance is not None else None) or instance_id
