"""Early / on time / late, per step (the control sheet) and per dossier (the national indicator).

Indicator 2.1 of Quyết định 766/QĐ-TTg: a dossier is on time when the end of processing
minus the applicant's time is no later than the appointment (our ``due_at`` already moves
by the working time paused); more than one supplement request makes it late; open dossiers
are judged at the end of the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import select

from ..store.db import Database
from ..store.models import Deadline, ProcessInstance


@dataclass
class OnTimeReport:
    received: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    open_within_time: int = 0
    open_overdue: int = 0
    paused: int = 0

    @property
    def finished(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def on_time_rate(self) -> float | None:
        """(early + on time) / judged; open overdue dossiers count as late at the period's end."""
        judged = self.finished + self.open_overdue
        return None if judged == 0 else round((self.early + self.on_time) / judged, 4)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "finished": self.finished, "onTimeRate": self.on_time_rate}


def on_time_report(
    db: Database,
    *,
    start: dt.datetime,
    end: dt.datetime,
    agency: str | None = None,
    procedure: str | None = None,
) -> OnTimeReport:
    """Dossiers received in [start, end), judged as of ``end``."""
    query = (
        select(Deadline)
        .join(ProcessInstance, ProcessInstance.id == Deadline.instance_id)
        .where(
            Deadline.scope == "dossier", ProcessInstance.created_at >= start, ProcessInstance.created_at < end
        )
    )
    if agency:
        query = query.where(Deadline.agency == agency)
    if procedure:
        query = query.where(ProcessInstance.process_key == procedure)
    report = OnTimeReport()
    with db.read() as session:
        for row in session.scalars(query):
            report.received += 1
            classify(report, row, end)
    return report


def classify(report: OnTimeReport, row: Deadline, end: dt.datetime) -> None:
    """Count one clock into ``report`` as judged at ``end`` (also the admin statistics' rule)."""
    if row.finished_at is not None and row.finished_at <= end:
        setattr(report, row.outcome or "late", getattr(report, row.outcome or "late") + 1)
    elif row.state == "paused":
        report.paused += 1
    elif row.supplement_count > 1 or (row.due_at is not None and row.due_at < end):
        report.open_overdue += 1
    else:
        report.open_within_time += 1


def control_sheet(db: Database, instance_id: str) -> list[Deadline]:
    """Every clock of one dossier, the dossier's first, then the legs in hand-over order."""
    with db.read() as session:
        return list(
            session.scalars(
                select(Deadline)
                .where(Deadline.instance_id == instance_id)
                .order_by(Deadline.scope != "dossier", Deadline.started_at, Deadline.id)
            )
        )
