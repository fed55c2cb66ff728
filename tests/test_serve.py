"""``lienthong serve`` as a user runs it: a real process, real HTTP, the embedded worker and ticker."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from orchestrator.access import create_token
from orchestrator.store.db import Database

from .agency_fixtures import serve_process
from .bpmn_builder import chain, external, resource

ROOT = Path(__file__).resolve().parent.parent


def _call(url: str, body: dict | None = None, token: str | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def server(database_url, tmp_path):
    processes = tmp_path / "processes"
    processes.mkdir()
    body = "\n".join(
        [
            '<bpmn:startEvent id="s" />',
            external("notice", "lienthong-thong-bao-ket-qua"),
            external("desk", "mot-cua-tra-ket-qua"),
            '<bpmn:endEvent id="e" />',
            chain("s", "notice", "desk", "e"),
        ]
    )
    (processes / "tra-ket-qua.bpmn").write_bytes(resource(body, process_id="tra-ket-qua").content)
    # The server shares the database, so a token made here is one it accepts.
    database = Database(database_url)
    _, token = create_token(database, name="serve test desk", scopes=["desk"])
    database.dispose()
    env = {"LIENTHONG_HANDLER_MODULES": "handlers", "LIENTHONG_WORKER_POLL_SECONDS": "0.05"}
    with serve_process(database_url, tmp_path, worker=True, processes_dir=processes, env=env) as (base, _log):
        yield base, token


def test_serve_loads_processes_and_runs_handlers(server):
    """processes/ is deployed at start; the embedded worker runs the in-process handler by itself."""
    server, token = server
    assert _call(f"{server}/health") == {"status": "ok"}
    listed = _call(f"{server}/api/v1/process-definitions", token=token)["items"]
    assert [d["key"] for d in listed] == ["tra-ket-qua"]
    started = _call(
        f"{server}/api/v1/process-definitions/tra-ket-qua/start",
        {"businessKey": "HS-42", "variables": {"nguoiNopHoSo": "Trần Thị B"}},
        token=token,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        view = _call(f"{server}/api/v1/process-instances/{started['id']}", token=token)
        if [a["id"] for a in view["currentActivities"]] == ["desk"]:
            break
        time.sleep(0.1)
    assert [a["id"] for a in view["currentActivities"]] == ["desk"]
    assert "HS-42" in view["variables"]["thongBaoKetQua"]
    assert view["variables"]["thongBaoKetQua"].startswith("Kính gửi Trần Thị B")
