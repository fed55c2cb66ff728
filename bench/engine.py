"""(a) the engine ceiling and (b) the persisted step cycle, for the same diagrams and the same act.

The act is the one every dossier repeats: an agency completes its external task and the
dossier runs on to its next wait state.  Diagram: start -> N external tasks in a row -> end.

  (a) ceiling    SpiffWorkflow alone, in memory: restore the state -> complete the started
                 task -> advance -> serialize (what the step does with the workflow, no database)
  (b) persisted  ``external_tasks.complete_external_task`` through the service layer: lock,
                 load, act, advance, save, project, history, one transaction (SQLite, PostgreSQL)

Both time only the step cycle (starting the instances and finding the next task id are
outside the clock), so steps/s = steps / time inside the steps and (b)/(a) is meaningful.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from common import chain_diagram, percentile
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from orchestrator.bpmn.compiler import Resource, compile_resources
from orchestrator.bpmn.expression_functions import DEFAULT_FUNCTIONS
from orchestrator.bpmn.script_engine import SafeScriptEngine
from orchestrator.bpmn.serializer import StateSerializer
from orchestrator.config import Settings
from orchestrator.handler_sdk import HandlerRegistry
from orchestrator.runtime import Runtime
from orchestrator.services import definitions, external_tasks, instances
from orchestrator.store.models import ExternalTaskRow


def _rates(tasks: int, durations: list[float]) -> dict[str, Any]:
    busy = sum(durations)
    return {
        "tasks": tasks,
        "steps": len(durations),
        "seconds": round(busy, 3),
        "steps_per_second": round(len(durations) / busy, 1),
        "step_ms_p50": round(statistics.median(durations) * 1000, 3),
        "step_ms_p99": round(percentile(durations, 99) * 1000, 3),
    }


def ceiling(tasks: int, steps: int) -> dict[str, Any]:
    """(a): SpiffWorkflow's own speed for the step's work on the workflow."""
    compiled = compile_resources([chain_diagram(tasks)]).processes[0]
    serializer, script_engine = StateSerializer(), SafeScriptEngine(functions=DEFAULT_FUNCTIONS)
    durations: list[float] = []
    for _ in range(math.ceil(steps / tasks)):
        workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=script_engine)
        workflow.do_engine_steps()
        state = serializer.dump(workflow)
        while True:
            began = time.perf_counter()
            workflow = serializer.restore(state, compiled.spec, compiled.subprocess_specs, script_engine)
            started = workflow.get_tasks(state=TaskState.STARTED)
            if not started:
                break
            started[0].data.update({"n": len(durations)})
            started[0].complete()
            workflow.refresh_timers()
            workflow.do_engine_steps()
            state = serializer.dump(workflow)
            durations.append(time.perf_counter() - began)
    return _rates(tasks, durations)


def persisted(tasks: int, steps: int, url: str) -> dict[str, Any]:
    """(b): the same act through the service layer on a database (one transaction per step)."""
    runtime = Runtime.create(Settings(database_url=url, handler_modules=()), handlers=HandlerRegistry())
    try:
        runtime.migrate()
        resource: Resource = chain_diagram(tasks, key=f"bench-chain-{tasks}")
        definitions.deploy(runtime.engine, [resource])
        durations: list[float] = []
        for n in range(math.ceil(steps / tasks)):
            instance_id = instances.start_instance(
                runtime.engine, f"bench-chain-{tasks}", business_key=f"B-{n}"
            ).id
            while True:
                with runtime.db.read() as session:  # the agency learns the id from fetchAndLock
                    task_id = session.scalar(
                        select(ExternalTaskRow.id).where(ExternalTaskRow.instance_id == instance_id)
                    )
                if task_id is None:
                    break
                began = time.perf_counter()
                external_tasks.complete_external_task(
                    runtime.engine, task_id, variables={"n": len(durations)}
                )
                durations.append(time.perf_counter() - began)
        return _rates(tasks, durations)
    finally:
        runtime.close()
