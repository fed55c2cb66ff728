"""(c) completed dossiers/s end to end over HTTP, and part 4's exactly-once check under that load.

The desk starts D dossiers over HTTP (``/engine-rest/process-definition/key/K/start``) from a
few threads while camunda-external-task-client-python3 workers (one process each, maxTasks 1,
long polling) complete every step; for the land transfer a payer thread sends each dossier's
tax payment (``POST /engine-rest/message``, by business key) once it waits at the event-based
gateway.  dossiers/s = D / (first start sent -> last ``ended_at``).  Then every dossier is
checked: each step completed once (one ``task_completed`` event per task), each payment
correlated once, the version counter equal to 1 + the number of steps, nothing left open.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from procedures import Payment, Procedure
from servers import HTTP_TIMEOUT, BenchAborted, Tokens, agency_clients
from sqlalchemy import String, cast, func, select

from orchestrator.store.db import Database
from orchestrator.store.models import Event, ExternalTaskRow, ProcessInstance

PAYER_POLL_SECONDS = 0.05


def business_key(procedure: Procedure, n: int) -> str:
    return f"HS-{procedure.key}-{n:06d}"


def start_dossiers(base: str, tokens: Tokens, procedure: Procedure, count: int, threads: int = 4) -> float:
    """The desk files ``count`` dossiers; returns the epoch second of the first send."""
    url = f"{base}/engine-rest/process-definition/key/{procedure.key}/start"
    variables = {name: {"value": value} for name, value in procedure.start_variables.items()}

    def one(session: requests.Session, n: int) -> None:
        body = {"businessKey": business_key(procedure, n), "variables": variables}
        response = session.post(url, json=body, timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise BenchAborted(f"start {n} failed: {response.status_code} {response.text[:300]}")

    sessions = [requests.Session() for _ in range(threads)]
    for session in sessions:  # a desk application keeps its connections open
        session.headers["Authorization"] = f"Bearer {tokens.desk}"
    first = time.time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda n: one(sessions[n % threads], n), range(count)))
    return first


class Payer(threading.Thread):
    """The payment portal: pays each dossier once, as soon as it waits for the payment."""

    def __init__(self, base: str, tokens: Tokens, db: Database, key: str, payment: Payment) -> None:
        super().__init__(name="payer", daemon=True)
        self.base, self.db, self.key, self.payment = base, db, key, payment
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {tokens.desk}"
        self.paid: set[str] = set()
        self.error: str | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                for waiting in self._waiting() - self.paid:
                    self._pay(waiting)
                    self.paid.add(waiting)
                self._stopping.wait(PAYER_POLL_SECONDS)
        except Exception as error:  # reported by stop(): the run must not count a lost payment
            self.error = f"{type(error).__name__}: {error}"

    def _waiting(self) -> set[str]:
        at_gateway = cast(ProcessInstance.current_activities, String).contains(f'"{self.payment.waits_at}"')
        with self.db.read() as session:
            return set(
                session.scalars(
                    select(ProcessInstance.business_key).where(
                        ProcessInstance.process_key == self.key,
                        ProcessInstance.status == "running",
                        at_gateway,
                    )
                )
            )

    def _pay(self, key: str) -> None:
        body = {
            "messageName": self.payment.message,
            "businessKey": key,
            "processVariables": {name: {"value": value} for name, value in self.payment.variables.items()},
        }
        response = self.session.post(f"{self.base}/engine-rest/message", json=body, timeout=HTTP_TIMEOUT)
        if response.status_code != 204:
            raise BenchAborted(f"payment of {key} refused: {response.status_code} {response.text[:300]}")

    def stop(self) -> None:
        self._stopping.set()
        self.join(HTTP_TIMEOUT)
        if self.error:
            raise BenchAborted(f"the payer stopped: {self.error}")


def _completed(db: Database, key: str) -> tuple[int, Any]:
    with db.read() as session:
        count, last = session.execute(
            select(func.count(), func.max(ProcessInstance.ended_at)).where(
                ProcessInstance.process_key == key, ProcessInstance.status == "completed"
            )
        ).one()
    return int(count), last


def _wait_until_completed(db: Database, procedure: Procedure, dossiers: int, timeout: float) -> Any:
    """The last ``ended_at`` once all ``dossiers`` have completed."""
    deadline = time.monotonic() + timeout
    done, last_end = _completed(db, procedure.key)
    while done < dossiers:
        if time.monotonic() > deadline:
            raise BenchAborted(f"only {done} of {dossiers} {procedure.key} dossiers ended in {timeout:g} s")
        time.sleep(0.1)
        done, last_end = _completed(db, procedure.key)
    return last_end


def measure(
    base: str,
    database_url: str,
    tokens: Tokens,
    procedure: Procedure,
    dossiers: int,
    clients_per_agency: int,
    timeout: float,
) -> dict[str, Any]:
    db = Database(database_url)
    per_agency = procedure.clients_per_agency or clients_per_agency
    payer = Payer(base, tokens, db, procedure.key, procedure.payment) if procedure.payment else None
    try:
        with agency_clients(base, tokens, procedure.work, per_agency):
            if payer:
                payer.start()
            try:
                first_start = start_dossiers(base, tokens, procedure, dossiers)
                last_end = _wait_until_completed(db, procedure, dossiers, timeout)
            finally:
                if payer:
                    payer.stop()
        seconds = last_end.timestamp() - first_start
        return {
            "procedure": procedure.key,
            "dossiers": dossiers,
            "clients": per_agency * len(procedure.agencies),
            "payments": len(payer.paid) if payer else 0,
            "seconds": round(seconds, 2),
            "dossiers_per_second": round(dossiers / seconds, 1),
            "completions_per_second": round(dossiers * procedure.completions / seconds, 1),
            "exactly_once": exactly_once(db, procedure),
        }
    finally:
        db.dispose()


def exactly_once(db: Database, procedure: Procedure) -> dict[str, Any]:
    """Every completion and payment applied once: counts that would differ if one were applied
    twice or lost."""
    with db.read() as session:
        dossiers = select(ProcessInstance.id).where(ProcessInstance.process_key == procedure.key)
        of_these = Event.instance_id.in_(dossiers)
        duplicated = session.scalar(
            select(func.count()).select_from(
                select(Event.task_id)
                .where(Event.type == "task_completed", of_these)
                .group_by(Event.task_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        completions = session.scalar(select(func.count()).where(Event.type == "task_completed", of_these))
        payments = session.scalar(select(func.count()).where(Event.type == "message_correlated", of_these))
        wrong_version = session.scalar(
            select(func.count()).where(
                ProcessInstance.process_key == procedure.key, ProcessInstance.version != 1 + procedure.steps
            )
        )
        left_open = session.scalar(select(func.count()).where(ExternalTaskRow.process_key == procedure.key))
        total = session.scalar(select(func.count()).select_from(dossiers.subquery()))
    expected = total * procedure.completions
    expected_payments = total if procedure.payment else 0
    return {
        "completions": completions,
        "expected": expected,
        "payments": payments,
        "expected_payments": expected_payments,
        "duplicated_completions": duplicated,
        "dossiers_with_wrong_version": wrong_version,
        "tasks_left_open": left_open,
        "ok": completions == expected
        and payments == expected_payments
        and duplicated == 0
        and wrong_version == 0
        and left_open == 0,
    }
