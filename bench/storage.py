"""(f) bytes per completed dossier after 10^4 dossiers (PostgreSQL), split into state, history
and projections.

The two-step procedure (the Camunda comparison's shape) is run to the end 10^4 times through
the service layer (start, agency A completes, agency B completes) by two processes (within a
time budget: on a loaded machine fewer, and the result says how many); then the on-disk
size of each table with its indexes and TOAST (``pg_total_relation_size``) after
``VACUUM FULL``, divided by the number of completed dossiers.
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

from common import TWO_STEP_KEY, two_step_diagram
from sqlalchemy import func, select, text

from orchestrator.config import Settings
from orchestrator.handler_sdk import HandlerRegistry
from orchestrator.runtime import Runtime
from orchestrator.services import definitions, external_tasks, instances
from orchestrator.store.models import ExternalTaskRow, ProcessInstance

PARTS = {  # what each table holds for a completed dossier
    "state": ["process_instance"],
    "history": ["event"],
    "projections": ["external_task", "user_task", "deadline", "job", "notification"],
}


def _runtime(url: str) -> Runtime:
    return Runtime.create(Settings(database_url=url, handler_modules=()), handlers=HandlerRegistry())


def _complete_dossiers(url: str, first: int, count: int, stop_at: float) -> None:
    """Dossiers ``first``.. to the end, until ``count`` or the wall-clock instant ``stop_at``."""
    runtime = _runtime(url)
    try:
        for n in range(first, first + count):
            if time.time() > stop_at:
                return
            instance_id = instances.start_instance(
                runtime.engine, TWO_STEP_KEY, business_key=f"HS-{n:06d}"
            ).id
            for step in range(2):
                with runtime.db.read() as session:
                    task_id = session.scalar(
                        select(ExternalTaskRow.id).where(ExternalTaskRow.instance_id == instance_id)
                    )
                external_tasks.complete_external_task(
                    runtime.engine, task_id, variables={"ketQua": f"đã xử lý bước {step + 1}"}
                )
    finally:
        runtime.close()


def measure(url: str, dossiers: int, seconds: float, processes: int = 2) -> dict[str, Any]:
    """``dossiers`` completed dossiers, or as many as ``seconds`` allow (the result says how many)."""
    runtime = _runtime(url)
    try:
        runtime.migrate()
        definitions.deploy(runtime.engine, [two_step_diagram()])
    finally:
        runtime.close()
    share = dossiers // processes
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_complete_dossiers, args=(url, n * share, share, time.time() + seconds), daemon=True
        )
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError(f"a dossier process failed (exit {worker.exitcode})")
    runtime = _runtime(url)
    try:
        with runtime.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # FULL: the space of deleted projection rows is counted once reused, not twice.
            connection.exec_driver_sql("VACUUM FULL ANALYZE")
            sizes = {
                table: int(
                    connection.execute(
                        text("SELECT COALESCE(pg_total_relation_size(to_regclass(:t)), 0)"), {"t": table}
                    ).scalar_one()
                )
                for tables in PARTS.values()
                for table in tables
            }
        with runtime.db.read() as session:
            completed = session.scalar(select(func.count()).where(ProcessInstance.status == "completed"))
            state_bytes = session.scalar(select(func.avg(func.octet_length(ProcessInstance.state))))
        parts = {part: round(sum(sizes[t] for t in tables) / completed) for part, tables in PARTS.items()}
        return {
            "dossiers": completed,
            "wanted": dossiers,
            "bytes_per_dossier": sum(parts.values()),
            "parts": parts,
            "tables": sizes,
            "state_column_bytes_avg": round(float(state_bytes or 0)),
        }
    finally:
        runtime.close()
