"""Calendar storage: CSV/YAML import, validation by line, versioning, loading the calendar."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.calendar import CalendarFileError, OfficeHours, Scope, Status, read_entries
from orchestrator.calendar.files import FIELDS, write_csv
from orchestrator.calendar.models import CALENDAR_TABLES
from orchestrator.calendar.seed import shipped_entries
from orchestrator.calendar.store import (
    calendar_tables_exist,
    entries_for_year,
    history,
    import_entries,
    import_file,
    load_calendar,
    save_office_hours,
)
from orchestrator.store.db import Database
from orchestrator.store.models import Base

HEADER = ",".join(FIELDS)
CULTURE_DAY = dt.date(2026, 11, 24)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'calendar.db'}")
    Base.metadata.create_all(database.engine, tables=CALENDAR_TABLES)
    yield database
    database.dispose()


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CONFIRM_CSV = f"""{HEADER}
2026-11-24,holiday,national,,Ngày Văn hóa Việt Nam,Bộ luật Lao động (sửa đổi) — thông báo xác nhận,official
"""


# -- files ---------------------------------------------------------------------------------


def test_shipped_csv_reads_back_identically() -> None:
    from orchestrator.calendar.files import parse_csv

    assert tuple(parse_csv(write_csv(shipped_entries()))) == shipped_entries()


def test_yaml_and_csv_give_the_same_entries(tmp_path: Path) -> None:
    yaml_text = """\
- date: 2027-02-04
  kind: holiday
  scope: national
  name: Tết Nguyên đán Đinh Mùi
  source: Thông báo thử nghiệm
  status: official
- date: "2027-02-13"
  kind: makeup_working_day
  scope: province
  scope_code: H48
  name: Làm bù
  source: Quyết định của UBND tỉnh
  status: estimated
"""
    csv_text = f"""{HEADER}
2027-02-04,holiday,national,,Tết Nguyên đán Đinh Mùi,Thông báo thử nghiệm,official
2027-02-13,makeup_working_day,province,H48,Làm bù,Quyết định của UBND tỉnh,estimated
"""
    from_yaml = read_entries(write(tmp_path, "notice.yaml", yaml_text))
    from_csv = read_entries(write(tmp_path, "notice.csv", csv_text))
    assert from_yaml == from_csv
    assert from_csv[1].scope is Scope.PROVINCE and from_csv[1].scope_code == "H48"


def test_bad_csv_rows_are_refused_with_their_line(tmp_path: Path) -> None:
    text = f"""{HEADER}
2027-01-01,holiday,national,,Tết Dương lịch,Bộ luật Lao động,official
2027-02-30,holiday,national,,Ngày sai,Nguồn,official
2027-02-04,holliday,national,,Tết,Nguồn,official

2027-02-05,holiday,province,,Tết,Nguồn,official
2027-02-06,holiday,national,,Tết,Nguồn,sure
2027-02-07,holiday,national,,,Nguồn,official
2027-01-01,swap_day_off,national,,Lặp,Nguồn,official
"""
    with pytest.raises(CalendarFileError) as raised:
        read_entries(write(tmp_path, "bad.csv", text))
    problems = dict(raised.value.problems)
    assert sorted(problems) == [3, 4, 6, 7, 8, 9]
    assert "2027-02-30" in problems[3] and "YYYY-MM-DD" in problems[3]
    assert "kind 'holliday' is not one of" in problems[4]
    assert "scope_code is required" in problems[6]
    assert "status 'sure'" in problems[7]
    assert "name is empty" in problems[8]
    assert "repeated (first on line 2)" in problems[9]
    assert str(raised.value).splitlines()[0].startswith(f"{tmp_path / 'bad.csv'}:3: ")


def test_bad_csv_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match=r":1: unknown column\(s\): ngay"):
        read_entries(write(tmp_path, "bad.csv", "ngay,kind,name,source,status\n"))


def test_bad_yaml_items_are_refused_with_their_line(tmp_path: Path) -> None:
    text = """\
