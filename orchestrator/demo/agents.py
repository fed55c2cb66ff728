"""Simulated agency systems and applicants, each a thread talking to the server over HTTP.

An agency's system holds its own worker token and long-polls the Camunda-compatible
external-task API for its topics, one task at a time, as a small agency system would:
``fetchAndLock``, then ``complete``, ``bpmnError`` (a refusal) or ``failure``.  A slow agency's
official takes a few seconds per step; the failing agency's system reports every task as
failed with one retry fewer each time, until retries reach 0 and the task becomes an
incident.  The applicants (through the desk's token) bring a missing paper some seconds
after the supplement request, and pay the land transfer's tax after its notice.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .client import ApiError, Client, ServerUnreachable
from .scenario import PROCEDURES_BY_KEY, DossierPlan, decide
from .topics import Step

log = logging.getLogger(__name__)

LONG_POLL_MS = 1000  # short: a stop is noticed within a second
LOCK_MS = 60_000
FIRST_RETRIES = 2  # the failing system's first report leaves 2 retries, then 1, then 0: an incident
RETRY_TIMEOUT_MS = 1000
APPLICANT_DELAY = (2.0, 6.0)  # seconds (before ``pace``) before an applicant answers the desk
POLL_SECONDS = 1.0
WAITING_STATES = ("supplement_requested", "awaiting_payment")


class Tally:
    """Thread-safe counts of what the agents did, by (who, outcome)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def add(self, who: str, outcome: str) -> None:
        with self._lock:
            self._counts[(who, outcome)] += 1

    def total(self, outcome: str) -> int:
        with self._lock:
            return sum(count for (_, kind), count in self._counts.items() if kind == outcome)


@dataclass(frozen=True)
class Behaviour:
    delay: tuple[float, float] | None = None  # seconds per step (slow agency), before ``pace``
    failing: bool = False


class AgencySystem(threading.Thread):
    """One agency's system: its own token, its own topics, one task at a time."""

    def __init__(
        self,
        client: Client,
        agency: str,
        steps: Mapping[str, Step],
        behaviour: Behaviour,
        *,
        stop: threading.Event,
        tally: Tally,
        rng: random.Random,
        pace: float = 1.0,
    ) -> None:
        super().__init__(name=f"demo-{agency}", daemon=True)
        self.client, self.agency, self.steps, self.behaviour = client, agency, steps, behaviour
        self.stop, self.tally, self.rng, self.pace = stop, tally, rng, pace
        self.worker_id = f"demo-{agency}"

    def run(self) -> None:
        body = {
            "workerId": self.worker_id,
            "maxTasks": 1,
            "usePriority": True,
            "asyncResponseTimeout": LONG_POLL_MS,
            "topics": [{"topicName": topic, "lockDuration": LOCK_MS} for topic in self.steps],
        }
        while not self.stop.is_set():
            try:
                tasks = self.client.post(
                    "/engine-rest/external-task/fetchAndLock", body, timeout=LONG_POLL_MS / 1000 + 10
                )
                for task in tasks:
                    self._handle(task)
            except ServerUnreachable as error:
                log.warning("%s: server unreachable (%s); retrying", self.agency, error)
                self.stop.wait(1.0)
            except ApiError as error:
                log.warning("%s: %s", self.agency, error)
                self.stop.wait(1.0)

    def _handle(self, task: dict[str, Any]) -> None:
        step, key = self.steps[task["topicName"]], task.get("businessKey")
        try:
            if self.behaviour.failing:
                self._fail(task, key)
                return
            if self.behaviour.delay is not None and self.stop.wait(
                self.rng.uniform(*self.behaviour.delay) * self.pace
            ):
                self._call(f"/engine-rest/external-task/{task['id']}/unlock", {})  # stopping: hand it back
                return
            decision = decide(step, _values(task.get("variables") or {}))
            typed = {name: {"value": value} for name, value in decision.variables.items()}
            if decision.kind == "bpmn_error":
                self._call(
                    f"/engine-rest/external-task/{task['id']}/bpmnError",
                    {"workerId": self.worker_id, "errorCode": decision.error_code, "variables": typed},
                )
                log.info(
                    "%s refused %s at %s (BPMN error %s)", self.agency, key, step.topic, decision.error_code
                )
                self.tally.add(self.agency, "refused")
                return
            self._call(
                f"/engine-rest/external-task/{task['id']}/complete",
                {"workerId": self.worker_id, "variables": typed},
            )
            log.info("%s completed %s for %s", self.agency, step.topic, key)
            self.tally.add(self.agency, "completed")
        except ApiError as error:
            # The task moved on meanwhile (cancelled dossier, expired lock): nothing to redo.
            log.info("%s: %s for %s was not accepted: %s", self.agency, step.topic, key, error)
            self.tally.add(self.agency, "rejected")

    def _fail(self, task: dict[str, Any], key: str | None) -> None:
        retries = FIRST_RETRIES if task.get("retries") is None else max(task["retries"] - 1, 0)
        self._call(
            f"/engine-rest/external-task/{task['id']}/failure",
            {
                "workerId": self.worker_id,
                "errorMessage": "Hệ thống của cơ quan không phản hồi (ReadTimeout)",
                "errorDetails": "ReadTimeout: no answer from the agency's registry within 30 s",
                "retries": retries,
                "retryTimeout": RETRY_TIMEOUT_MS,
            },
        )
        log.warning("%s failed %s for %s (%d retries left)", self.agency, task["topicName"], key, retries)
        self.tally.add(self.agency, "incident" if retries == 0 else "failed")

    def _call(self, path: str, body: dict[str, Any]) -> None:
        self.client.post(path, body)


