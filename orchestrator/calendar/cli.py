"""``lienthong calendar import | show | due``.

``due`` is a contract used by outside checks: it prints only the due instant
(``2026-02-25T17:00:00+07:00``) and works without a database (shipped data + holidays seed).
Exit codes: 0 ok, 1 no answer (missing tables, clock paused), 2 bad input.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from orchestrator.config import Settings
from orchestrator.store.db import Database

from .calendar import BusinessCalendar, ClockPaused, Pause
from .days import WEEKDAY_LABELS, CalendarEntry, Scope
from .duration import parse_duration
from .files import CalendarFileError
from .hours import VN_TZ, parse_clock
from .store import calendar_tables_exist, entries_for_year, import_file, load_calendar


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``calendar`` command to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    calendar = subparsers.add_parser(
        "calendar", help="business calendar: import notices, show a year, compute a due"
    )
    commands = calendar.add_subparsers(required=True, metavar="ACTION")

    importer = commands.add_parser("import", help="load a government notice (CSV or YAML) into the database")
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--replace",
        action="store_true",
        help="the file is the complete list for its years and scopes: retire entries it omits",
    )
    importer.set_defaults(run=run_import)

    show = commands.add_parser("show", help="list a year's days off and make-up days")
    show.add_argument("year", type=int)
    show.add_argument("--agency", help="include this agency's (and its province's) own entries")
    show.set_defaults(run=run_show)

    due = commands.add_parser("due", help="print the due instant (ISO 8601, +07:00)")
    due.add_argument("--start", required=True, help="receipt instant, e.g. 2026-02-13T16:10+07:00")
    due.add_argument("--duration", required=True, help="3wd, 0.5wd, 4wh, 3d, P3D, PT4H")
    due.add_argument("--agency", help="agency code (its office hours and local days)")
    due.add_argument(
        "--pause",
        action="append",
        default=[],
        metavar="START/END",
        help="a paused interval (repeatable); END empty = still paused",
    )
    due.add_argument(
        "--no-cutoff", action="store_true", help="a hand-over inside processing: no 15:00 cut-off"
    )
    due.add_argument("--cutoff", help="the procedure's cut-off HH:MM instead of the agency's")
    due.set_defaults(run=run_due)
    return calendar


# -- handlers ----------------------------------------------------------------------------


def run_due(args: argparse.Namespace) -> int:
    """Print only the due instant; bad input → stderr, exit 2."""
    try:
        start = parse_instant(args.start)
        duration = parse_duration(args.duration)
        pauses = [parse_pause(text) for text in args.pause]
        cutoff_at = parse_clock(args.cutoff) if args.cutoff else None
        for begin, end in pauses:
            if end is not None and end < begin:
                raise ValueError(f"pause {begin.isoformat()}/{end.isoformat()} ends before it starts")
    except ValueError as error:
        return _fail(str(error), 2)
    calendar = _calendar()
    try:
        due = calendar.due_for_receipt(
            start,
            duration,
            agency=args.agency,
            pauses=pauses,
            cutoff=not args.no_cutoff,
            cutoff_at=cutoff_at,
        )
    except ClockPaused as paused:
        return _fail(f"no due while paused: {paused}", 1)
    print(due.isoformat(timespec="seconds"))
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Import a notice into the configured database."""
    db = _database()
    if db is None or not calendar_tables_exist(db):
        return _fail("the calendar tables do not exist: run `lienthong db upgrade` first", 1)
    try:
        report = import_file(db, args.file, replace=args.replace)
    except CalendarFileError as error:
        return _fail(str(error), 2)
    finally:
        db.dispose()
    seeded = ", ".join(str(y) for y in report.seeded_years)
    print(
        f"Đã nhập {args.file.name}: {report.added} mục mới, {report.replaced} mục thay thế, "
        f"{report.unchanged} mục không đổi, {report.retired} mục thu hồi"
        + (f"; đã chép dữ liệu gốc của năm {seeded} vào cơ sở dữ liệu" if seeded else "")
        + "."
    )
    return 0


