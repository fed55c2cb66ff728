"""The dashboards' numbers, per agency (its legs) and per procedure (its dossiers).

Counted with the national indicator's rule (``deadlines.evaluation.classify``): finished
clocks by outcome, open ones judged at the end of the period (or now, if earlier).  Per
agency the unit is a leg handed to it (a step clock): that is what the agency answers for
in a liên thông chain.  Per procedure the unit is a dossier (its statutory clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..deadlines.evaluation import OnTimeReport, classify
from ..errors import InvalidInput
from ..store.db import Database
from ..store.models import Agency, Deadline, ProcessDefinition, ProcessInstance

GROUPS = ("agency", "procedure")
NO_AGENCY = "Chưa xác định cơ quan"


@dataclass(frozen=True)
class StatisticsRow:
    key: str  # agency code or process key ("" for clocks without an agency)
    label: str  # agency name or procedure name, for people
    received: int
    early: int
    on_time: int
    late: int
    open_within_time: int
    open_overdue: int
    paused: int


def dossier_statistics(
    db: Database,
    *,
    group_by: Literal["agency", "procedure"],
    start: datetime | None,
    end: datetime | None,
    now: datetime,
) -> list[StatisticsRow]:
    """One row per agency or procedure for clocks started in [start, end), sorted by key."""
    if group_by not in GROUPS:
        raise InvalidInput("group_by must be 'agency' or 'procedure'")
    if start is not None and end is not None and start >= end:
        raise InvalidInput("'from' must be before 'to'")
    judged_at = min(end, now) if end is not None else now
    reports: dict[str, OnTimeReport] = {}
    with db.read() as session:
        for key, row in session.execute(_clocks(group_by, start, end)):
            report = reports.setdefault(key or "", OnTimeReport())
            report.received += 1
            classify(report, row, judged_at)
        labels = _labels(session, group_by, set(reports))
    return [
        StatisticsRow(
            key=key,
            label=labels.get(key) or (key if key else NO_AGENCY),
            received=report.received,
            early=report.early,
            on_time=report.on_time,
            late=report.late,
            open_within_time=report.open_within_time,
            open_overdue=report.open_overdue,
            paused=report.paused,
        )
        for key, report in sorted(reports.items())
    ]


def _clocks(group_by: str, start: datetime | None, end: datetime | None) -> Select:
    if group_by == "agency":
        query = select(Deadline.agency, Deadline).where(Deadline.scope == "step")
        received = Deadline.started_at
    else:
        query = (
            select(ProcessInstance.process_key, Deadline)
            .join(ProcessInstance, ProcessInstance.id == Deadline.instance_id)
            .where(Deadline.scope == "dossier")
        )
        received = ProcessInstance.created_at
    if start is not None:
        query = query.where(received >= start)
    if end is not None:
        query = query.where(received < end)
    return query


def _labels(session: Session, group_by: str, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    if group_by == "agency":
        rows = session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(keys)))
        return {code: name for code, name in rows}
    newest = (
        select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("version"))
        .where(ProcessDefinition.key.in_(keys))
        .group_by(ProcessDefinition.key)
        .subquery()
    )
    rows = session.execute(
        select(ProcessDefinition.key, ProcessDefinition.name).join(
            newest, (newest.c.key == ProcessDefinition.key) & (newest.c.version == ProcessDefinition.version)
        )
    )
    return {key: name for key, name in rows if name}
