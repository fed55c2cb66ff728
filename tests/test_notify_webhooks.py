"""Signed webhooks to a local receiver: HMAC, retries with backoff, dead letters, claims."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import time_machine
from sqlalchemy import select

from orchestrator.access import add_agency
from orchestrator.clock import utcnow
from orchestrator.notify import admin, queue_notice
from orchestrator.notify.delivery import RETRY_DELAYS
from orchestrator.notify.models import NotificationDelivery
from orchestrator.notify.webhooks import verify_signature
from orchestrator.runtime import Runtime

from .agency_fixtures import admin_token, bearer
from .notify_support import start_dossier, webhook_receiver
from .test_notify_email import drain, jobs_of

WARNING = "Bước thẩm tra của hồ sơ sắp hết thời hạn (16 giờ 10 ngày 23/11/2026)."


def _subscribe(runtime: Runtime, url: str, kinds=("deadline_warning",), agency: str | None = "CA-XA") -> str:
    if agency is not None:
        add_agency(runtime.db, agency, "Công an xã")
    _, secret = admin.create_subscription(runtime.db, url=url, kinds=kinds, agency=agency, now=utcnow())
    return secret


def _warn(runtime: Runtime, instance_id: str, agency: str = "CA-XA") -> int:
    with runtime.db.write() as session:
        return queue_notice(
            session,
            instance_id=instance_id,
            kind="deadline_warning",
            message=WARNING,
            agency=agency,
            now=utcnow(),
        ).id


def _delivery(runtime: Runtime, notification_id: int) -> NotificationDelivery:
    with runtime.db.read() as session:
        return session.scalars(
            select(NotificationDelivery).where(NotificationDelivery.notification_id == notification_id)
        ).one()


def test_the_receiver_can_verify_the_signature_and_deduplicate(runtime):
    instance_id = start_dossier(runtime.engine, code="UBND-XA-261122-0042")
    with webhook_receiver(200) as receiver:
        secret = _subscribe(runtime, receiver.url)
        _subscribe(runtime, receiver.url, kinds=("deadline_overdue",), agency=None)  # another kind
        _subscribe(runtime, receiver.url, agency="UBND-XA")  # another agency
        notification_id = _warn(runtime, instance_id)
        drain(runtime)
    delivery = _delivery(runtime, notification_id)
    assert (delivery.channel, delivery.state, delivery.attempts) == ("webhook", "sent", 1)
    (request,) = receiver.received
    headers = request.headers
    assert headers["X-Lienthong-Event"] == "deadline_warning"
    assert headers["X-Lienthong-Delivery"] == str(delivery.id)
    timestamp, signature = headers["X-Lienthong-Timestamp"], headers["X-Lienthong-Signature"]
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_signature(secret, timestamp, request.body, signature)
    assert not verify_signature("whsec_other", timestamp, request.body, signature)
    assert not verify_signature(secret, timestamp, request.body + b" ", signature)
    assert not verify_signature(secret, timestamp, request.body, signature, now=int(timestamp) + 3600)
    payload = json.loads(request.body)
    assert payload["deliveryId"] == delivery.id and payload["event"] == "deadline_warning"
    assert payload["dossierCode"] == "UBND-XA-261122-0042" and payload["message"] == WARNING
    assert payload["agency"] == "CA-XA" and "applicant" not in payload


def test_a_failing_receiver_is_retried_with_backoff(runtime):
    instance_id = start_dossier(runtime.engine)
    with webhook_receiver(500, 200) as receiver, time_machine.travel(utcnow(), tick=False) as traveller:
        _subscribe(runtime, receiver.url)
        start = utcnow()
        notification_id = _warn(runtime, instance_id)
        drain(runtime)
        failed = _delivery(runtime, notification_id)
        assert (failed.state, failed.attempts, failed.last_error) == (
            "failed",
            1,
            "HTTP 500 Internal Server Error",
        )
        assert failed.next_attempt_at == start + RETRY_DELAYS[0] == start + timedelta(seconds=30)
        traveller.shift(timedelta(seconds=29))
        drain(runtime)
        assert len(receiver.received) == 1  # not before its backoff
        traveller.shift(timedelta(seconds=2))
        drain(runtime)
    sent = _delivery(runtime, notification_id)
    assert (sent.state, sent.attempts, sent.next_attempt_at) == ("sent", 2, None)
    assert [r.headers["X-Lienthong-Delivery"] for r in receiver.received] == [str(sent.id)] * 2


def test_a_receiver_that_never_answers_ends_dead_visible_and_requeueable(runtime, client):
    instance_id = start_dossier(runtime.engine)
    headers = bearer(admin_token(runtime))
    with webhook_receiver(503) as receiver, time_machine.travel(utcnow(), tick=False) as traveller:
        _subscribe(runtime, receiver.url)
        notification_id = _warn(runtime, instance_id)
        gaps = [timedelta(0), *RETRY_DELAYS]  # the first attempt, then one per backoff
        for gap in gaps:
            traveller.shift(gap + timedelta(seconds=1))
            drain(runtime)
        dead = _delivery(runtime, notification_id)
        assert (dead.state, dead.attempts, dead.next_attempt_at) == ("dead", 6, None)
        assert len(receiver.received) == 6
        traveller.shift(timedelta(days=2))
        drain(runtime)
        assert len(receiver.received) == 6  # given up: nothing more is sent
        with runtime.db.read() as session:
            assert [job.status for job in jobs_of(session, dead.id)] == ["dead"]

        listed = client.get("/api/v1/deliveries?state=dead", headers=headers)
        assert listed.status_code == 200
        (item,) = listed.get_json()["items"]
        assert item["id"] == dead.id and item["kind"] == "deadline_warning" and item["channel"] == "webhook"
        assert (item["attempts"], item["lastError"]) == (6, "HTTP 503 Service Unavailable")

        receiver.statuses[:] = [200]
        retried = client.post(f"/api/v1/deliveries/{dead.id}/retry", headers=headers)
        assert retried.status_code == 200 and retried.get_json()["state"] == "pending"
        again = client.post(f"/api/v1/deliveries/{dead.id}/retry", headers=headers)
        assert again.status_code == 409 and again.content_type == "application/problem+json"
        drain(runtime)
    assert _delivery(runtime, notification_id).state == "sent" and len(receiver.received) == 7
    assert client.get("/api/v1/deliveries?state=dead", headers=headers).get_json()["items"] == []


def test_two_workers_never_send_one_delivery_twice(runtime):
    instance_id = start_dossier(runtime.engine)
    with webhook_receiver(200) as receiver:
        _subscribe(runtime, receiver.url)
        ids = [_warn(runtime, instance_id) for _ in range(30)]
        workers = [runtime.new_worker() for _ in range(3)]

        def work(worker) -> None:
            for _ in range(40):
                if worker.run_once(limit=2) == 0:
                    return

        threads = [threading.Thread(target=work, args=(worker,)) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    sent = [r.headers["X-Lienthong-Delivery"] for r in receiver.received]
    assert len(sent) == len(set(sent)) == 30
    assert {_delivery(runtime, notification_id).state for notification_id in ids} == {"sent"}


def test_a_removed_subscription_skips_its_queued_deliveries(runtime):
    instance_id = start_dossier(runtime.engine)
    with webhook_receiver(200) as receiver:
        _subscribe(runtime, receiver.url)
        notification_id = _warn(runtime, instance_id)
        (subscription,) = admin.list_subscriptions(runtime.db)
        admin.remove_subscription(runtime.db, subscription["id"])
        drain(runtime)
    delivery = _delivery(runtime, notification_id)
    assert delivery.state == "skipped" and receiver.received == []
    assert delivery.last_error == "the webhook subscription was removed"
