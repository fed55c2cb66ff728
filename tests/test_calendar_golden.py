"""Golden table of due instants, each checked by hand (the arithmetic is in the comment).

Default office hours: 07:30–11:30 (240 min) and 13:00–17:00 (240 min); 1wd = 480 working
minutes; cut-off 15:00.  Every case is a receipt (cut-off applies) unless marked ``handover``.
Each case runs twice: through ``BusinessCalendar.due_for_receipt`` and through the CLI
contract ``lienthong calendar due`` (stdout = the instant only).
Calendar facts used: DOMAIN.md "Calendar facts"; 2027 comes from the holidays seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import NamedTuple

import pytest

from orchestrator.calendar import VN_TZ, BusinessCalendar
from orchestrator.calendar.cli import register
from orchestrator.calendar.hours import parse_clock


class Case(NamedTuple):
    start: str  # receipt (or hand-over) instant, Vietnam time, "YYYY-MM-DD HH:MM[:SS]"
    duration: str
    expected: str  # due, Vietnam time, "YYYY-MM-DD HH:MM"
    why: str
    pauses: tuple[tuple[str, str], ...] = ()
    options: str = ""  # "handover" (no cut-off) or "cutoff=HH:MM" (the procedure's own)


GOLDEN = [
    # --- Tết 2025: Mon 27/1–Fri 31/1 off, weekends 25–26/1 and 1–2/2 -------------------
    Case("2025-01-24 10:00", "1wd", "2025-02-03 10:00", "Fri 330 min; Tết 27–31/1 + weekends; Mon 3/2 +150"),
    Case(
        "2025-01-24 15:30",
        "2wd",
        "2025-02-04 17:00",
        "after cut-off → first working day Mon 3/2 07:30; 2 days",
    ),
    Case(
        "2025-01-25 09:00", "1wd", "2025-02-03 17:00", "Saturday receipt → Mon 3/2 07:30 (Tết week skipped)"
    ),
    Case("2025-01-23 14:00", "3wd", "2025-02-04 14:00", "Thu 180 + Fri 480 + Mon 3/2 480 = 1140; Tue +300"),
    Case(
        "2025-01-24 09:00", "5d", "2025-02-03 17:00", "calendar days: last day 29/1 is Tết → close of Mon 3/2"
    ),
    # --- Tết 2026: Mon 16/2–Fri 20/2 off, weekends 14–15/2 and 21–22/2 -----------------
    Case(
        "2026-02-13 16:10",
        "3wd",
        "2026-02-25 17:00",
        "DOMAIN example: after cut-off → Mon 23/2 07:30; 3 days",
    ),
    Case(
        "2026-02-13 14:50", "0.5wd", "2026-02-23 09:20", "before cut-off: Fri 130 min; Mon 23/2 07:30 + 110"
    ),
    Case("2026-02-12 08:00", "2wd", "2026-02-23 08:00", "Thu 450 + Fri 480 = 930; Tết; Mon 23/2 +30"),
    Case("2026-02-18 10:00", "1wd", "2026-02-23 17:00", "received on mùng 2 Tết → Mon 23/2 07:30"),
    Case("2026-02-13 10:00", "3d", "2026-02-23 17:00", "last day 16/2 is Tết → next working day Mon 23/2"),
    Case(
        "2026-02-13 16:10",
        "4wh",
        "2026-02-23 10:40",
        "hand-over: no cut-off; Fri 50 min; Mon +190",
        options="handover",
    ),
    Case(
        "2026-02-13 16:10",
        "P3D",
        "2026-02-26 17:00",
        "P3D = 3d; counting starts Mon 23/2 → last day Thu 26/2",
    ),
    # --- swap days: Fri 2/1/2026 (↔ Sat 10/1), Mon 31/8/2026 (↔ Sat 22/8) ----------------
    Case("2026-01-02 09:00", "1wd", "2026-01-05 17:00", "received on the swap day 2/1 → Mon 5/1 07:30"),
    Case("2026-08-28 14:00", "1wd", "2026-09-03 14:00", "Fri 180; 31/8 swap, 1–2/9 Quốc khánh; Thu 3/9 +300"),
    Case(
        "2026-08-28 15:30",
        "0.5wd",
        "2026-09-03 11:30",
        "after cut-off → Thu 3/9 07:30; due on session end stays",
    ),
    Case("2026-08-27 09:00", "3d", "2026-09-03 17:00", "last day Sun 30/8; 31/8 swap, 1–2/9 off → Thu 3/9"),
    Case("2026-08-31 10:00", "4wh", "2026-09-03 11:30", "received on swap day 31/8 → Thu 3/9 07:30 + 240"),
    # --- make-up Saturdays: 4/5/2024, 26/4/2025, 10/1/2026, 22/8/2026 count as working --
    Case("2025-04-25 15:30", "1wd", "2025-04-26 17:00", "after cut-off → make-up Sat 26/4/2025 07:30"),
    Case(
        "2025-04-25 10:00", "2wd", "2025-04-28 10:00", "Fri 330 + make-up Sat 26/4 480 = 810; Mon 28/4 +150"
    ),
    Case("2025-04-29 10:00", "1wd", "2025-05-05 10:00", "Tue 330; 30/4, 1/5, 2/5 (swap) off, Sat 3/5 normal"),
    Case("2026-01-09 16:00", "1wd", "2026-01-10 17:00", "after cut-off → make-up Sat 10/1/2026"),
    Case("2026-01-10 10:00", "4wh", "2026-01-10 15:30", "received on make-up Sat 10/1: 90 + 150"),
    Case("2026-08-21 10:00", "1.5wd", "2026-08-22 15:30", "Fri 330; make-up Sat 22/8: 240 + 150"),
    Case(
        "2026-08-22 16:00", "1wd", "2026-08-24 17:00", "cut-off applies on a make-up Saturday too → Mon 24/8"
    ),
    Case("2024-05-03 15:01", "1wd", "2024-05-04 17:00", "after cut-off → make-up Sat 4/5/2024"),
    Case(
        "2024-04-26 10:00",
        "2wd",
        "2024-05-03 10:00",
        "Fri 330; 29/4 swap, 30/4, 1/5 off; Thu 2/5 480; Fri +150",
    ),
    # --- cut-off and office hours -----------------------------------------------------------
    Case("2026-03-10 15:00", "1wh", "2026-03-10 16:00", "15:00:00 is not after the cut-off"),
    Case("2026-03-10 15:00:30", "1wh", "2026-03-11 08:30", "15:00:30 is after the cut-off → Wed 07:30"),
    Case("2026-03-10 06:45", "1wh", "2026-03-10 08:30", "online before opening → 07:30 same day"),
    Case("2026-03-10 12:10", "1wh", "2026-03-10 14:00", "lunch break → 13:00 same day"),
    Case("2026-03-10 11:00", "1wh", "2026-03-10 13:30", "30 min before lunch + 30 after"),
    Case("2026-03-10 21:00", "1wd", "2026-03-11 17:00", "online at night → next working day 07:30"),
    Case(
        "2026-03-10 16:10",
        "1wh",
        "2026-03-11 07:40",
        "procedure cut-off 17:00: 50 min Tue + 10 Wed",
        options="cutoff=17:00",
    ),
    Case(
        "2026-03-10 14:59:59", "0.5wd", "2026-03-11 09:29", "seconds dropped: 14:59 → 121 min Tue; Wed +119"
    ),
    # --- weekends --------------------------------------------------------------------------
    Case("2026-03-06 10:00", "1wd", "2026-03-09 10:00", "Fri 330; weekend; Mon +150"),
    Case("2026-03-07 10:00", "1wh", "2026-03-09 08:30", "ordinary Saturday → Mon 07:30"),
    Case("2026-03-08 23:59", "2wd", "2026-03-10 17:00", "Sunday night → Mon 07:30; 2 days"),
    Case("2026-03-06 15:30", "1wd", "2026-03-09 17:00", "Friday after cut-off → Mon 07:30"),
    Case("2026-03-04 10:00", "2d", "2026-03-06 17:00", "Wed + 2 = Fri, a working day: its close"),
    Case("2026-03-05 10:00", "2d", "2026-03-09 17:00", "Thu + 2 = Sat → close of Mon"),
    Case("2026-03-05 10:00", "P2D", "2026-03-09 17:00", "ISO P2D = 2d"),
    # --- fractional days and hours -----------------------------------------------------
    Case("2026-03-09 07:30", "0.5wd", "2026-03-09 11:30", "240 min: ends at the morning session end"),
    Case("2026-03-09 13:00", "0.5wd", "2026-03-09 17:00", "ends at 17:00, not next morning"),
    Case("2026-03-09 07:30", "1wd", "2026-03-09 17:00", "a whole day from opening ends at the close"),
    Case("2026-03-09 10:00", "2.5wd", "2026-03-11 15:30", "1200 min: Mon 330 + Tue 480; Wed 240 + 150"),
    Case("2026-03-09 10:00", "0.25wd", "2026-03-09 13:30", "120 min: 90 before lunch + 30"),
    Case("2026-03-09 10:00", "PT4H", "2026-03-09 15:30", "PT4H = 4wh: 90 + 150"),
    Case("2026-03-09 10:00", "1.5wd", "2026-03-10 15:30", "720 min: Mon 330; Tue 240 + 150"),
    Case(
        "2026-03-09 11:30",
        "0.5wd",
        "2026-03-09 17:00",
        "hand-over at 11:30 counts from 13:00",
        options="handover",
    ),
    # --- pauses (supplement, financial obligation), also across holidays -------------------
    Case(
        "2026-02-09 08:00",
        "3wd",
        "2026-02-25 08:00",
        "1080 used by Wed 11/2 10:00; 360 left from Tue 24/2 10:00: 330 + Wed 30",
        pauses=(("2026-02-11 10:00", "2026-02-24 10:00"),),
    ),
    Case(
        "2025-01-22 09:00",
        "3wd",
        "2025-02-04 15:00",
        "used 390 + 480 + 300 = 1170 before Tết; 270 left from Tue 4/2 09:00",
        pauses=(("2025-01-24 14:00", "2025-02-04 09:00"),),
    ),
    Case(
        "2026-02-13 10:00",
        "1wd",
        "2026-02-23 10:00",
        "a pause over Tết and weekends holds no working time: due unchanged",
        pauses=(("2026-02-14 08:00", "2026-02-22 20:00"),),
    ),
    Case(
        "2026-03-02 08:00",
        "2wd",
        "2026-03-06 10:30",
        "two pauses: 120 + 330 + 90 used; 420 left from Thu 13:00: 240 + Fri 180",
        pauses=(("2026-03-02 10:00", "2026-03-03 10:00"), ("2026-03-04 09:00", "2026-03-05 13:00")),
    ),
    Case(
        "2026-03-02 08:00",
        "1wd",
        "2026-03-03 11:00",
        "overlapping pauses merge to 09:00–13:30: 60 + 210 used; Tue +210",
        pauses=(("2026-03-02 09:00", "2026-03-02 11:00"), ("2026-03-02 10:00", "2026-03-02 13:30")),
    ),
    Case(
        "2026-03-02 08:00",
        "1wh",
        "2026-03-02 09:00",
        "a pause after the due does not move it (already late)",
        pauses=(("2026-03-02 10:00", "2026-03-04 10:00"),),
    ),
    Case(
        "2026-04-20 08:00",
        "8wd",
        "2026-05-11 09:30",
        "land transfer, tax paid 23/4 16:00→5/5 08:00 over 30/4–1/5: 1830 used; 2010 left",
        pauses=(("2026-04-23 16:00", "2026-05-05 08:00"),),
    ),
    Case(
        "2026-03-02 10:00",
        "3d",
        "2026-03-11 17:00",
        "3d due Thu 5/3 17:00; paused Tue 10:00 with 1290 working min left; from Mon 9/3 10:00",
        pauses=(("2026-03-03 10:00", "2026-03-09 10:00"),),
    ),
    Case(
        "2026-02-13 16:10",
        "1wd",
        "2026-02-24 17:00",
        "pause during the cut-off night is clipped to counting start Mon 23/2 07:30; 1 day from Tue",
        pauses=(("2026-02-13 16:30", "2026-02-24 07:30"),),
    ),
    # --- other holidays: Giỗ Tổ, 30/4–1/5 ---------------------------------------------------
    Case("2026-04-24 10:00", "1wd", "2026-04-28 10:00", "Mon 27/4 compensates Giỗ Tổ on Sun 26/4"),
    Case("2026-04-29 10:00", "1wd", "2026-05-04 10:00", "30/4, 1/5 off, weekend → Mon 4/5 +150"),
    Case("2025-04-04 10:00", "1wd", "2025-04-08 10:00", "Giỗ Tổ Mon 7/4/2025"),
    Case("2026-04-17 10:00", "15d", "2026-05-04 17:00", "last day Sat 2/5 → Mon 4/5 close"),
    # --- year ends -----------------------------------------------------------------------
    Case("2024-12-31 14:00", "1wd", "2025-01-02 14:00", "Tue 180; 1/1/2025 off; Thu +300"),
    Case("2025-12-31 10:00", "1wd", "2026-01-05 10:00", "Wed 330; 1/1 holiday, 2/1 swap, weekend; Mon +150"),
    Case("2025-12-29 10:00", "3wd", "2026-01-05 10:00", "330 + 480 + 480 = 1290; Mon 5/1 +150"),
    Case("2025-12-30 10:00", "3d", "2026-01-05 17:00", "last day Fri 2/1/2026 is the swap day → Mon 5/1"),
    Case(
        "2026-12-31 16:00", "1wd", "2027-01-04 17:00", "after cut-off; 1/1/2027 off (holidays seed) → Mon 4/1"
    ),
    # --- pending 24/11/2026 and long calendar-day limits --------------------------------------
    Case("2026-11-23 10:00", "1wd", "2026-11-24 10:00", "24/11/2026 is pending: still a working day"),
    Case("2026-03-09 10:00", "20d", "2026-03-30 17:00", "construction permit: last day Sun 29/3 → Mon 30/3"),
    Case(
        "2026-02-10 10:00",
        "12d",
        "2026-02-23 17:00",
        "consultation: last day Sun 22/2 → Mon 23/2",
        options="handover",
    ),
]


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def _iso(text: str) -> str:
    return _at(text).isoformat(timespec="seconds")


@pytest.fixture(scope="module")
def calendar() -> BusinessCalendar:
    return BusinessCalendar.default()


def test_golden_table_is_large_and_unique() -> None:
    assert len(GOLDEN) >= 40
    assert len({(c.start, c.duration, c.pauses, c.options) for c in GOLDEN}) == len(GOLDEN)


@pytest.mark.parametrize("case", GOLDEN, ids=[f"{c.start}+{c.duration}" for c in GOLDEN])
def test_due(calendar: BusinessCalendar, case: Case) -> None:
    cutoff_at = parse_clock(case.options.split("=")[1]) if case.options.startswith("cutoff=") else None
    due = calendar.due_for_receipt(
        _at(case.start),
        case.duration,
        pauses=[(_at(a), _at(b)) for a, b in case.pauses],
        cutoff=case.options != "handover",
        cutoff_at=cutoff_at,
    )
    assert due.isoformat(timespec="seconds") == _iso(case.expected), case.why


@pytest.mark.parametrize("case", GOLDEN, ids=[f"{c.start}+{c.duration}" for c in GOLDEN])
def test_due_cli_contract(case: Case, capsys: pytest.CaptureFixture[str], no_database: None) -> None:
    argv = ["calendar", "due", "--start", _iso(case.start), "--duration", case.duration]
    argv += [arg for a, b in case.pauses for arg in ("--pause", f"{_iso(a)}/{_iso(b)}")]
    if case.options == "handover":
        argv.append("--no-cutoff")
    elif case.options.startswith("cutoff="):
        argv += ["--cutoff", case.options.split("=")[1]]
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    assert args.run(args) == 0
    assert capsys.readouterr().out == _iso(case.expected) + "\n", case.why


@pytest.fixture
def no_database(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The CLI must answer on a fresh clone: point it at a database file that does not exist."""
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
