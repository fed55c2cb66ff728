"""``lienthong demo``: the scenario, the agencies it needs, and a bounded run against a live server.

The live run files 12 dossiers at a real ``serve`` (embedded worker and ticker, the diagrams
of ``processes/``) and runs the simulated agencies for a few seconds, faster than the
command does (``pace``); then everything is checked through the API, as a newcomer would
look: dossiers of every procedure, some finished, one waiting for its applicant, the paper
dossier entered late is overdue, the failing agency's tasks are incidents with 0 retries.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import urllib.request
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.config import Settings
from orchestrator.demo.runner import DemoOptions, run_demo
from orchestrator.demo.scenario import PROCEDURES, build, decide
from orchestrator.demo.topics import Step, steps_of
from orchestrator.dev_tokens import DEMO_AGENCIES
from orchestrator.store.db import Database

from .agency_fixtures import ROOT, free_port, serve_process

PROCESSES = ROOT / "processes"
NOW = dt.datetime(2026, 3, 9, 2, 0, tzinfo=dt.UTC)


# -- the scenario ---------------------------------------------------------------------------------


def test_the_scenario_spreads_dossiers_with_one_late_one_refused_and_waiting_applicants():
    keys = [procedure.key for procedure in PROCEDURES]
    plans = build(36, random.Random(1), keys, NOW)

    assert len(plans) == 36 and {plan.procedure for plan in plans} == set(keys)
    assert len({plan.channel for plan in plans}) >= 2
    assert all(set(plan.applicant) <= {"name", "address", "email"} for plan in plans)  # no ID numbers
    late = [plan for plan in plans if plan.late]
    assert len(late) == 1 and "receivedAt" not in plans[1].variables
    received = dt.datetime.fromisoformat(late[0].variables["receivedAt"])
    assert received.tzinfo is not None and NOW - received > dt.timedelta(days=29)
    assert late[0].procedure == "lien-thong-khai-tu" and late[0].variables["thuocDienBaoTro"] is True
    assert [plan.procedure for plan in plans if plan.variables.get("giayToGia")] == ["chuyen-nhuong-dat"]
    lacking = [plan for plan in plans if plan.variables.get("thieuGiayTo")]
    assert len(lacking) >= 3 and [plan.supplements for plan in lacking].count(False) == 1
    assert [plan.pays for plan in plans if plan.procedure == "chuyen-nhuong-dat"].count(False) == 1
    assert build(36, random.Random(1), keys, NOW) == plans  # a seed files the same dossiers
    assert build(5, random.Random(1), ["lien-thong-khai-sinh"], NOW)[0].late


def test_officials_accept_ask_once_for_a_missing_paper_and_refuse_a_forged_one():
    land = Step("chuyen-nhuong-dat", "dat-dai-tham-dinh", "VPDK-CN", frozenset({"TU_CHOI"}))
    birth = Step("lien-thong-khai-sinh", "ho-tich-kiem-tra", "UBND-XA", frozenset())
    business = Step("dang-ky-doanh-nghiep", "dkkd-kiem-tra", "PDKKD", frozenset({"TU_CHOI"}))

    forged = decide(land, {"giayToGia": True})
    assert (forged.kind, forged.error_code, forged.variables) == (
        "bpmn_error",
        "TU_CHOI",
        {"ketQuaThamDinh": "khong-hop-le"},
    )
    assert decide(birth, {"giayToGia": True}).variables == {"ketQuaKiemTra": "khong-hop-le"}
    assert decide(birth, {"thieuGiayTo": True}).variables == {"ketQuaKiemTra": "bo-sung"}
    assert decide(business, {"thieuGiayTo": True}).variables == {"ketQuaKiemTra": "sua-doi"}
    assert decide(birth, {"thieuGiayTo": True, "daBoSung": True}).variables == {"ketQuaKiemTra": "hop-le"}
    other = Step("chuyen-nhuong-dat", "thue-xac-dinh-nghia-vu", "THUE", frozenset())
    assert decide(other, {}).variables["thueThuNhapCaNhan"] == 40_000_000


def test_every_agency_of_the_diagrams_has_a_demo_agency_and_token():
    steps = [
        step for path in sorted(PROCESSES.glob("*.bpmn")) for step in steps_of(path.stem, path.read_bytes())
    ]
    assert {step.process_key for step in steps} == {path.stem for path in PROCESSES.glob("*.bpmn")}
    assert [step.topic for step in steps if step.agency is None] == []  # else: lienthong agency map-topic
    assert {step.agency for step in steps} <= set(DEMO_AGENCIES)


# -- the command ------------------------------------------------------------------------------------


def test_the_demo_refuses_production_and_says_to_start_the_server_first(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", f"sqlite:///{tmp_path}/demo.db")
    monkeypatch.setenv("LIENTHONG_ENV", "production")
    assert main(["demo", "--duration", "1"]) == 1
    assert "development mode only" in capsys.readouterr().err

    monkeypatch.setenv("LIENTHONG_ENV", "development")
    assert main(["demo", "--url", f"http://127.0.0.1:{free_port()}", "--duration", "1"]) == 1
    error = capsys.readouterr().err
    assert "chạy `make run` trước" in error and "run `make run` first" in error
    assert not (tmp_path / "var").exists()  # nothing was created for a server that is not there


@pytest.mark.slow
def test_a_bounded_demo_leaves_live_finished_waiting_late_and_failed_dossiers(database_url, tmp_path):
    env = {"LIENTHONG_HANDLER_MODULES": "handlers", "LIENTHONG_WORKER_POLL_SECONDS": "0.2"}
    with serve_process(database_url, tmp_path, worker=True, processes_dir=PROCESSES, env=env) as (base, log):
        db = Database(database_url)
        out = io.StringIO()
        try:
            summary = run_demo(
                DemoOptions(url=base, dossiers=12, duration=12, seed=3, pace=0.1),
                db,
                Settings(database_url=database_url),
                tokens_path=tmp_path / "demo-tokens.json",
                out=out,
            )
        finally:
            db.dispose()
        admin = json.loads((tmp_path / "demo-tokens.json").read_text())["admin"]

        def get(path: str) -> Any:
            request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {admin}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        dossiers = get("/api/v1/dossiers?limit=200")["items"]
        assert len(dossiers) == 12, log.read_text()
        assert {d["processKey"] for d in dossiers} == {procedure.key for procedure in PROCEDURES}
        states = [d["state"] for d in dossiers]
        # The desk's return step hands most results over (10); the others wait at 9 or earlier.
        assert "returned" in states and "supplement_requested" in states, (states, out.getvalue())

        # The paper dossier entered a month late keeps its day of receipt, so its appointment has passed.
        now = dt.datetime.now(dt.UTC)
        late = [d for d in dossiers if dt.datetime.fromisoformat(d["appointmentAt"]) < now]
        assert len(late) == 1, dossiers
        late_dossier = get(f"/api/v1/dossiers/{late[0]['code']}")
        clock = get(f"/api/v1/process-instances/{late_dossier['instanceId']}/deadlines")["items"][0]
        assert (clock["scope"], clock["state"]) == ("dossier", "overdue"), clock

        incidents = get("/engine-rest/external-task?noRetriesLeft=true")
        assert incidents and {(t["topicName"], t["retries"]) for t in incidents} == {
            ("bao-tro-ho-tro-mai-tang", 0)
        }
        assert late[0]["code"] in {t["businessKey"] for t in incidents}
        stuck = get("/api/v1/admin/stuck")
        assert {"incident", "dossier_overdue"} <= {item["kind"] for item in stuck}

        def variables(code: str) -> dict[str, Any]:
            return get(f"/api/v1/process-instances/{get(f'/api/v1/dossiers/{code}')['instanceId']}")[
                "variables"
            ]

        land = [variables(d["code"]) for d in dossiers if d["processKey"] == "chuyen-nhuong-dat"]
        refused = [v for v in land if v.get("giayToGia")]
        assert [v.get("ketQuaThamDinh") for v in refused] == ["khong-hop-le"]

    assert summary.filed == 12 and summary.late == 1 and summary.with_incident >= 1
    assert summary.ended + summary.in_progress + summary.waiting == 12
    assert f"/tra-cuu?ma={late[0]['code']}&khoa=" in out.getvalue()
