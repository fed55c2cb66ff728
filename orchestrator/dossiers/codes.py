"""Dossier codes from a per-agency pattern and an atomic per-agency daily sequence.

Patterns take ``{agency}``, ``{yymmdd}``, ``{yyyymmdd}`` and ``{seq:N}`` (N digits, zero
padded); the default is ``{agency}-{yymmdd}-{seq:4}`` (e.g. ``UBND-XA-261122-0001``).  The
day is the Vietnam-time day of receipt.  The number is reserved by one
``INSERT .. ON CONFLICT DO UPDATE .. RETURNING`` in the receiving transaction, so two desks
never get the same number and a rolled-back receipt leaves no gap.

The lookup code printed on the receipt uses an alphabet without look-alikes (no 0/O, 1/I/L,
2/Z, 5/S, 8/B) and is compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..calendar import VN_TZ
from ..errors import InvalidInput, NotFound
from ..store.db import Database
from ..store.models import Agency
from .models import DossierSequence

DEFAULT_PATTERN = "{agency}-{yymmdd}-{seq:4}"
LOOKUP_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
LOOKUP_LENGTH = 4
MAX_CODE_LENGTH = 64

_PLACEHOLDER = re.compile(r"\{([a-z]+)(?::(\d+))?\}")
_DATE_PLACEHOLDERS = {"yymmdd", "yyyymmdd"}
_LITERAL = re.compile(r"[A-Za-z0-9.\-_/]*")


def check_pattern(pattern: str) -> str:
    """The pattern, or ``InvalidInput`` naming what is wrong with it."""
    names = [match.group(1) for match in _PLACEHOLDER.finditer(pattern)]
    unknown = sorted(set(names) - {"agency", "seq", *_DATE_PLACEHOLDERS})
    if unknown:
        raise InvalidInput(f"unknown placeholder(s) in the dossier code pattern: {', '.join(unknown)}")
    if names.count("seq") != 1:
        raise InvalidInput("the dossier code pattern needs exactly one {seq:N}")
    if not _DATE_PLACEHOLDERS & set(names):
        raise InvalidInput("the dossier code pattern needs {yymmdd} or {yyyymmdd}: the sequence resets daily")
    width = next(int(m.group(2) or 1) for m in _PLACEHOLDER.finditer(pattern) if m.group(1) == "seq")
    if not 1 <= width <= 9:
        raise InvalidInput("{seq:N} takes 1 to 9 digits")
    if not _LITERAL.fullmatch(_PLACEHOLDER.sub("", pattern)):
        raise InvalidInput("the dossier code pattern may hold only letters, digits and . - _ /")
    return pattern


def format_code(pattern: str, *, agency: str, day: dt.date, number: int) -> str:
    def replace(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        if name == "agency":
            return agency
        if name == "yymmdd":
            return day.strftime("%y%m%d")
        if name == "yyyymmdd":
            return day.strftime("%Y%m%d")
        return str(number).zfill(int(width or 1))

    code = _PLACEHOLDER.sub(replace, pattern)
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidInput(f"the dossier code would be longer than {MAX_CODE_LENGTH} characters")
    return code


def vietnam_day(instant: dt.datetime) -> dt.date:
    return instant.astimezone(VN_TZ).date()


def reserve_number(session: Session, agency: str, day: dt.date) -> int:
    """The next number of this agency on this day, reserved in the caller's transaction."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(DossierSequence).values(agency=agency, day=day, value=1)
    statement = insert.on_conflict_do_update(
        index_elements=["agency", "day"], set_={"value": DossierSequence.value + 1}
    ).returning(DossierSequence.value)
    return int(session.execute(statement).scalar_one())


def new_code(session: Session, agency: Agency, received_at: dt.datetime) -> str:
    day = vietnam_day(received_at)
    number = reserve_number(session, agency.code, day)
    pattern = agency.dossier_code_pattern or DEFAULT_PATTERN
    return format_code(pattern, agency=agency.code, day=day, number=number)


def set_code_pattern(db: Database, agency_code: str, pattern: str | None) -> str:
    """Give an agency its own pattern (None: back to the default); returns the pattern in force."""
    if pattern is not None:
        check_pattern(pattern)
        # A code too long for the column would only fail at a receipt: try the widest one now.
        format_code(pattern, agency=agency_code, day=dt.date(2000, 12, 31), number=999_999_999)
    with db.write() as session:
        agency = session.get(Agency, agency_code)
        if agency is None:
            raise NotFound(f"agency '{agency_code}' does not exist")
        agency.dossier_code_pattern = pattern
    return pattern or DEFAULT_PATTERN


def new_lookup_code() -> str:
    return "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))


def lookup_code_matches(expected: str, given: str) -> bool:
    """Constant-time comparison, case-insensitive (receipts are read aloud and retyped)."""
    return hmac.compare_digest(expected.encode(), given.strip().upper().encode())
