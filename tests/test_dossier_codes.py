"""Dossier codes: per-agency patterns, Vietnam-time daily reset, no duplicate and no gap under concurrency."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from datetime import date

import pytest
import time_machine
from sqlalchemy import select

from orchestrator.dossiers import codes
from orchestrator.dossiers.models import Dossier
from orchestrator.errors import InvalidInput, NotFound
from orchestrator.store.db import Database

from .dossier_support import AGENCY, deploy_procedure, receive, vn

WORKERS, PER_WORKER = 4, 15


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("{agency}-{yymmdd}-{seq:4}", "UBND-XA-261122-0007"),
        ("000.00.53.H48-{yymmdd}-{seq:4}", "000.00.53.H48-261122-0007"),
        ("{agency}-{yyyymmdd}-{seq:7}", "UBND-XA-20261122-0000007"),
    ],
)
def test_patterns(pattern, expected):
    assert (
        codes.format_code(codes.check_pattern(pattern), agency=AGENCY, day=date(2026, 11, 22), number=7)
        == expected
    )


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("{agency}-{yymmdd}", "exactly one {seq:N}"),
        ("{agency}-{seq:4}", "yymmdd"),
        ("{agency}-{yymmdd}-{seq:4}-{seq:2}", "exactly one"),
        ("{agency}-{ddmmyy}-{seq:4}", "unknown placeholder"),
        ("{agency} {yymmdd}-{seq:4}", "only letters"),
        ("{agency}-{yymmdd}-{seq:12}", "1 to 9 digits"),
    ],
)
def test_bad_patterns_are_refused_with_the_reason(pattern, problem):
    with pytest.raises(InvalidInput, match=problem):
        codes.check_pattern(pattern)


def test_the_lookup_code_avoids_look_alikes_and_compares_in_constant_time():
    drawn = {codes.new_lookup_code() for _ in range(200)}
    assert all(len(code) == 4 and not set(code) & set("0O1IL2Z5S8B") for code in drawn)
    assert len(drawn) > 150
    assert codes.lookup_code_matches("AC3D", " ac3d ") and not codes.lookup_code_matches("AC3D", "AC3E")


def test_the_sequence_resets_each_vietnam_day_and_per_agency(engine):
    deploy_procedure(engine)
    with time_machine.travel(vn("2026-11-22T23:58"), tick=False):
        first = receive(engine)
        second = receive(engine)
        other = receive(engine, agency="UBND-XB")
    # 00:30 in Vietnam is still 21/11 17:30 UTC: the day is the Vietnam-time one.
    with time_machine.travel(vn("2026-11-23T00:30"), tick=False):
        next_day = receive(engine)
    assert [first.code, second.code] == ["UBND-XA-261122-0001", "UBND-XA-261122-0002"]
    assert other.code == "UBND-XB-261122-0001"
    assert next_day.code == "UBND-XA-261123-0001"


def test_an_agency_pattern_applies_to_its_next_receipt(engine):
    deploy_procedure(engine)
    assert codes.set_code_pattern(engine.db, AGENCY, "H48.{agency}-{yyyymmdd}-{seq:7}").startswith("H48")
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        assert receive(engine).code == "H48.UBND-XA-20261123-0000001"
    with pytest.raises(NotFound):
        codes.set_code_pattern(engine.db, "NOPE", None)
    with pytest.raises(InvalidInput, match="longer than"):
        codes.set_code_pattern(engine.db, AGENCY, "{agency}-" + "X" * 60 + "-{yymmdd}-{seq:4}")
    assert codes.set_code_pattern(engine.db, AGENCY, None) == codes.DEFAULT_PATTERN


def _reserve_many(url: str, start: threading.Barrier, results: multiprocessing.Queue) -> None:
    database = Database(url)
    numbers = []
    start.wait(timeout=60)  # every process is up before the first reservation: they really overlap
    for _ in range(PER_WORKER):
        with database.write() as session:
            numbers.append(codes.reserve_number(session, AGENCY, date(2026, 11, 23)))
    database.dispose()
    results.put(numbers)


def test_concurrent_processes_get_every_number_once_without_gaps(database_url):
    context = multiprocessing.get_context("spawn")
    results, start = context.Queue(), context.Barrier(WORKERS)
    workers = [
        context.Process(target=_reserve_many, args=(database_url, start, results)) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    numbers = [n for _ in workers for n in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(numbers) == list(range(1, WORKERS * PER_WORKER + 1))


def test_a_rolled_back_receipt_leaves_no_gap(engine):
    deploy_procedure(engine)
    with pytest.raises(RuntimeError), engine.db.write() as session:
        codes.reserve_number(session, AGENCY, date(2026, 11, 23))
        raise RuntimeError("the receipt failed after reserving")
    with engine.db.write() as session:
        assert codes.reserve_number(session, AGENCY, date(2026, 11, 23)) == 1


def test_set_code_pattern_from_the_command_line(runtime, tmp_path):
    deploy_procedure(runtime.engine)
    env = {"LIENTHONG_DATABASE_URL": runtime.settings.database_url, "PATH": "/usr/bin:/bin"}
    command = ["agency", "set-code-pattern", AGENCY, "{agency}-{yyyymmdd}-{seq:5}"]
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{AGENCY}: {{agency}}-{{yyyymmdd}}-{{seq:5}}"
    with time_machine.travel(vn("2026-11-23T09:00"), tick=False):
        code = receive(runtime.engine).code
    assert code == "UBND-XA-20261123-00001"
    with runtime.engine.db.read() as session:
        assert session.scalars(select(Dossier.code)).all() == [code]
