"""E-mail notices over a real SMTP server on localhost (aiosmtpd), with Vietnamese text intact."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.clock import utcnow
from orchestrator.config import Settings
from orchestrator.notify import queue_notice
from orchestrator.notify.email import Mail, build_message
from orchestrator.notify.models import NotificationDelivery
from orchestrator.runtime import Runtime
from orchestrator.store.models import Job, Notification

from .agency_fixtures import free_port
from .notify_support import smtp_server, start_dossier

RECEIPT = "Hồ sơ đăng ký khai sinh đã được tiếp nhận. Ngày hẹn trả kết quả: 17 giờ 00 ngày 25/11/2026."


def _use_smtp(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    settings = dataclasses.replace(runtime.engine.settings, smtp_host="127.0.0.1", smtp_port=port)
    monkeypatch.setattr(runtime.engine, "settings", settings)


def _queue_receipt(runtime: Runtime, instance_id: str) -> int:
    with runtime.db.write() as session:
        notice = queue_notice(
            session, instance_id=instance_id, kind="receipt", message=RECEIPT, agency="UBND-XA", now=utcnow()
        )
        return notice.id


def _deliveries(runtime: Runtime, notification_id: int) -> list[NotificationDelivery]:
    with runtime.db.read() as session:
        return list(
            session.scalars(
                select(NotificationDelivery).where(NotificationDelivery.notification_id == notification_id)
            )
        )


def jobs_of(session: Session, delivery_id: int) -> list[Job]:
    """The ``notify.deliver`` jobs of one delivery (the payload is JSON: filtered here, on any dialect)."""
    jobs = session.scalars(select(Job).where(Job.kind == "notify.deliver").order_by(Job.id))
    return [job for job in jobs if job.payload["delivery_id"] == delivery_id]


def drain(runtime: Runtime) -> None:
    worker = runtime.new_worker()
    for _ in range(20):
        if worker.run_once() == 0:
            return


def test_the_applicant_receives_the_receipt_with_its_diacritics(runtime, monkeypatch):
    instance_id = start_dossier(runtime.engine, code="UBND-XA-261122-0007")
    with smtp_server() as (port, inbox):
        _use_smtp(runtime, monkeypatch, port)
        notification_id = _queue_receipt(runtime, instance_id)
        drain(runtime)
    (delivery,) = _deliveries(runtime, notification_id)
    assert (delivery.channel, delivery.target, delivery.state) == ("email", "nguyen.van.a@example.vn", "sent")
    assert delivery.attempts == 1 and delivery.sent_at is not None and delivery.last_error is None
    mine = [(to, m) for to, m in inbox if f"lienthong-delivery-{delivery.id}" in m["Message-ID"]]
    assert len(mine) == 1
    recipients, message = mine[0]
    assert recipients == ["nguyen.van.a@example.vn"]
    assert message["Subject"] == "Tiếp nhận hồ sơ UBND-XA-261122-0007"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert body.startswith("Kính gửi Ông/Bà,") and RECEIPT in body and "vui lòng không trả lời" in body
    with runtime.db.read() as session:
        assert session.get(Notification, notification_id).delivered_at is not None


def test_without_an_smtp_server_the_email_is_skipped_visibly_and_not_retried(runtime):
    instance_id = start_dossier(runtime.engine)
    notification_id = _queue_receipt(runtime, instance_id)
    drain(runtime)
    (delivery,) = _deliveries(runtime, notification_id)
    assert delivery.state == "skipped" and "SMTP is not configured" in delivery.last_error
    with runtime.db.read() as session:
        (job,) = jobs_of(session, delivery.id)
    assert job.status == "done"


def test_an_unreachable_mail_server_is_retried_after_thirty_seconds(runtime, monkeypatch):
    instance_id = start_dossier(runtime.engine)
    _use_smtp(runtime, monkeypatch, free_port())  # nothing listens there
    with time_machine.travel(utcnow(), tick=False) as traveller:
        start = utcnow()
        notification_id = _queue_receipt(runtime, instance_id)
        drain(runtime)
        (delivery,) = _deliveries(runtime, notification_id)
        assert delivery.state == "failed" and delivery.attempts == 1
        assert delivery.next_attempt_at == start + timedelta(seconds=30)
        assert "ConnectionRefusedError" in delivery.last_error
        with runtime.db.read() as session:
            (job,) = jobs_of(session, delivery.id)
        assert (job.status, job.run_at) == ("queued", start + timedelta(seconds=30))
        traveller.shift(timedelta(seconds=31))
        with smtp_server() as (port, inbox):
            _use_smtp(runtime, monkeypatch, port)
            drain(runtime)
    (delivery,) = _deliveries(runtime, notification_id)
    assert (delivery.state, delivery.attempts) == ("sent", 2) and len(inbox) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_configured_login_is_used_and_a_wrong_one_is_a_visible_failure(runtime, monkeypatch):
    instance_id = start_dossier(runtime.engine)
    with smtp_server(credentials=("thongbao", "Mat-khau-2026")) as (port, inbox):
        settings = dataclasses.replace(
            runtime.engine.settings, smtp_host="127.0.0.1", smtp_port=port, smtp_user="thongbao"
        )
        for password in ("sai", "mật-khẩu", "Mat-khau-2026"):
            monkeypatch.setattr(
                runtime.engine, "settings", dataclasses.replace(settings, smtp_password=password)
            )
            _queue_receipt(runtime, instance_id)
            drain(runtime)
    with runtime.db.read() as session:
        wrong, unusable, right = session.scalars(
            select(NotificationDelivery).order_by(NotificationDelivery.id)
        )
    assert (
        wrong.state == "failed" and wrong.last_error.startswith("SMTP 535") and "sai" not in wrong.last_error
    )
    # smtplib sends AUTH as ASCII: a Vietnamese password is refused at once, visibly, not retried.
    assert unusable.state == "skipped" and "must be ASCII" in unusable.last_error
    assert right.state == "sent" and len(inbox) == 1


def test_smtp_settings_come_from_the_environment():
    settings = Settings.from_env(
        {
            "LIENTHONG_SMTP_HOST": "mail.xa.gov.vn",
            "LIENTHONG_SMTP_PORT": "465",
            "LIENTHONG_SMTP_SECURITY": "SSL",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == ("mail.xa.gov.vn", 465, "ssl")
    assert Settings.from_env({}).smtp_host is None
    with pytest.raises(ValueError, match="LIENTHONG_SMTP_SECURITY must be one of none, starttls, ssl"):
        Settings.from_env({"LIENTHONG_SMTP_SECURITY": "tls"})


def test_the_message_headers_are_encoded_for_any_mail_client():
    mail = Mail(to="a@example.vn", subject="Hồ sơ đã có kết quả", body="Mời Ông/Bà đến nhận.", delivery_id=9)
    raw = build_message(mail, "Một cửa liên thông <khong-tra-loi@xa.gov.vn>").as_bytes()
    assert raw.isascii()  # RFC 2047 words and a base64 or quoted-printable body: 7-bit safe
    assert b"Auto-Submitted: auto-generated" in raw
