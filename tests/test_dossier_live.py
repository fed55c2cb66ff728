"""End to end: a real ``lienthong serve`` with its embedded worker receives a dossier and syncs it."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path
from typing import Any

from .agency_fixtures import make_agency_token, serve_process
from .fake_portal import fake_portal

DIAGRAM = Path(__file__).resolve().parent.parent / "processes" / "birth-registration.bpmn"


def _call(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_served_dossier_reaches_the_portal(runtime, tmp_path):
    processes = tmp_path / "processes"
    processes.mkdir()
    shutil.copy(DIAGRAM, processes)
    token = make_agency_token(runtime, "UBND-XA", scopes=("desk",))
    with fake_portal(fail_first=1) as portal:
        env = {"LIENTHONG_PORTAL_URL": portal.url, "LIENTHONG_PORTAL_TOKEN": "tok"}
        with serve_process(
            runtime.settings.database_url, tmp_path, worker=True, processes_dir=processes, env=env
        ) as (base, _log):
            receipt = _call(
                base,
                token,
                "POST",
                "/dossiers",
                {
                    "procedure": "lien-thong-khai-sinh",
                    "agency": "UBND-XA",
                    "channel": "in_person",
                    "applicant": {"name": "Nguyễn Thị Lan"},
                },
            )
            code = receipt["code"]
            _call(base, token, "POST", f"/dossiers/{code}/withdraw", {"reason": "Công dân rút"})
            deadline = time.monotonic() + 60  # the first POST fails: the retry waits its backoff
            while portal.statuses(code) != [2, 7] and time.monotonic() < deadline:
                time.sleep(0.2)
            sync = _call(base, token, "GET", f"/dossiers/{code}/portal-sync")
    assert portal.statuses(code) == [2, 7]
    assert (sync["lastSentStatus"], sync["pending"]) == (7, 0)
    assert set(portal.authorizations) == {"Bearer tok"}
