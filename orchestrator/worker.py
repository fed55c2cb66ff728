"""The job worker: claims outbox jobs and runs in-process handlers outside any lock.

``lienthong worker`` runs this loop plus a ticker; ``lienthong serve`` runs both in
threads beside the API (the SQLite default).  A handler's result completes its task
through the same step an agency's completion takes, and the job is marked done in that
same transaction, so a crash anywhere means the job is retried, never lost or doubled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta

from .clock import utcnow
from .engine import Engine, StepContext
from .errors import Conflict, NotFound
from .handler_sdk import HandlerBpmnError, HandlerCall, HandlerRegistry
from .projection import HANDLER_JOB
from .services.external_tasks import mark_incident, throw_bpmn_error
from .services.instances import find_open_task, finish_task
from .services.variables import check_variables
from .store import queue
from .store.history import append_event
from .store.models import ExternalTaskRow, Job, ProcessInstance

log = logging.getLogger(__name__)


JobRunner = Callable[[Engine, Job], None]
"""Runs one claimed job outside any transaction; raising means "retry later" (then dead letter)."""


class RetryLater(Exception):
    """Raised by a job runner that chooses its own backoff before the next attempt."""

    def __init__(self, message: str, *, delay: timedelta) -> None:
        super().__init__(message)
        self.delay = delay


class Worker:
    def __init__(
        self,
        engine: Engine,
        handlers: HandlerRegistry,
        worker_id: str | None = None,
        runners: Mapping[str, JobRunner] | None = None,
    ) -> None:
        self.engine = engine
        self.handlers = handlers
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        # Job kinds other than in-process handlers (deliveries, portal sync): kind -> runner.
        self.runners: dict[str, JobRunner] = dict(runners or {})
        self._stop = threading.Event()

    def run_once(self, limit: int = 10) -> int:
        """Claim and run up to ``limit`` jobs; returns how many were claimed."""
        lease = timedelta(seconds=self.engine.settings.job_lease_seconds)
        with self.engine.db.write() as session:
            jobs = queue.claim(session, self.worker_id, now=utcnow(), lease=lease, limit=limit)
        for job in jobs:
            if job.kind == HANDLER_JOB:
                self._run_handler(job)
            elif job.kind in self.runners:
                self._run(job, self.runners[job.kind])
            else:
                self._fail(job, f"unknown job kind '{job.kind}'")
        return len(jobs)

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_once() == 0:
                    self._stop.wait(self.engine.settings.worker_poll_seconds)
            except Exception:
                log.exception("worker loop error; continuing")
                self._stop.wait(self.engine.settings.worker_poll_seconds)

    def stop(self) -> None:
        self._stop.set()

    def _run(self, job: Job, runner: JobRunner) -> None:
        try:
            runner(self.engine, job)
        except Exception as error:
            log.warning("%s job %s failed (attempt %s): %s", job.kind, job.id, job.attempts, error)
            delay = error.delay if isinstance(error, RetryLater) else None
            self._fail(job, f"{type(error).__name__}: {error}", delay=delay)
            return
        self._done(job)

    # -- handler jobs -------------------------------------------------------------------

    def _run_handler(self, job: Job) -> None:
        task_id = job.payload["task_id"]
        with self.engine.db.read() as session:
            task = session.get(ExternalTaskRow, task_id)
            instance = session.get(ProcessInstance, job.payload["instance_id"])
        handler = self.handlers.get(job.payload["topic"])
        if task is None or instance is None:
            self._done(job)  # the task was completed or cancelled meanwhile: nothing to do
            return
        if handler is None:
            self._fail(job, f"no handler is registered for topic '{job.payload['topic']}'")
            return
        call = HandlerCall(
            instance_id=instance.id,
            task_id=task_id,
            topic=task.topic,
            activity_id=task.activity_id,
            business_key=instance.business_key,
            # Local variables (input mappings, a multi-instance item) shadow process variables.
            variables={**instance.variables, **(task.local_variables or {})},
            local_variables=dict(task.local_variables or {}),
            attempt=job.attempts,
        )
        actor = f"handler:{task.topic}"
        try:
            result = handler(call)
            variables = check_variables(dict(result or {}))
        except HandlerBpmnError as raised:
            code, message, variables = raised.code, raised.message, raised.variables
            self._apply(
                job,
                lambda: throw_bpmn_error(
                    self.engine, task_id, code, message=message, variables=variables, actor=actor
                ),
            )
            return
        except Exception as error:
            log.warning("handler for topic %s failed (attempt %s): %s", task.topic, job.attempts, error)
            self._fail(job, f"{type(error).__name__}: {error}")
            return

        def act(context: StepContext) -> None:
            finish_task(context, find_open_task(context, task_id), variables)
            if not queue.finish(context.session, job.id, self.worker_id, now=context.now):
                raise Conflict("the job's lease was taken over by another worker")

        self._apply(job, lambda: self.engine.step(instance.id, act, actor=actor))

    def _apply(self, job: Job, apply: Callable[[], object]) -> None:
        # NotFound/Conflict: the task is gone meanwhile, or another worker won; nothing is left to do.
        with contextlib.suppress(NotFound, Conflict):
            apply()
        self._done(job)

    def _done(self, job: Job) -> None:
        with self.engine.db.write() as session:
            queue.finish(session, job.id, self.worker_id, now=utcnow())

    def _fail(self, job: Job, error: str, delay: timedelta | None = None) -> None:
        with self.engine.db.write() as session:
            status = queue.retry_or_bury(session, job, self.worker_id, error, now=utcnow(), delay=delay)
            if status != "dead" or "task_id" not in job.payload:
                return
            mark_incident(session, job.payload["task_id"], "handler failed after all retries", error)
            instance = session.get(ProcessInstance, job.payload["instance_id"])
            if instance is not None:
                append_event(
                    session,
                    instance,
                    "incident",
                    at=utcnow(),
                    task_id=job.payload["task_id"],
                    actor=f"handler:{job.payload.get('topic')}",
                    data={"reason": "handler_dead_lettered", "attempts": job.attempts},
                )
