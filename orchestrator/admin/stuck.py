"""Which open dossiers are stuck, where, since when and why: the admin's first question.

Each kind is one query over the projections (external tasks, deadlines, jobs, instances),
never a scan of serialized workflows.  A dossier may appear under several kinds (a task
dead-lettered by its handler is also an incident): each says something different to do.
Only running dossiers count; a suspended one is stopped on purpose and is not "stuck".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from sqlalchemy import Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from ..calendar import CalendarError
from ..engine import Engine
from ..errors import InvalidInput
from ..services.lock_expiry import expired_lock
from ..store.models import Deadline, Event, ExternalTaskRow, Job, ProcessInstance

STUCK_KINDS = (
    "not_fetched",
    "lock_expired",
    "incident",
    "step_overdue",
    "dossier_overdue",
    "paused_too_long",
    "message_waiting",
    "job_dead_lettered",
)
SORTS = ("-age", "age", "agency", "kind", "process")
DEAD_JOBS_SCANNED = 2000  # dead jobs are kept for audit; the newest are the ones that matter

# Plain sentences for officials: what is wrong and who must act, never a dossier's data.
REASONS = {
    "not_fetched": "Hệ thống của cơ quan chưa nhận bước này quá thời gian cho phép; "
    "cần kiểm tra kết nối của cơ quan.",
    "not_fetched_no_agency": "Bước này chưa được giao cho cơ quan nào (chủ đề chưa gắn với cơ quan), "
    "nên không hệ thống nào nhận xử lý.",
    "lock_expired": "Hệ thống của cơ quan đã nhận bước này nhưng không hoàn thành trước khi hết "
    "thời hạn khóa; bước sẽ được giao lại.",
    "step_overdue": "Bước này đã quá thời hạn giải quyết của cơ quan.",
    "dossier_overdue": "Hồ sơ đã quá hạn trả kết quả cho người dân.",
    "paused_supplement": "Hồ sơ chờ người dân bổ sung quá thời gian cho phép.",
    "paused_financial_obligation": "Hồ sơ chờ người dân thực hiện nghĩa vụ tài chính quá thời gian cho phép.",
    "message_waiting": "Hồ sơ chờ một thông báo từ hệ thống khác quá lâu mà chưa nhận được.",
    "job_dead_lettered": "Tác vụ tự động của hồ sơ đã thất bại sau mọi lần thử và đã dừng.",
}
INCIDENT_REASONS = {
    "retries_exhausted": "Hệ thống của cơ quan báo lỗi và đã hết số lần thử lại; "
    "cần quản trị viên cho chạy lại.",
    "retries_set_to_zero": "Số lần thử lại của bước này đã bị đặt về 0; bước đang chờ quản trị viên.",
    "handler_dead_lettered": "Xử lý tự động của bước này lỗi sau mọi lần thử; cần kiểm tra rồi cho chạy lại.",
    "uncaught_bpmn_error": "Cơ quan báo lỗi nghiệp vụ mà quy trình không có nhánh xử lý; "
    "cần quản trị viên quyết định.",
    "lock_expired": "Khóa xử lý của bước này hết hạn quá nhiều lần; đã ngừng giao lại để tránh lặp vô hạn.",
    "timer_step_failed": "Bộ hẹn giờ của hồ sơ không chạy tiếp được; cần quản trị viên xem xét.",
}
DEFAULT_INCIDENT_REASON = "Bước này gặp sự cố và đã dừng; cần quản trị viên xem xét."


@dataclass(frozen=True)
class StuckItem:
    """One reason one dossier is stuck: where (agency, step), since when, and why in plain words."""

    kind: str
    instance_id: str
    process_key: str
    business_key: str | None
    agency: str | None
    activity_id: str | None
    activity_name: str | None
    task_id: str | None
    since: datetime
    age_seconds: float
    reason: str  # plain Vietnamese sentence for officials, no variable values
    deadline_id: int | None = None  # for overdue kinds: what "extend" acts on
    job_id: int | None = None  # for a dead-lettered job


@dataclass(frozen=True)
class StuckFilter:
    """Narrow the stuck list; empty ``kinds`` means every kind."""

    kinds: tuple[str, ...] = ()
    agency: str | None = None
    process_key: str | None = None
    instance_id: str | None = None  # one dossier's reasons (its console page)
    sort: str = "-age"  # -age (oldest first) | age | agency | kind | process

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(STUCK_KINDS))
        if unknown:
            raise InvalidInput(f"unknown stuck kind: {', '.join(unknown)}; known: {', '.join(STUCK_KINDS)}")
        if self.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(SORTS)}")


@dataclass(frozen=True)
class _Scan:
    """What every collector needs: the engine (settings, calendar, specs), the instant and the filter."""

    engine: Engine
    session: Session
    now: datetime
    filter: StuckFilter

    def item(self, kind: str, instance: Any, since: datetime, reason: str, **where: Any) -> StuckItem:
        return StuckItem(
            kind=kind,
            # A task row carries its dossier's id as instance_id (its own id is the task's).
            instance_id=getattr(instance, "instance_id", None) or instance.id,
            process_key=instance.process_key,
            business_key=instance.business_key,
            agency=where.pop("agency", None),
            activity_id=where.pop("activity_id", None),
            activity_name=where.pop("activity_name", None),
            task_id=where.pop("task_id", None),
            since=since,
            age_seconds=max(0.0, (self.now - since).total_seconds()),
            reason=reason,
            **where,
        )


def find_stuck(
    engine: Engine, *, now: datetime, filter: StuckFilter = StuckFilter(), limit: int = 500
) -> list[StuckItem]:
    """Every stuck reason of every running dossier matching ``filter``, sorted, at most ``limit``."""
    if limit < 1:
        raise InvalidInput("limit must be at least 1")
    items: list[StuckItem] = []
    with engine.db.read() as session:
        scan = _Scan(engine, session, now, filter)
        for kind in filter.kinds or STUCK_KINDS:
            items.extend(_COLLECTORS[kind](scan))
    if filter.agency is not None:
        items = [item for item in items if item.agency == filter.agency]
    if filter.process_key is not None:
        items = [item for item in items if item.process_key == filter.process_key]
    if filter.instance_id is not None:
        items = [item for item in items if item.instance_id == filter.instance_id]
    return sorted(items, key=_SORT_KEYS[filter.sort])[:limit]


_SORT_KEYS: dict[str, Callable[[StuckItem], Any]] = {
    "-age": lambda item: (-item.age_seconds, item.instance_id),
    "age": lambda item: (item.age_seconds, item.instance_id),
    "agency": lambda item: (item.agency is None, item.agency or "", -item.age_seconds),
    "kind": lambda item: (STUCK_KINDS.index(item.kind), -item.age_seconds),
    "process": lambda item: (item.process_key, -item.age_seconds),
}


# -- external tasks ----------------------------------------------------------------------


def _open_agency_tasks(scan: _Scan) -> Select[tuple[ExternalTaskRow]]:
    query = (
        select(ExternalTaskRow)
        .join(ProcessInstance, ProcessInstance.id == ExternalTaskRow.instance_id)
        .where(ProcessInstance.status == "running", ExternalTaskRow.suspended == false())
    )
    if scan.filter.agency is not None:
        query = query.where(ExternalTaskRow.agency == scan.filter.agency)
    if scan.filter.process_key is not None:
        query = query.where(ExternalTaskRow.process_key == scan.filter.process_key)
    if scan.filter.instance_id is not None:
        query = query.where(ExternalTaskRow.instance_id == scan.filter.instance_id)
    return query


def _task_item(scan: _Scan, kind: str, row: ExternalTaskRow, since: datetime, reason: str) -> StuckItem:
    return scan.item(
        kind,
        row,
        since,
        reason,
        agency=row.agency,
        activity_id=row.activity_id,
        activity_name=row.activity_name,
        task_id=row.id,
    )


def _not_fetched(scan: _Scan) -> Iterator[StuckItem]:
    waited = scan.now - timedelta(seconds=scan.engine.settings.stuck_not_fetched_after_seconds)
    query = _open_agency_tasks(scan).where(
        ExternalTaskRow.handled_in_process == false(),
        ExternalTaskRow.incident == false(),
        ExternalTaskRow.lock_owner.is_(None),
        ExternalTaskRow.created_at <= waited,
    )
    for row in scan.session.scalars(query):
        reason = REASONS["not_fetched" if row.agency else "not_fetched_no_agency"]
        yield _task_item(scan, "not_fetched", row, row.created_at, reason)


def _lock_expired(scan: _Scan) -> Iterator[StuckItem]:
    expired_now = and_(expired_lock(), ExternalTaskRow.lock_expires_at <= scan.now)
    query = _open_agency_tasks(scan).where(
        ExternalTaskRow.handled_in_process == false(),
        ExternalTaskRow.incident == false(),
        or_(expired_now, ExternalTaskRow.lock_expiries > 0),
    )
    for row in scan.session.scalars(query):
        lock_ended = row.lock_expires_at is not None and row.lock_expires_at <= scan.now
        since = row.lock_expires_at if lock_ended and row.lock_expires_at else row.created_at
        yield _task_item(scan, "lock_expired", row, since, REASONS["lock_expired"])


def _incident(scan: _Scan) -> Iterator[StuckItem]:
    rows = list(scan.session.scalars(_open_agency_tasks(scan).where(ExternalTaskRow.incident == true())))
    parked = _instances_parked_by_timer(scan)
    raised = _incident_events(scan.session, {row.instance_id for row in rows} | {i.id for i in parked})
    for row in rows:
        at, cause = raised.get((row.instance_id, row.id), (row.created_at, None))
        yield _task_item(scan, "incident", row, at, _incident_reason(cause))
    for instance in parked:
        at, cause = raised.get((instance.id, None), (instance.updated_at, "timer_step_failed"))
        yield scan.item("incident", instance, at, _incident_reason(cause))


def _incident_reason(cause: str | None) -> str:
    return INCIDENT_REASONS.get(cause or "", DEFAULT_INCIDENT_REASON)


def _instances_parked_by_timer(scan: _Scan) -> list[ProcessInstance]:
    """Running dossiers whose timer step failed: the ticker stopped them and said why."""
    if scan.filter.agency is not None:
        return []  # such an incident belongs to no agency
    query = select(ProcessInstance).where(
        ProcessInstance.status == "running", ProcessInstance.error_message.is_not(None)
    )
    if scan.filter.process_key is not None:
        query = query.where(ProcessInstance.process_key == scan.filter.process_key)
    return list(scan.session.scalars(query))


def _incident_events(
    session: Session, instance_ids: set[str]
) -> dict[tuple[str, str | None], tuple[datetime, str | None]]:
    """When each task's (or instance's) latest incident was raised, and its recorded cause."""
    if not instance_ids:
        return {}
    found: dict[tuple[str, str | None], tuple[datetime, str | None]] = {}
    query = (
        select(Event.instance_id, Event.task_id, Event.at, Event.data)
        .where(Event.instance_id.in_(instance_ids), Event.type == "incident")
        .order_by(Event.id)
    )
    for instance_id, task_id, at, data in session.execute(query):
        found[(instance_id, task_id)] = (at, (data or {}).get("reason"))
    return found


# -- deadlines ---------------------------------------------------------------------------


def _open_deadlines(scan: _Scan, scope: str) -> Select[tuple[Deadline, ProcessInstance]]:
    query = (
        select(Deadline, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == Deadline.instance_id)
        .where(ProcessInstance.status == "running", Deadline.scope == scope)
    )
    if scan.filter.process_key is not None:
        query = query.where(ProcessInstance.process_key == scan.filter.process_key)
    if scan.filter.instance_id is not None:
        query = query.where(Deadline.instance_id == scan.filter.instance_id)
    return query


def _overdue(scan: _Scan, scope: str, kind: str) -> Iterator[StuckItem]:
    # Also clocks the sweep has not escalated yet: the console must not lag the ticker.
    query = _open_deadlines(scan, scope).where(
        Deadline.state.in_(("running", "warned", "overdue")), Deadline.due_at <= scan.now
    )
    for deadline, instance in scan.session.execute(query):
        yield scan.item(
            kind,
            instance,
            deadline.due_at,
            REASONS[kind],
            agency=deadline.agency,
            activity_id=deadline.activity_id,
            activity_name=deadline.activity_name,
            task_id=deadline.task_id,
            deadline_id=deadline.id,
        )


def _step_overdue(scan: _Scan) -> Iterator[StuckItem]:
    return _overdue(scan, "step", "step_overdue")


def _dossier_overdue(scan: _Scan) -> Iterator[StuckItem]:
    return _overdue(scan, "dossier", "dossier_overdue")


def _paused_too_long(scan: _Scan) -> Iterator[StuckItem]:
    """Waiting for the applicant longer than the supplement window, in working days."""
    calendar = scan.engine.calendars.get()
    window = scan.engine.settings.supplement_window
    query = _open_deadlines(scan, "dossier").where(Deadline.state == "paused")
    for deadline, instance in scan.session.execute(query):
        if not deadline.pauses or deadline.pauses[-1][1] is not None:
            continue
        started, _end, pause_reason = deadline.pauses[-1]
        since = datetime.fromisoformat(started)
        try:
            limit = calendar.add(since, window, agency=deadline.agency)
        except (CalendarError, ValueError):
            continue  # a calendar without working days ahead cannot say: the overdue kinds will
        if limit <= scan.now:
            reason = REASONS.get(f"paused_{pause_reason}", REASONS["paused_supplement"])
            yield scan.item(
                "paused_too_long", instance, since, reason, agency=deadline.agency, deadline_id=deadline.id
            )


# -- messages and jobs -------------------------------------------------------------------


def _message_waiting(scan: _Scan) -> Iterator[StuckItem]:
    """Waiting at a receive task or a message catch event since the dossier last changed."""
    if scan.filter.agency is not None:
        return  # a message belongs to no agency's queue
    waited = scan.now - timedelta(seconds=scan.engine.settings.message_wait_after_seconds)
    query = select(
        ProcessInstance.id,
        ProcessInstance.definition_id,
        ProcessInstance.process_key,
        ProcessInstance.business_key,
        ProcessInstance.current_activities,
        ProcessInstance.updated_at,
    ).where(ProcessInstance.status == "running", ProcessInstance.updated_at <= waited)
    if scan.filter.process_key is not None:
        query = query.where(ProcessInstance.process_key == scan.filter.process_key)
    for instance in scan.session.execute(query):
        for activity in instance.current_activities or []:
            if activity.get("state") == "WAITING" and _awaits_message(
                scan.engine, instance.definition_id, activity["id"]
            ):
                yield scan.item(
                    "message_waiting",
                    instance,
                    instance.updated_at,
                    REASONS["message_waiting"],
                    activity_id=activity["id"],
                    activity_name=activity.get("name"),
                    task_id=activity.get("task_id"),
                )


def _awaits_message(engine: Engine, definition_id: str, activity_id: str) -> bool:
    loaded = engine.specs.get(definition_id)
    for spec in (loaded.spec, *loaded.subprocess_specs.values()):
        task_spec = spec.task_specs.get(activity_id)
        if task_spec is not None:
            definition = getattr(task_spec, "event_definition", None)
            # A boundary message on an open task is an option, not what the dossier waits for.
            return isinstance(definition, MessageEventDefinition) and not isinstance(task_spec, BoundaryEvent)
    return False


def _job_dead_lettered(scan: _Scan) -> Iterator[StuckItem]:
    """Dead jobs of running dossiers whose work was not redone since (a retried task is not stuck)."""
    jobs = list(
        scan.session.scalars(
            select(Job).where(Job.status == "dead").order_by(Job.id.desc()).limit(DEAD_JOBS_SCANNED)
        )
    )
    task_ids = {job.payload.get("task_id") for job in jobs} - {None}
    tasks = {
        row.id: row
        for row in scan.session.scalars(select(ExternalTaskRow).where(ExternalTaskRow.id.in_(task_ids)))
    }
    instance_ids = {job.payload.get("instance_id") for job in jobs} - {None}
    instances = {
        row.id: row
        for row in scan.session.scalars(
            select(ProcessInstance).where(
                ProcessInstance.id.in_(instance_ids), ProcessInstance.status == "running"
            )
        )
    }
    redone = _redone_dedupe_keys(scan.session, {job.dedupe_key for job in jobs} - {None}, jobs)
    for job in jobs:
        instance = instances.get(job.payload.get("instance_id"))
        if instance is None or (job.dedupe_key is not None and job.id in redone):
            continue
        task = tasks.get(job.payload.get("task_id"))
        if job.payload.get("task_id") is not None and (task is None or not task.incident):
            continue  # the task ended or was retried: the dead job is history, not a blockage
        since = job.finished_at or job.run_at
        where: dict[str, Any] = {"job_id": job.id}
        if task is not None:
            where.update(
                agency=task.agency,
                activity_id=task.activity_id,
                activity_name=task.activity_name,
                task_id=task.id,
            )
        yield scan.item("job_dead_lettered", instance, since, REASONS["job_dead_lettered"], **where)


def _redone_dedupe_keys(session: Session, keys: set[str], jobs: list[Job]) -> set[int]:
    """Ids of dead jobs for which a newer job with the same dedupe key exists."""
    if not keys:
        return set()
    query = select(Job.dedupe_key, Job.id).where(Job.dedupe_key.in_(keys)).order_by(Job.id)
    newest = {key: job_id for key, job_id in session.execute(query)}
    return {job.id for job in jobs if job.dedupe_key and newest.get(job.dedupe_key, job.id) > job.id}


_COLLECTORS: dict[str, Callable[[_Scan], Iterator[StuckItem]]] = {
    "not_fetched": _not_fetched,
    "lock_expired": _lock_expired,
    "incident": _incident,
    "step_overdue": _step_overdue,
    "dossier_overdue": _dossier_overdue,
    "paused_too_long": _paused_too_long,
    "message_waiting": _message_waiting,
    "job_dead_lettered": _job_dead_lettered,
}
