"""``lienthong calendar import | show | due`` through ``register(subparsers)``: output and exit codes."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from orchestrator.calendar.cli import register
from orchestrator.calendar.files import FIELDS
from orchestrator.calendar.models import CALENDAR_TABLES
from orchestrator.store.db import Database
from orchestrator.store.models import Base


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="lienthong")
    register(parser.add_subparsers(required=True))
    args = parser.parse_args(list(argv))
    return args.run(args)


@pytest.fixture
def absent_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "var" / "absent.db"
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def calendar_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'lienthong.db'}"
    db = Database(url)
    Base.metadata.create_all(db.engine, tables=CALENDAR_TABLES)
    db.dispose()
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", url)
    return url


def test_due_prints_only_the_instant(absent_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("calendar", "due", "--start", "2026-02-13T16:10+07:00", "--duration", "3wd") == 0
    captured = capsys.readouterr()
    assert captured.out == "2026-02-25T17:00:00+07:00\n"
    assert captured.err == ""
    assert not absent_db.exists() and not absent_db.parent.exists()  # a fresh clone stays clean


def test_due_accepts_other_offsets_and_local_time(
    absent_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("calendar", "due", "--start", "2026-02-13T09:10:00Z", "--duration", "3wd") == 0
    assert run("calendar", "due", "--start", "2026-02-13T16:10", "--duration", "P3D") == 0
    assert capsys.readouterr().out.splitlines() == ["2026-02-25T17:00:00+07:00", "2026-02-26T17:00:00+07:00"]


def test_due_with_pauses_and_no_cutoff(absent_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calendar", "due", "--start", "2026-02-09T08:00+07:00", "--duration", "3wd"]
    assert run(*argv, "--pause", "2026-02-11T10:00+07:00/2026-02-24T10:00+07:00") == 0
    assert (
        run("calendar", "due", "--start", "2026-02-13T16:10+07:00", "--duration", "4wh", "--no-cutoff") == 0
    )
    assert capsys.readouterr().out.splitlines() == ["2026-02-25T08:00:00+07:00", "2026-02-23T10:40:00+07:00"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--start", "13/02/2026 16:10", "--duration", "3wd"], "not an ISO 8601 date-time"),
        (["--start", "2026-02-13T16:10+07:00", "--duration", "3 tuần"], "unknown duration"),
        (["--start", "2026-02-13T16:10+07:00", "--duration", "3wm"], "unknown duration"),
        (
            [
                "--start",
                "2026-02-13T16:10+07:00",
                "--duration",
                "3wd",
                "--pause",
                "2026-02-20T10:00/2026-02-19T10:00",
            ],
            "ends before it starts",
        ),
        (
            ["--start", "2026-02-13T16:10+07:00", "--duration", "3wd", "--pause", "2026-02-20T10:00"],
            "START/END",
        ),
        (["--start", "2026-02-13T16:10+07:00", "--duration", "3wd", "--cutoff", "3pm"], "HH:MM"),
    ],
)
def test_due_bad_input_exits_2(
    absent_db: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert run("calendar", "due", *extra) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err


def test_due_while_paused_has_no_answer(absent_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        "calendar",
        "due",
        "--start",
        "2026-03-02T08:00+07:00",
        "--duration",
        "1wd",
        "--pause",
        "2026-03-02T10:00+07:00/",
    )
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert "360 working minutes left" in captured.err


def test_show_lists_the_year_in_vietnamese(absent_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("calendar", "show", "2026") == 0
    out = capsys.readouterr().out
    assert out.startswith("Lịch làm việc năm 2026 — toàn quốc\n")
    assert "Giờ làm việc: 07:30–11:30, 13:00–17:00; giờ chốt tiếp nhận 15:00" in out
    assert "02/01/2026  Thứ Sáu   Nghỉ hoán đổi" in out
    assert "10/01/2026  Thứ Bảy   Làm bù" in out
    assert "Ngày Văn hóa Việt Nam (chưa tính là ngày nghỉ)" in out
    assert "chờ xác nhận" in out
    assert out.rstrip().endswith("Số ngày làm việc trong năm: 250")


def test_show_2027_is_estimated(absent_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("calendar", "show", "2027") == 0
    out = capsys.readouterr().out
    assert "01/01/2027  Thứ Sáu   Nghỉ lễ, Tết" in out and "dự kiến" in out


def test_import_needs_the_tables(absent_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notice = tmp_path / "notice.csv"
    notice.write_text(",".join(FIELDS) + "\n", encoding="utf-8")
    assert run("calendar", "import", str(notice)) == 1
    assert "lienthong db upgrade" in capsys.readouterr().err


def test_import_then_show_and_due(
    calendar_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notice = tmp_path / "van-hoa-2026.yaml"
    notice.write_text(
        "- date: 2026-11-24\n  kind: holiday\n  scope: national\n  name: Ngày Văn hóa Việt Nam\n"
        "  source: Bộ luật Lao động sửa đổi\n  status: official\n",
        encoding="utf-8",
    )
    argv = ["calendar", "due", "--start", "2026-11-23T10:00+07:00", "--duration", "1wd"]
    assert run(*argv) == 0
    assert run("calendar", "import", str(notice)) == 0
    assert run("calendar", "import", str(notice)) == 0
    assert run(*argv) == 0
    assert run("calendar", "show", "2026") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "2026-11-24T10:00:00+07:00"
    assert lines[1] == (
        "Đã nhập van-hoa-2026.yaml: 0 mục mới, 1 mục thay thế, 0 mục không đổi, 0 mục thu hồi; "
        "đã chép dữ liệu gốc của năm 2026 vào cơ sở dữ liệu."
    )
    assert lines[2] == "Đã nhập van-hoa-2026.yaml: 0 mục mới, 0 mục thay thế, 1 mục không đổi, 0 mục thu hồi."
    assert lines[3] == "2026-11-25T10:00:00+07:00"  # 24/11 is now a day off
    assert "Nguồn: cơ sở dữ liệu (bảng calendar_day)" in lines
    assert "Số ngày làm việc trong năm: 249" in lines


def test_import_refuses_a_bad_file(
    calendar_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notice = tmp_path / "bad.csv"
    notice.write_text(",".join(FIELDS) + "\n2026-13-01,holiday,national,,X,Y,official\n", encoding="utf-8")
    assert run("calendar", "import", str(notice)) == 2
    assert f"{notice}:2: date '2026-13-01' is not YYYY-MM-DD" in capsys.readouterr().err
