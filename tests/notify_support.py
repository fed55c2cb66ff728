"""Local servers and dossiers for the notice-delivery tests: an SMTP server, a webhook receiver."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from orchestrator.dossiers.models import Dossier
from orchestrator.engine import Engine
from orchestrator.services import definitions, instances

from .agency_fixtures import free_port
from .bpmn_builder import external, flow, resource
from .http_recorder import Posted, recording_server

PROCESS = "thong-bao"


def start_dossier(engine: Engine, *, email: str | None = "nguyen.van.a@example.vn", code: str = "") -> str:
    """A running instance with a dossier whose applicant has ``email``; returns the instance id."""
    definitions.deploy(
        engine,
        [
            resource(
                '<bpmn:startEvent id="s" />'
                + external("xu-ly", "xu-ly")
                + '<bpmn:endEvent id="e" />'
                + flow("f1", "s", "xu-ly")
                + flow("f2", "xu-ly", "e"),
                process_id=PROCESS,
            )
        ],
    )
    started = instances.start_instance(engine, PROCESS, business_key=f"HS-{uuid.uuid4().hex[:6]}")
    now = datetime.now(UTC)
    with engine.db.write() as session:
        dossier = session.scalars(select(Dossier).where(Dossier.instance_id == started.id)).first()
        if dossier is None:  # the lifecycle may already have made one when the instance started
            dossier = Dossier(
                id=str(uuid.uuid4()),
                code=code or f"UBND-XA-261122-{uuid.uuid4().int % 10000:04d}",
                lookup_code="AB7K",
                instance_id=started.id,
                process_key=PROCESS,
                agency="UBND-XA",
                channel="online",
                documents=[],
                state="received",
                national_status=2,
                received_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(dossier)
        dossier.applicant = {"name": "Nguyễn Văn A", "email": email} if email else {"name": "Nguyễn Văn A"}
        if code:
            dossier.code = code
    return started.id


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@contextlib.contextmanager
def smtp_server(
    credentials: tuple[str, str] | None = None,
) -> Iterator[tuple[int, list[tuple[list[str], EmailMessage]]]]:
    """A real SMTP server on localhost (aiosmtpd runs its event loop in a thread); yields port and inbox.

    With ``credentials`` it requires AUTH with exactly that user and password.
    """
    inbox = _Inbox()
    port = free_port()
    auth: dict[str, Any] = {}
    if credentials is not None:

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            given = (data.login.decode(), data.password.decode()) if isinstance(data, LoginPassword) else None
            return AuthResult(success=given == credentials, handled=False)

        # Plain-text AUTH is fine on the loopback of a test (aiosmtpd warns about it elsewhere).
        auth = {"authenticator": authenticate, "auth_required": True, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **auth)
    controller.start()
    try:
        yield port, inbox.messages
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    """Answers each POST with the next scripted status (the last one repeats) and records it."""

    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Posted] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, posted: Posted) -> int:
        with self._lock:
            self.received.append(posted)
            return self.statuses[min(len(self.received), len(self.statuses)) - 1]


@contextlib.contextmanager
def webhook_receiver(*statuses: int) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(list(statuses or [200]))
    with recording_server(receiver.answer, "/hooks/lienthong") as url:
        receiver.url = url
        yield receiver
