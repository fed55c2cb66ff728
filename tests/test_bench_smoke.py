"""The benchmark suite runs end to end in a tiny configuration, so it cannot rot.

No timing is asserted: only that every part ran (or says why not), wrote its report, and
that the exactly-once checks it carries held.  Each bench module runs once, with one API
process (the full run adds a second).  On PostgreSQL the suite reuses the fixture's migrated
database and only empties its tables between parts (``--keep-schema``): seconds, where a
schema reset and the migrations per part took most of a minute.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .agency_fixtures import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import run

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
SQLITE_PARTS = {"a_ceiling", "b_persisted_sqlite", "g_db_limit_sqlite"}
PG_PARTS = {"b_persisted_postgresql", "g_db_limit_postgresql", "c_http", "e_deadlines", "f_storage"}


def test_the_suite_runs_every_part_and_writes_its_report(database_url: str, tmp_path: Path) -> None:
    bench_pg_url = UNREACHABLE if database_url.startswith("sqlite") else database_url
    arguments = ["--tiny", "--keep-schema", "--out", str(tmp_path), "--pg-url", bench_pg_url]
    stem = run.main([*arguments, "--max-seconds", "120"])

    result = json.loads(stem.with_suffix(".json").read_text())
    markdown = stem.with_suffix(".md").read_text()
    machine = result["machine"]
    assert machine["cores"] and machine["python"] and machine["sqlite"] and machine["git_commit"]
    assert set(result["results"]) >= SQLITE_PARTS, result["skipped"]
    assert [row["tasks"] for row in result["results"]["a_ceiling"]] == [5]
    assert result["results"]["b_persisted_sqlite"][0]["steps"] == 10
    names = [target["name"] for target in result["summary"]["targets"]]
    assert any("fetchAndLock" in name for name in names) and any("bytes" in name for name in names)
    assert "## Targets" in markdown and "## Ratios" in markdown and "Camunda 7" in markdown
    if bench_pg_url == UNREACHABLE:
        assert machine["postgresql"] is None
        assert set(result["skipped"]) == PG_PARTS
        assert "PostgreSQL unreachable" in markdown
        return
    assert set(result["results"]) >= PG_PARTS, result["skipped"]
    http = result["results"]["c_http"]
    runs = {row["procedure_name"]: row for row in http["throughput"]}
    assert runs.keys() == {"two-step", "land-transfer"} and len(http["throughput"]) == 2
    assert all(row["exactly_once"]["ok"] for row in runs.values()), runs
    land = runs["land-transfer"]
    assert land["procedure"] == "chuyen-nhuong-dat"  # the real processes/land-transfer.bpmn
    assert land["exactly_once"]["completions"] == 2 * 8 and land["exactly_once"]["payments"] == 2
    assert land["payments"] == 2 and land["clients"] == 3  # one client process per agency
    assert [row["open_tasks"] for row in http["fetch_and_lock"]] == [10, 100]
    assert all(row["fired_once"] for row in result["results"]["e_deadlines"])
    storage = result["results"]["f_storage"]
    assert storage["dossiers"] == 20 and storage["bytes_per_dossier"] > 0
    assert all(target["met"] is not None for target in result["summary"]["targets"])
