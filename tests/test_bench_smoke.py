"""The benchmark suite runs end to end in a tiny configuration, so it cannot rot.

No timing is asserted: only that every part ran (or says why not), wrote its report, and
that the exactly-once checks it carries held.  On PostgreSQL the suite resets the schema
of the database it is given, so the test database is migrated again afterwards.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from orchestrator.store.db import Database
from orchestrator.store.migrate import upgrade

from .agency_fixtures import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import run

UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
SQLITE_PARTS = {"a_ceiling", "b_persisted_sqlite", "g_db_limit_sqlite"}
PG_PARTS = {"b_persisted_postgresql", "g_db_limit_postgresql", "c_http", "e_deadlines", "f_storage"}


def _restore_test_schema(url: str) -> None:
    """What the session fixture did: an empty, migrated ``public`` schema for the next tests."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    database = Database(url)
    upgrade(database)
    database.dispose()


@pytest.fixture
def bench_pg_url(database_url: str) -> Iterator[str]:
    """The test PostgreSQL database (reset afterwards), or an unreachable one for the SQLite run."""
    if database_url.startswith("sqlite"):
        yield UNREACHABLE
        return
    yield database_url
    _restore_test_schema(database_url)


def test_the_suite_runs_every_part_and_writes_its_report(bench_pg_url: str, tmp_path: Path) -> None:
    stem = run.main(["--tiny", "--out", str(tmp_path), "--pg-url", bench_pg_url, "--max-seconds", "240"])

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
    assert {row["procedure_name"] for row in http["throughput"]} == {"two-step", "land-transfer"}
    assert all(row["exactly_once"]["ok"] for row in http["throughput"]), http["throughput"]
    assert [row["open_tasks"] for row in http["fetch_and_lock"]] == [10, 100]
    assert all(row["fired_once"] for row in result["results"]["e_deadlines"])
    storage = result["results"]["f_storage"]
    assert storage["dossiers"] == 20 and storage["bytes_per_dossier"] > 0
    assert all(target["met"] is not None for target in result["summary"]["targets"])