def run_show(args: argparse.Namespace) -> int:
    """List a year in Vietnamese: entries with their basis, office hours, working-day count."""
    db = _database()
    try:
        calendar = load_calendar(db)
        entries, from_table = entries_for_year(db, args.year)
    finally:
        if db is not None:
            db.dispose()
    province = calendar.province_of(args.agency)
    shown = [e for e in entries if _applies(e, args.agency, province)]
    hours = calendar.office_hours(args.agency)
    where = f"cơ quan {args.agency}" if args.agency else "toàn quốc"
    print(f"Lịch làm việc năm {args.year} — {where}")
    print(
        "Nguồn: "
        + (
            "cơ sở dữ liệu (bảng calendar_day)"
            if from_table
            else "dữ liệu kèm phần mềm (chưa nhập vào cơ sở dữ liệu)"
        )
    )
    sessions = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in hours.sessions)
    print(f"Giờ làm việc: {sessions}; giờ chốt tiếp nhận {hours.cutoff:%H:%M}")
    print()
    print(f"{'Ngày':<10}  {'Thứ':<8}  {'Loại':<25}  {'Trạng thái':<12}  {'Phạm vi':<12}  Tên")
    for entry in shown:
        # A pending entry is listed so operators see it, but it changes nothing yet.
        note = "" if entry.is_effective else " (chưa tính là ngày nghỉ)"
        scope = entry.scope.label + (f" {entry.scope_code}" if entry.scope_code else "")
        print(
            f"{entry.date:%d/%m/%Y}  {WEEKDAY_LABELS[entry.date.weekday()]:<8}  {entry.kind.label:<25}  "
            f"{entry.status.label:<12}  {scope:<12}  {entry.name}{note}"
        )
        print(f"{'':12}Căn cứ: {entry.source}")
    if not shown:
        print("(không có ngày nghỉ hay ngày làm bù nào)")
    days = [dt.date(args.year, 1, 1) + dt.timedelta(days=i) for i in range(366)]
    working = sum(1 for d in days if d.year == args.year and calendar.is_working_day(d, args.agency))
    print()
    print(f"Số ngày làm việc trong năm: {working}")
    return 0


# -- parsing -----------------------------------------------------------------------------


def parse_instant(text: str) -> dt.datetime:
    """ISO 8601 instant; without an offset it is Vietnam local time."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r} (e.g. 2026-02-13T16:10+07:00)") from None
    return value.replace(tzinfo=VN_TZ) if value.tzinfo is None else value


def parse_pause(text: str) -> Pause:
    """``START/END`` (ISO 8601 interval); ``START/`` is a pause not yet resumed."""
    start, separator, end = text.partition("/")
    if not separator:
        raise ValueError(f"pause {text!r} is not START/END")
    return parse_instant(start), parse_instant(end) if end.strip() else None


# -- internals ---------------------------------------------------------------------------


def _calendar() -> BusinessCalendar:
    db = _database()
    try:
        return load_calendar(db)
    finally:
        if db is not None:
            db.dispose()


def _database() -> Database | None:
    """The configured database, or None when it does not exist yet (never creates a file)."""
    url = Settings.from_env().database_url
    try:
        parsed = make_url(url)
    except ArgumentError:
        print(
            "warning: LIENTHONG_DATABASE_URL is not a database URL; using the shipped calendar",
            file=sys.stderr,
        )
        return None
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            return None
    db = Database(url)
    try:
        calendar_tables_exist(db)  # connects: an unreachable server shows here, not mid-command
    except SQLAlchemyError as error:
        db.dispose()
        print(
            f"warning: database unavailable ({type(error).__name__}); using the shipped calendar",
            file=sys.stderr,
        )
        return None
    return db


def _applies(entry: CalendarEntry, agency: str | None, province: str | None) -> bool:
    if entry.scope is Scope.NATIONAL:
        return True
    if entry.scope is Scope.AGENCY:
        return agency is not None and entry.scope_code == agency
    return province is not None and entry.scope_code == province


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code