class Applicants(threading.Thread):
    """The applicants of the demo's dossiers, answering the desk's requests after a while."""

    def __init__(
        self,
        desk: Client,
        plans: Mapping[str, DossierPlan],  # dossier code -> its plan
        *,
        stop: threading.Event,
        tally: Tally,
        rng: random.Random,
        pace: float = 1.0,
    ) -> None:
        super().__init__(name="demo-applicants", daemon=True)
        self.desk, self.plans, self.stop, self.tally, self.rng, self.pace = (
            desk,
            plans,
            stop,
            tally,
            rng,
            pace,
        )
        self._due: dict[tuple[str, str], float] = {}  # (code, state) -> when the applicant answers
        self._answered: set[tuple[str, str]] = set()

    def run(self) -> None:
        while not self.stop.wait(POLL_SECONDS * min(self.pace, 1.0)):
            try:
                self._round()
            except ServerUnreachable as error:
                log.warning("applicants: server unreachable (%s); retrying", error)
            except ApiError as error:
                log.warning("applicants: %s", error)

    def _round(self) -> None:
        now = time.monotonic()
        for state in WAITING_STATES:
            for code in waiting_codes(self.desk, state, self.plans):
                episode = (code, state)
                if episode in self._answered:
                    continue
                due = self._due.setdefault(episode, now + self.rng.uniform(*APPLICANT_DELAY) * self.pace)
                if due <= now:
                    self._answered.add(episode)
                    self._answer(code, state, self.plans[code])

    def _answer(self, code: str, state: str, plan: DossierPlan) -> None:
        if state == "supplement_requested" and plan.supplements:
            self.desk.post(f"/api/v1/dossiers/{code}/supplement", {"variables": {"daBoSung": True}})
            log.info("applicant of %s brought the missing paper", code)
            self.tally.add("applicants", "supplemented")
        elif state == "awaiting_payment" and plan.pays:
            message = PROCEDURES_BY_KEY[plan.procedure].payment_message
            if message is None:
                return
            body = {
                "messageName": message,
                "businessKey": code,
                "processVariables": {"soChungTuNopThue": {"value": f"CT-{code}"}},
            }
            self.desk.post("/engine-rest/message", body)
            log.info("applicant of %s paid the tax", code)
            self.tally.add("applicants", "paid")


def waiting_codes(desk: Client, state: str, plans: Mapping[str, DossierPlan]) -> Iterator[str]:
    """The demo's dossiers in ``state`` (the desk's list, every page)."""
    for item in dossier_pages(desk, {"state": state}):
        if item["code"] in plans:
            yield item["code"]


def dossier_pages(desk: Client, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    cursor: str | None = None
    while True:
        page = desk.get(
            "/api/v1/dossiers", {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        )
        yield from page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return


def _values(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Camunda's typed variables ``{name: {type, value}}`` as plain values."""
    return {
        name: typed.get("value") if isinstance(typed, dict) else typed for name, typed in variables.items()
    }
