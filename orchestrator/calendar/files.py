"""Reading a government notice as a file: CSV or YAML, every row checked, errors located by line.

CSV: a header ``date,kind,scope,scope_code,name,source,status`` then one entry per row.
YAML: a list of mappings with the same keys.  A file is taken whole or refused whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from .days import CalendarEntry, DayKind, Scope, Status

FIELDS = ("date", "kind", "scope", "scope_code", "name", "source", "status")
REQUIRED = ("date", "kind", "name", "source", "status")
E = TypeVar("E", DayKind, Scope, Status)


class CalendarFileError(ValueError):
    """A file that cannot be imported; ``problems`` are ``(line, message)`` pairs."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}:{line}: {message}" for line, message in problems))


def read_entries(path: str | Path) -> list[CalendarEntry]:
    """Parse a CSV (``.csv``) or YAML (``.yaml``/``.yml``) file into entries, or raise CalendarFileError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM is what spreadsheet exports add
    except (OSError, UnicodeDecodeError) as error:
        raise CalendarFileError(str(path), [(0, f"cannot read the file: {error}")]) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return parse_csv(text, str(path))
    if suffix in {".yaml", ".yml"}:
        return parse_yaml(text, str(path))
    raise CalendarFileError(str(path), [(0, "unknown file type: use .csv, .yaml or .yml")])


def parse_csv(text: str, name: str = "<csv>") -> list[CalendarEntry]:
    """Rows of a CSV text; line numbers count the header as line 1."""
    reader = csv.DictReader(io.StringIO(text))
    header = [field.strip() for field in reader.fieldnames or []]
    problems = _header_problems(header)
    if problems:
        raise CalendarFileError(name, [(1, p) for p in problems])
    reader.fieldnames = header
    rows = ((reader.line_num, row) for row in reader)
    return _entries(name, ((line, row) for line, row in rows if any((v or "").strip() for v in row.values())))


def parse_yaml(text: str, name: str = "<yaml>") -> list[CalendarEntry]:
    """Items of a YAML list; each item's line is where its mapping starts."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - depends on the installation
        raise CalendarFileError(name, [(0, "YAML needs the PyYAML package (pip install PyYAML)")]) from None
    try:
        # Composed once for line numbers, loaded once for values: the files are a few dozen rows.
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise CalendarFileError(name, [((mark.line + 1) if mark else 0, f"invalid YAML: {error}")]) from None
    if data is None:
        return []
    if not isinstance(data, list) or node is None:
        raise CalendarFileError(name, [(1, "expected a list of entries (- date: ...)")])
    lines = [item.start_mark.line + 1 for item in node.value]
    problems: list[tuple[int, str]] = []
    rows: list[tuple[int, Mapping[str, Any]]] = []
    for line, item in zip(lines, data, strict=True):
        if not isinstance(item, dict):
            problems.append((line, "expected a mapping with keys " + ", ".join(FIELDS)))
            continue
        unknown = sorted(str(k) for k in item if k not in FIELDS)
        if unknown:
            problems.append((line, f"unknown key(s): {', '.join(unknown)}"))
            continue
        rows.append((line, item))
    if problems:
        raise CalendarFileError(name, problems)
    return _entries(name, rows)


def _header_problems(header: list[str]) -> list[str]:
    problems = []
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)} (header: {','.join(FIELDS)})")
    return problems


def _entries(name: str, rows: Iterable[tuple[int, Mapping[str, Any]]]) -> list[CalendarEntry]:
    entries: list[CalendarEntry] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[dt.date, Scope, str | None], int] = {}
    for line, row in rows:
        try:
            entry = entry_from_mapping(row)
        except ValueError as error:
            problems.append((line, str(error)))
            continue
        if entry.key in seen:
            problems.append(
                (line, f"{entry.date.isoformat()} {entry.scope} repeated (first on line {seen[entry.key]})")
            )
            continue
        seen[entry.key] = line
        entries.append(entry)
    if problems:
        raise CalendarFileError(name, problems)
    return entries


def entry_from_mapping(row: Mapping[str, Any]) -> CalendarEntry:
    """Validate one row; the message names the field at fault."""

    def text(field: str) -> str:
        value = row.get(field)
        return "" if value is None else str(value).strip()

    for field in REQUIRED:
        if not text(field):
            raise ValueError(f"{field} is empty")
    raw_date = row["date"]
    if isinstance(raw_date, dt.date) and not isinstance(raw_date, dt.datetime):
        date = raw_date  # YAML reads 2026-11-24 as a date already
    else:
        try:
            date = dt.date.fromisoformat(text("date"))
        except ValueError:
            raise ValueError(f"date {text('date')!r} is not YYYY-MM-DD") from None
    kind = _choice(DayKind, "kind", text("kind"))
    scope = _choice(Scope, "scope", text("scope") or Scope.NATIONAL.value)
    status = _choice(Status, "status", text("status"))
    scope_code = text("scope_code") or None
    if scope is Scope.NATIONAL and scope_code:
        raise ValueError(f"scope_code {scope_code!r} given for a national entry")
    if scope is not Scope.NATIONAL and not scope_code:
        raise ValueError(f"scope_code is required for a {scope} entry (the {scope} code)")
    if kind is DayKind.LOCAL_DAY_OFF and scope is Scope.NATIONAL:
        raise ValueError("local_day_off needs scope province or agency")
    return CalendarEntry(date, kind, scope, scope_code, text("name"), text("source"), status)


def _choice(enum: type[E], field: str, value: str) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValueError(f"{field} {value!r} is not one of: {allowed}") from None


def write_csv(entries: Iterable[CalendarEntry]) -> str:
    """The CSV form of entries (what ``read_entries`` reads back)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for e in entries:
        writer.writerow([e.date.isoformat(), e.kind, e.scope, e.scope_code or "", e.name, e.source, e.status])
    return out.getvalue()
