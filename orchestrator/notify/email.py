"""E-mail over SMTP: one UTF-8 message per delivery, plain, STARTTLS or implicit TLS by settings."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from orchestrator.config import Settings

SIGNATURE = (
    "\n\n--\nThư này được gửi tự động từ hệ thống một cửa liên thông; vui lòng không trả lời thư này.\n"
    "Mọi thắc mắc xin liên hệ bộ phận tiếp nhận và trả kết quả nơi Ông/Bà đã nộp hồ sơ."
)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    delivery_id: int


class MailNotConfigured(RuntimeError):
    """No usable SMTP settings: the delivery is recorded as skipped, not retried."""


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """A proper MIME message: UTF-8 headers (RFC 2047) and body, so Vietnamese diacritics survive."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"lienthong-delivery-{mail.delivery_id}")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office robots do not reply
    message.set_content(f"Kính gửi Ông/Bà,\n\n{mail.body}{SIGNATURE}", charset="utf-8")
    return message


def send_mail(settings: Settings, mail: Mail) -> None:
    """Hand the message to the configured server; any refusal or timeout raises (then a retry)."""
    if not settings.smtp_host:
        raise MailNotConfigured("SMTP is not configured (LIENTHONG_SMTP_HOST)")
    credentials = (settings.smtp_user or "") + (settings.smtp_password or "")
    if not credentials.isascii():
        # smtplib sends AUTH as ASCII; failing every retry the same way would only hide the cause.
        raise MailNotConfigured("the SMTP user and password must be ASCII (LIENTHONG_SMTP_USER/PASSWORD)")
    message = build_message(mail, settings.smtp_from)
    timeout = settings.notify_timeout_seconds
    if settings.smtp_security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password or "")
        client.send_message(message)
