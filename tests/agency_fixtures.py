"""Test helpers for agencies and their tokens (importable by any test module).

- ``make_agency_token(runtime, "CA-XA")`` -> a bearer token of a worker of agency CA-XA
  (the agency is created on first use);
- ``admin_token(runtime)`` -> a bearer token with the admin scope (every agency);
- ``bearer(token)`` -> the ``Authorization`` header dict for the Flask test client;
- ``live_server(database_url, tmp_path)`` -> a context manager running
  ``python -m orchestrator.cli serve --no-worker`` on a free port, yielding its base URL;
- ``EngineRest(client, token)`` -> the Flask test client bound to a token, with ``fetch()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from orchestrator.access import add_agency, create_token
from orchestrator.errors import Conflict
from orchestrator.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent


def make_agency_token(runtime: Runtime, agency_code: str, scopes: Sequence[str] = ("worker",)) -> str:
    """A token for a client of ``agency_code`` with ``scopes``; the agency is added if missing."""
    with contextlib.suppress(Conflict):
        add_agency(runtime.db, agency_code, f"Agency {agency_code}")
    _, token = create_token(runtime.db, name=f"{agency_code} client", scopes=list(scopes), agency=agency_code)
    return token


def admin_token(runtime: Runtime) -> str:
    """A token with the admin scope, bound to no agency: it sees every agency."""
    _, token = create_token(runtime.db, name="admin", scopes=["admin"])
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_process(
    database_url: str,
    tmp_path: Path,
    *,
    worker: bool = False,
    processes_dir: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, Path]]:
    """``python -m orchestrator.cli serve`` on a free port: yields its base URL and its log file.

    Production mode (no demo tokens) and no handlers unless ``env`` says otherwise; with
    ``worker`` the embedded worker and ticker run too.
    """
    if processes_dir is None:
        processes_dir = tmp_path / "server-processes"
        processes_dir.mkdir(exist_ok=True)
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    environment = {
        **os.environ,
        "LIENTHONG_DATABASE_URL": database_url,
        "LIENTHONG_PROCESSES_DIR": str(processes_dir),
        "LIENTHONG_ENV": "production",
        "LIENTHONG_SECRET_KEY": "test-only-console-session-key",  # production requires one
        "LIENTHONG_HANDLER_MODULES": "",
        **(env or {}),
    }
    command = [sys.executable, "-m", "orchestrator.cli", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command if worker else [*command, "--no-worker"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process, log_path)
            yield base, log_path
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@contextlib.contextmanager
def live_server(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A real ``serve`` process (API only, production mode: no demo tokens) on ``database_url``."""
    with serve_process(database_url, tmp_path) as (base, _log):
        yield base


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if json.loads(response.read()) == {"status": "ok"}:
                    return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(log_path.read_text(errors="replace")) from None
            time.sleep(0.1)
    raise RuntimeError(f"the server did not start: {log_path.read_text(errors='replace')}")


class EngineRest:
    """A Flask test client bound to one token, speaking ``/engine-rest`` (responses unchecked)."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.headers = bearer(token)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/engine-rest{path}", query_string=params, headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(f"/engine-rest{path}", json=body, headers=self.headers)

    def put(self, path: str, body: Any = None) -> Any:
        return self.client.put(f"/engine-rest{path}", json=body, headers=self.headers)

    def fetch(
        self, *topics: str, worker: str = "w1", max_tasks: int = 10, **extra: Any
    ) -> list[dict[str, Any]]:
        """fetchAndLock (no long poll unless ``asyncResponseTimeout`` is passed); asserts a 200."""
        body = {
            "workerId": worker,
            "maxTasks": max_tasks,
            "topics": [{"topicName": t, "lockDuration": 60_000} for t in topics],
            **extra,
        }
        response = self.post("/external-task/fetchAndLock", body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()