- date: 2027-01-01
  kind: holiday
  name: Tết Dương lịch
  source: Bộ luật Lao động
  status: official
- date: 2027-01-02
  kind: holiday
  name: Thừa khoá
  source: Nguồn
  status: official
  colour: red
- just a string
- date: 2027-01-03
  kind: local_day_off
  name: Ngày nghỉ địa phương
  source: Nguồn
  status: official
"""
    with pytest.raises(CalendarFileError) as raised:
        read_entries(write(tmp_path, "bad.yaml", text))
    assert [line for line, _ in raised.value.problems] == [6, 12]
    assert "unknown key(s): colour" in raised.value.problems[0][1]
    # Structural problems are reported first; row values are checked once the shape is right.
    fixed = text.replace("  colour: red\n", "").replace("- just a string\n", "")
    with pytest.raises(CalendarFileError) as raised:
        read_entries(write(tmp_path, "bad.yaml", fixed))
    assert raised.value.problems == [(11, "local_day_off needs scope province or agency")]


def test_unparseable_yaml_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match="invalid YAML"):
        read_entries(write(tmp_path, "bad.yaml", "- date: [2027\n"))
    with pytest.raises(CalendarFileError, match="unknown file type"):
        read_entries(write(tmp_path, "notice.txt", ""))


# -- import and versions ----------------------------------------------------------------------


def test_empty_table_uses_the_seed(db: Database) -> None:
    assert calendar_tables_exist(db)
    entries, from_table = entries_for_year(db, 2026)
    assert not from_table and tuple(entries) == tuple(e for e in shipped_entries() if e.date.year == 2026)
    calendar = load_calendar(db)
    assert not calendar.is_working_day(dt.date(2026, 1, 2))
    assert calendar.is_working_day(CULTURE_DAY)


def test_confirming_the_pending_day_makes_it_a_day_off(db: Database, tmp_path: Path) -> None:
    assert load_calendar(db).is_working_day(CULTURE_DAY)
    report = import_file(db, write(tmp_path, "nd-2026.csv", CONFIRM_CSV))
    assert (report.added, report.replaced, report.unchanged, report.seeded_years) == (0, 1, 0, (2026,))
    calendar = load_calendar(db)
    assert not calendar.is_working_day(CULTURE_DAY)
    # The rest of 2026 was copied from the shipped data, not lost.
    assert not calendar.is_working_day(dt.date(2026, 2, 17))
    assert calendar.is_working_day(dt.date(2026, 8, 22))
    entries, from_table = entries_for_year(db, 2026)
    assert from_table and len(entries) == sum(1 for e in shipped_entries() if e.date.year == 2026)
    versions = history(db, CULTURE_DAY)
    assert [(r.version, r.status, r.active) for r in versions] == [
        (1, "pending", False),
        (2, "official", True),
    ]
    assert versions[0].replaced_by_id == versions[1].id
    assert versions[0].origin == "seed: vn-2024-2026.csv" and versions[1].origin == "nd-2026.csv"


def test_reimport_is_idempotent(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "nd-2026.csv", CONFIRM_CSV)
    import_file(db, path)
    report = import_file(db, path)
    assert (report.added, report.replaced, report.unchanged, report.seeded_years) == (0, 0, 1, ())
    assert len(history(db, CULTURE_DAY)) == 2


def test_a_changed_entry_gets_a_new_version_and_keeps_history(db: Database, tmp_path: Path) -> None:
    import_file(db, write(tmp_path, "a.csv", CONFIRM_CSV))
    back_to_pending = CONFIRM_CSV.replace(",official", ",pending")
    report = import_file(db, write(tmp_path, "b.csv", back_to_pending))
    assert report.replaced == 1
    assert [(r.version, r.status, r.active) for r in history(db, CULTURE_DAY)] == [
        (1, "pending", False),
        (2, "official", False),
        (3, "pending", True),
    ]
    assert load_calendar(db).is_working_day(CULTURE_DAY)


def test_scopes_are_versioned_separately(db: Database, tmp_path: Path) -> None:
    local = f"{HEADER}\n2026-11-24,local_day_off,agency,HCC-HN,Nghỉ nội bộ,Quyết định của giám đốc,official\n"
    report = import_file(db, write(tmp_path, "local.csv", local))
    assert report.added == 1
    assert [r.version for r in history(db, CULTURE_DAY, Scope.AGENCY, "HCC-HN")] == [1]
    assert [r.active for r in history(db, CULTURE_DAY)] == [True]  # the national pending row is untouched
    calendar = load_calendar(db)
    assert not calendar.is_working_day(CULTURE_DAY, "HCC-HN")
    assert calendar.is_working_day(CULTURE_DAY)


def test_replace_retires_what_the_notice_omits(db: Database, tmp_path: Path) -> None:
    first = f"""{HEADER}
