"""The portal outbox: payloads with the portal's names, in order per dossier, retried, visible."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from orchestrator.access import Principal
from orchestrator.clock import utcnow
from orchestrator.dossiers import lifecycle, portal_status, queries
from orchestrator.dossiers.models import PortalSync
from orchestrator.dossiers.portal_sync import JOB_KIND, portal_time
from orchestrator.engine import Engine
from orchestrator.handler_sdk import HandlerRegistry
from orchestrator.job_kinds import JOB_RUNNERS
from orchestrator.store.models import Job
from orchestrator.worker import Worker

from .api_helpers import auth_headers
from .dossier_support import complete, deploy_procedure, receive, vn
from .fake_portal import fake_portal

ADMIN = Principal("admin", "admin", None, frozenset({"admin"}))


@pytest.fixture
def procedure(engine):
    deploy_procedure(engine)
    return engine


def _worker(engine: Engine, **settings: object) -> Worker:
    configured = Engine(engine.db, dataclasses.replace(engine.settings, **settings), HandlerRegistry())
    return Worker(configured, HandlerRegistry(), worker_id="w1", runners=JOB_RUNNERS)


def _drain(worker: Worker, traveller: time_machine.Coordinates, rounds: int = 12) -> None:
    """Run jobs, jumping over each backoff, until none is left to run."""
    for _ in range(rounds):
        while worker.run_once():
            pass
        with worker.engine.db.read() as session:
            if not session.scalars(select(Job).where(Job.kind == JOB_KIND, Job.status == "queued")).first():
                return
        traveller.shift(timedelta(minutes=6))


def test_payload_uses_the_portal_names_and_vietnam_time(procedure):
    engine = procedure
    with time_machine.travel(vn("2026-11-23T08:00"), tick=False):
        dossier = receive(engine, channel="post")
    with time_machine.travel(vn("2026-11-23T10:00"), tick=False):
        lifecycle.request_supplement(
            engine, dossier.code, reason="Thiếu", items=["Giấy A"], task_id=None,
            variables={"ketQua": "bo-sung"}, actor="d",
        )  # fmt: skip
    with time_machine.travel(vn("2026-11-25T10:00"), tick=False):
        lifecycle.receive_supplement(engine, dossier.code, variables=None, actor="d")
    with engine.db.read() as session:
        rows = list(session.scalars(select(PortalSync).order_by(PortalSync.seq)))
    assert [(r.seq, r.national_status) for r in rows] == [(1, 2), (2, 5), (3, 4)]
    first, last = rows[0].payload, rows[-1].payload
    assert first == {
        "MaHoSo": dossier.code,
        "MaTTHC": "1.000001",
        "TenTTHC": "Thủ tục thử",
        "MaCoQuan": "UBND-XA",
        "KenhThucHien": 3,
        "TrangThaiHoSo": 2,
        "NgayTiepNhan": "20261123080000",
        "NgayHenTra": "20261126080000",
        "ChuHoSo": {"HoTen": "Nguyễn Thị Lan"},
        "DanhSachHoSoBoSung": [],
    }
    [supplement] = last["DanhSachHoSoBoSung"]
    assert supplement["NgayYeuCauBoSung"] == "20261123100000"
    assert supplement["NgayTiepNhanBoSung"] == "20261125100000"
    assert supplement["NgayHenTraTruoc"] == "20261126080000"
    assert supplement["NgayHenTraMoi"] > supplement["NgayHenTraTruoc"]
    assert rows[1].payload["DanhSachHoSoBoSung"][0]["NgayTiepNhanBoSung"] is None
    assert portal_time(vn("2026-01-02T03:04:05")) == "20260102030405"


def test_changes_reach_the_portal_in_order_despite_failures(procedure):
    engine = procedure
    with (
        fake_portal(fail_first=3) as portal,
        time_machine.travel(vn("2026-11-23T08:00"), tick=False) as traveller,
    ):
        dossier = receive(engine)
        complete(engine, dossier.instance_id, "check", ketQua="hop-le")
        complete(engine, dossier.instance_id, "appraise", thue=False)
        worker = _worker(engine, portal_url=portal.url, portal_token="bi-mat")
        assert worker.run_once() == 2  # both jobs run; the first change fails for each of them
        status = portal_status.sync_status(engine, dossier.code, ADMIN)
        assert (status["last_sent_status"], status["pending"], status["failed"]) == (None, 2, 1)
        assert status["last_error"] == "the portal answered HTTP 503"
        assert portal.received == []
        _drain(worker, traveller)
    assert portal.statuses(dossier.code) == [2, 4]  # never 4 before 2
    assert set(portal.authorizations) == {"Bearer bi-mat"}
    status = portal_status.sync_status(engine, dossier.code, ADMIN)
    assert (status["last_sent_status"], status["pending"], status["last_error"]) == (4, 0, None)
    assert [c["status"] for c in status["changes"]] == ["sent", "sent"]
    with engine.db.read() as session:
        assert set(session.scalars(select(Job.status).where(Job.kind == JOB_KIND))) == {"done"}


def test_basic_authentication_when_configured(procedure):
    engine = procedure
    with fake_portal() as portal, time_machine.travel(vn("2026-11-23T08:00"), tick=False) as traveller:
        receive(engine)
        _drain(_worker(engine, portal_url=portal.url, portal_token="user:pw", portal_auth="basic"), traveller)
    assert portal.authorizations == ["Basic dXNlcjpwdw=="]


def test_without_a_portal_url_changes_are_kept_as_skipped(procedure):
    engine = procedure
    dossier = receive(engine)
    complete(engine, dossier.instance_id, "check", ketQua="hop-le")
    worker = _worker(engine)
    while worker.run_once():
        pass
    status = portal_status.sync_status(engine, dossier.code, ADMIN)
    assert (status["skipped"], status["pending"], status["last_sent_status"]) == (2, 0, None)
    assert status["last_error"] == "no portal_url configured"
    with engine.db.read() as session:
        assert set(session.scalars(select(Job.status).where(Job.kind == JOB_KIND))) == {"done"}


def test_a_change_leased_by_another_worker_is_not_sent_twice(procedure):
    engine = procedure
    with fake_portal() as portal:
        dossier = receive(engine)
        with engine.db.write() as session:
            session.execute(
                update(PortalSync).values(lease_owner="other", lease_expires_at=vn("2030-01-01T00:00"))
            )
        worker = _worker(engine, portal_url=portal.url)
        assert worker.run_once() == 1
    assert portal.received == []
    with engine.db.read() as session:
        job = session.scalars(select(Job).where(Job.kind == JOB_KIND)).one()
    assert job.status == "queued" and "another worker" in job.last_error
    assert portal_status.sync_status(engine, dossier.code, ADMIN)["pending"] == 1


def test_the_re_appointment_reaches_the_portal_as_ngay_hen_tra_moi(procedure):
    from orchestrator.deadlines.reappointment import reappoint

    engine = procedure
    with time_machine.travel(vn("2026-11-23T08:00"), tick=False):
        dossier = receive(engine)
    with time_machine.travel(vn("2026-11-25T16:00"), tick=False):
        reappoint(
            engine,
            dossier.instance_id,
            new_due=vn("2026-11-30T16:00"),
            reason="Chờ xác minh",
            principal=ADMIN,
        )
    with engine.db.read() as session:
        rows = list(session.scalars(select(PortalSync).order_by(PortalSync.seq)))
    assert [r.national_status for r in rows] == [2, 2]
    assert "NgayHenTraMoi" not in rows[0].payload
    assert rows[1].payload["NgayHenTraMoi"] == "20261130160000"
    assert rows[1].payload["NgayHenTra"] == "20261126080000"  # the appointment itself never moves
    assert queries.get_dossier(engine, dossier.code, ADMIN)["reappointment_at"] == vn("2026-11-30T16:00")


def _run_until(worker: Worker, traveller: time_machine.Coordinates, hours: float) -> list[timedelta]:
    """Run the portal jobs for ``hours`` of clock time, jumping to each retry; returns the backoffs."""
    start, delays = utcnow(), []
    while utcnow() - start < timedelta(hours=hours):
        worker.run_once()
        with worker.engine.db.read() as session:
            job = session.scalars(
                select(Job).where(Job.kind == JOB_KIND, Job.status == "queued").order_by(Job.run_at)
            ).first()
        if job is None:
            break
        delays.append(job.run_at - utcnow())
        traveller.move_to(job.run_at)
    return delays


def test_a_day_long_portal_outage_loses_no_change(procedure):
    engine = procedure
    with (
        fake_portal(fail_first=10**6) as portal,
        time_machine.travel(vn("2026-11-23T08:00"), tick=False) as traveller,
    ):
        dossier = receive(engine)
        worker = _worker(engine, portal_url=portal.url)
        delays = _run_until(worker, traveller, hours=24)
        assert max(delays) == timedelta(hours=1)  # backs off to an hour, no further
        assert portal_status.sync_status(engine, dossier.code, ADMIN)["failed"] == 1  # still trying
        portal.fail_first = 0  # the portal is back after a day
        _run_until(worker, traveller, hours=2)
    assert portal.statuses(dossier.code) == [2]
    assert portal_status.sync_status(engine, dossier.code, ADMIN)["last_sent_status"] == 2


def test_a_change_the_portal_never_took_is_dead_visible_and_resent_by_an_admin(runtime, client):
    engine = runtime.engine
    deploy_procedure(engine)
    admin = auth_headers(runtime, ("admin",))
    with (
        fake_portal(fail_first=10**6) as portal,
        time_machine.travel(vn("2026-11-23T08:00"), tick=False) as traveller,
    ):
        dossier = receive(engine)
        worker = _worker(engine, portal_url=portal.url)
        _run_until(worker, traveller, hours=72)
        assert utcnow() - vn("2026-11-23T08:00") > timedelta(hours=24)  # gave up after a day, not before
        dead = client.get("/api/v1/portal-sync?status=dead", headers=admin).get_json()["items"]
        assert [(row["dossierCode"], row["seq"], row["nationalStatus"]) for row in dead] == [
            (dossier.code, 1, 2)
        ]
        assert dead[0]["lastError"] == "the portal answered HTTP 503"
        assert client.get("/api/v1/portal-sync?status=dead", headers=auth_headers(runtime)).status_code == 403
        portal.fail_first = 0  # the portal is back; the admin resends what it missed
        resent = client.post(f"/api/v1/dossiers/{dossier.code}/portal-sync/retry", headers=admin)
        assert resent.status_code == 200 and resent.get_json()["pending"] == 1
        _run_until(worker, traveller, hours=1)
    assert portal.statuses(dossier.code) == [2]
    assert client.get("/api/v1/portal-sync?status=dead", headers=admin).get_json()["items"] == []
    again = client.post(f"/api/v1/dossiers/{dossier.code}/portal-sync/retry", headers=admin)
    assert again.status_code == 409  # nothing is dead any more


def test_a_dead_change_goes_out_before_the_next_change_of_its_dossier(procedure):
    engine = procedure
    with (
        fake_portal(fail_first=10**6) as portal,
        time_machine.travel(vn("2026-11-23T08:00"), tick=False) as traveller,
    ):
        dossier = receive(engine)
        worker = _worker(engine, portal_url=portal.url)
        _run_until(worker, traveller, hours=72)
        assert portal_status.sync_status(engine, dossier.code, ADMIN)["dead"] == 1
        portal.fail_first = 0
        complete(engine, dossier.instance_id, "check", ketQua="hop-le")
        _run_until(worker, traveller, hours=1)
    assert portal.statuses(dossier.code) == [2, 4]
