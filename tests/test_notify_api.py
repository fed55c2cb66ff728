"""Admin endpoints and CLI of notice delivery: subscriptions, the delivery list, scopes."""

from __future__ import annotations

import pytest

from orchestrator.cli import main
from orchestrator.clock import utcnow
from orchestrator.notify import queue_notice

from .agency_fixtures import admin_token, bearer, make_agency_token
from .notify_support import start_dossier
from .test_notify_email import drain

HOOK = "https://cong-dvc.example.vn/hooks/lienthong"


def test_a_subscription_shows_its_secret_once(runtime, client):
    headers = bearer(admin_token(runtime))
    created = client.post("/api/v1/webhooks", json={"url": HOOK, "kinds": ["receipt"]}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert (body["url"], body["kinds"], body["agency"]) == (HOOK, ["receipt"], None)
    (listed,) = client.get("/api/v1/webhooks", headers=headers).get_json()["items"]
    assert listed["id"] == body["id"] and "secret" not in listed
    assert client.delete(f"/api/v1/webhooks/{body['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/webhooks", headers=headers).get_json()["items"] == []
    gone = client.delete(f"/api/v1/webhooks/{body['id']}", headers=headers)
    assert gone.status_code == 404 and gone.content_type == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [
        {"url": HOOK, "kinds": []},
        {"url": HOOK, "kinds": ["birthday"]},
        {"url": "ftp://example.vn/x", "kinds": ["receipt"]},
        {"url": "/relative", "kinds": ["receipt"]},
        {"url": HOOK, "kinds": ["receipt"], "agency": "NO-SUCH-AGENCY"},
        {"url": HOOK, "kinds": ["receipt"], "secret": "mine"},
    ],
)
def test_a_bad_subscription_is_a_clear_400(runtime, client, body):
    answer = client.post("/api/v1/webhooks", json=body, headers=bearer(admin_token(runtime)))
    assert answer.status_code == 400 and answer.content_type == "application/problem+json"


def test_agency_and_desk_tokens_cannot_reach_the_admin_endpoints(runtime, client):
    for token in (make_agency_token(runtime, "CA-XA"), make_agency_token(runtime, "UBND-XA", ("desk",))):
        headers = bearer(token)
        assert client.get("/api/v1/deliveries?state=dead", headers=headers).status_code == 403
        assert client.post("/api/v1/deliveries/1/retry", headers=headers).status_code == 403
        assert client.get("/api/v1/webhooks", headers=headers).status_code == 403
        posted = client.post("/api/v1/webhooks", json={"url": HOOK, "kinds": ["receipt"]}, headers=headers)
        assert posted.status_code == 403
        assert client.delete("/api/v1/webhooks/x", headers=headers).status_code == 403
    assert client.get("/api/v1/deliveries").status_code == 401


def test_the_delivery_list_filters_by_kind_and_pages(runtime, client):
    headers = bearer(admin_token(runtime))
    instance_id = start_dossier(runtime.engine)
    with runtime.db.write() as session:
        for kind in ("receipt", "result_ready", "result_ready", "result_ready"):
            queue_notice(session, instance_id=instance_id, kind=kind, message="x", agency=None, now=utcnow())
    drain(runtime)  # no SMTP server configured: every e-mail is recorded as skipped
    first = client.get(
        "/api/v1/deliveries?kind=result_ready&state=skipped&limit=2", headers=headers
    ).get_json()
    assert [item["kind"] for item in first["items"]] == ["result_ready"] * 2 and first["nextCursor"]
    rest = client.get(f"/api/v1/deliveries?kind=result_ready&cursor={first['nextCursor']}", headers=headers)
    ids = [item["id"] for item in first["items"] + rest.get_json()["items"]]
    assert len(ids) == len(set(ids)) == 3 and ids == sorted(ids, reverse=True)
    assert client.get("/api/v1/deliveries?state=lost", headers=headers).status_code == 400
    sent_or_skipped = first["items"][0]["id"]
    requeued = client.post(f"/api/v1/deliveries/{sent_or_skipped}/retry", headers=headers)
    assert requeued.status_code == 200 and requeued.get_json()["state"] == "pending"
    assert client.post("/api/v1/deliveries/999999/retry", headers=headers).status_code == 404


def test_the_cli_adds_and_lists_subscriptions(runtime, database_url, monkeypatch, capsys):
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", database_url)
    assert main(["webhook", "add", HOOK, "--kinds", "receipt", "result_ready"]) == 0
    printed = capsys.readouterr().out
    secret = next(line.split(": ", 1)[1] for line in printed.splitlines() if line.startswith("secret: "))
    assert secret.startswith("whsec_") and "không được hiển thị lại" in printed
    assert main(["webhook", "list"]) == 0
    listing = capsys.readouterr().out
    assert HOOK in listing and "receipt,result_ready" in listing and secret not in listing
    assert main(["webhook", "add", "not-a-url", "--kinds", "receipt"]) == 1
    assert "absolute http" in capsys.readouterr().err