2027-02-04,holiday,national,,Tết,Thông báo lần 1,official
2027-02-05,holiday,national,,Tết,Thông báo lần 1,official
"""
    report = import_file(db, write(tmp_path, "2027.csv", first))
    assert report.seeded_years == (2027,)  # the holidays estimate was copied first
    assert report.replaced == 2  # the estimates for 4/2 and 5/2
    corrected = f"{HEADER}\n2027-02-05,holiday,national,,Tết,Thông báo lần 2,official\n"
    report = import_file(db, write(tmp_path, "2027-fix.csv", corrected), replace=True)
    assert report.replaced == 1 and report.retired > 1  # 4/2 and every estimate of 2027
    entries, _ = entries_for_year(db, 2027)
    assert [(e.date, e.source, e.status) for e in entries] == [
        (dt.date(2027, 2, 5), "Thông báo lần 2", Status.OFFICIAL)
    ]
    calendar = load_calendar(db)
    assert calendar.is_working_day(dt.date(2027, 2, 4)) and calendar.is_working_day(dt.date(2027, 1, 1))
    assert [r.active for r in history(db, dt.date(2027, 2, 4))] == [False, False]
    # Other years keep their seed.
    assert not calendar.is_working_day(dt.date(2028, 1, 3))


def test_a_refused_file_writes_nothing(db: Database, tmp_path: Path) -> None:
    bad = CONFIRM_CSV + "2026-11-25,holiday,national,,X,Y,maybe\n"
    with pytest.raises(CalendarFileError, match=":3: status 'maybe'"):
        import_file(db, write(tmp_path, "bad.csv", bad))
    assert entries_for_year(db, 2026)[1] is False


def test_import_entries_directly(db: Database) -> None:
    entries = [e for e in shipped_entries() if e.date.year == 2025]
    report = import_entries(db, entries, origin="test")
    assert report.seeded_years == (2025,) and report.unchanged == len(entries)


def test_office_hours_and_province_from_the_table(db: Database, tmp_path: Path) -> None:
    save_office_hours(db, None, OfficeHours.from_strings([["07:00", "11:00"], ["13:30", "17:30"]], "16:00"))
    save_office_hours(
        db, "UBND-XA", OfficeHours.from_strings([["08:00", "12:00"]], "11:00"), province_code="H48"
    )
    save_office_hours(
        db, "UBND-XA", OfficeHours.from_strings([["08:00", "12:00"]], "10:00"), province_code="H48"
    )
    local = (
        f"{HEADER}\n"
        "2026-03-10,local_day_off,province,H48,Ngày giải phóng tỉnh,Quyết định UBND tỉnh,official\n"
    )
    import_file(db, write(tmp_path, "h48.csv", local))
    calendar = load_calendar(db)
    assert calendar.office_hours().cutoff == dt.time(16)
    assert calendar.office_hours("UBND-XA").cutoff == dt.time(10)
    assert calendar.office_hours("ANY").opening == dt.time(7)
    assert calendar.province_of("UBND-XA") == "H48"
    assert not calendar.is_working_day(dt.date(2026, 3, 10), "UBND-XA")
    assert calendar.is_working_day(dt.date(2026, 3, 10))
