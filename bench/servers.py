"""Server and client processes for the HTTP measurements: gunicorn, ``lienthong worker``, and
camunda-external-task-client-python3 workers, each a real child process."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import requests
from common import ROOT

from orchestrator.access import add_agency, create_token
from orchestrator.bpmn.compiler import Resource
from orchestrator.store.db import Database
from orchestrator.store.migrate import upgrade

BIN = Path(sys.executable).parent
HTTP_TIMEOUT = 60.0
CLIENT_START_SECONDS = 60.0
_SECRET_KEY = secrets.token_hex(32)


class BenchAborted(RuntimeError):
    """A phase overran its bound or a component failed: the run stops with this message."""


@dataclass(frozen=True)
class Tokens:
    analyst: str
    desk: str
    workers: dict[str, str]  # agency -> worker token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(database_url: str, work_dir: Path) -> dict[str, str]:
    processes = work_dir / "no-processes"  # diagrams are deployed over HTTP, not from a folder
    processes.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "LIENTHONG_DATABASE_URL": database_url,
        "LIENTHONG_ENV": "production",  # no demo tokens
        "LIENTHONG_PROCESSES_DIR": str(processes),
        "LIENTHONG_SECRET_KEY": _SECRET_KEY,  # production mode requires one; shared by all processes
    }


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process for the duration of the block; SIGTERM, then SIGKILL after 15 s."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


def wait_until_healthy(base: str, processes: list[subprocess.Popen[bytes]], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise BenchAborted(f"a server process exited; see {log}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/health", timeout=2).json() == {"status": "ok"}:
                return
        time.sleep(0.2)
    raise BenchAborted(f"the server did not answer /health within 60 s; see {log}")


@contextlib.contextmanager
def production(database_url: str, work_dir: Path, api_processes: int, workers: int = 1) -> Iterator[str]:
    """``gunicorn -w N -k gthread`` plus ``workers`` x ``lienthong worker``; yields the base URL."""
    port, log = free_port(), work_dir / f"gunicorn-{api_processes}.log"
    env = server_env(database_url, work_dir)
    gunicorn = [
        str(BIN / "gunicorn"), "-w", str(api_processes), "-k", "gthread", "--threads", "8",
        "--keep-alive", "30", "--graceful-timeout", "1", "-b", f"127.0.0.1:{port}", "api:create_app()",
    ]  # fmt: skip
    with contextlib.ExitStack() as stack:
        children = [stack.enter_context(running(gunicorn, env, log))]
        for n in range(workers):
            worker_log = work_dir / f"worker-{n}.log"
            children.append(stack.enter_context(running([str(BIN / "lienthong"), "worker"], env, worker_log)))
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, children, log)
        yield base


def prepare_database(database_url: str, agencies: list[str]) -> Tokens:
    """The migrations (a no-op on a migrated schema), then the agencies and the tokens."""
    db = Database(database_url)
    try:
        upgrade(db)
        for agency in agencies:
            add_agency(db, agency, f"Cơ quan thử tải {agency}")
        return Tokens(
            analyst=create_token(db, name="bench analyst", scopes=["analyst"])[1],
            desk=create_token(db, name="bench desk", scopes=["desk"])[1],
            workers={
                agency: create_token(db, name=f"bench {agency}", scopes=["worker"], agency=agency)[1]
                for agency in agencies
            },
        )
    finally:
        db.dispose()


def deploy(base: str, tokens: Tokens, resource: Resource) -> None:
    """As Camunda Modeler deploys: ``POST /engine-rest/deployment/create``."""
    response = requests.post(
        f"{base}/engine-rest/deployment/create",
        headers={"Authorization": f"Bearer {tokens.analyst}"},
        data={"deployment-name": "bench", "deployment-source": "Camunda Modeler"},
        files={resource.name: (resource.name, resource.content, "application/octet-stream")},
        timeout=HTTP_TIMEOUT,
    )
    if response.status_code != 200:
        raise BenchAborted(f"deployment refused: {response.status_code} {response.text[:500]}")


def _client_main(
    base: str, token: str, worker_id: str, work: dict[str, dict[str, Any]], ready: EventType
) -> None:
    """One agency system's process: ``ExternalTaskWorker.subscribe`` to its topics until terminated;
    each task is completed with the variables ``work`` gives its topic."""
    logging.basicConfig(level=logging.WARNING)  # the client logs every poll at INFO
    from camunda.external_task.external_task import ExternalTask, TaskResult
    from camunda.external_task.external_task_worker import ExternalTaskWorker

    config = {
        "auth_bearer": {"access_token": token},
        "maxTasks": 1,  # the client's default
        "lockDuration": 60_000,
        "asyncResponseTimeout": 10_000,
        "sleepSeconds": 1,
    }

    def action(task: ExternalTask) -> TaskResult:
        return task.complete(dict(work[task.get_topic_name()]))

    worker = ExternalTaskWorker(worker_id=worker_id, base_url=f"{base}/engine-rest", config=config)
    ready.set()  # imported and configured: its first poll follows at once
    worker.subscribe(list(work), action)


@contextlib.contextmanager
def agency_clients(
    base: str, tokens: Tokens, work: dict[str, dict[str, dict[str, Any]]], per_agency: int
) -> Iterator[None]:
    """``per_agency`` client processes per agency, each subscribed to all its agency's topics;
    the block starts once every one of them is about to poll."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    ready = [(agency, n, context.Event()) for agency in work for n in range(per_agency)]
    clients = [
        context.Process(
            target=_client_main,
            args=(base, tokens.workers[agency], f"{agency}-{n}", work[agency], event),
            name=f"client-{agency}-{n}",
            daemon=True,
        )
        for agency, n, event in ready
    ]
    for client in clients:
        client.start()
    try:
        for agency, n, event in ready:
            if not event.wait(CLIENT_START_SECONDS):
                raise BenchAborted(f"client {agency}-{n} not started in {CLIENT_START_SECONDS:g} s")
        yield
    finally:
        for client in clients:
            client.terminate()
        for client in clients:
            client.join(10)
