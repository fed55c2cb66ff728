"""Steps per second of the persisted step cycle, next to the in-memory SpiffWorkflow ceiling.

The cycle is the one every dossier repeats: start -> park at an external task -> an
agency completes it -> park at the next one -> ... -> end.  Measured for the same
diagram (start, N external tasks in a row, end) in the same run:

  ceiling    SpiffWorkflow alone: deserialize -> complete -> advance -> serialize, in memory
  sqlite     the service layer on a SQLite file (WAL), one process
  postgresql the service layer on PostgreSQL (skipped if unreachable)

Run: ``.venv/bin/python bench/engine.py [--instances 200] [--tasks 5]``; results are
written to ``bench/results/<date>-<host>-engine.{md,json}``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import select  # noqa: E402

from orchestrator.bpmn.compiler import Resource, compile_resources  # noqa: E402
from orchestrator.bpmn.expression_functions import DEFAULT_FUNCTIONS  # noqa: E402
from orchestrator.bpmn.script_engine import SafeScriptEngine  # noqa: E402
from orchestrator.bpmn.serializer import StateSerializer  # noqa: E402
from orchestrator.config import Settings  # noqa: E402
from orchestrator.handler_sdk import HandlerRegistry  # noqa: E402
from orchestrator.runtime import Runtime  # noqa: E402
from orchestrator.services import definitions, external_tasks, instances  # noqa: E402
from orchestrator.store.models import ExternalTaskRow  # noqa: E402

PG_URL = os.environ.get("LIENTHONG_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def diagram(tasks: int) -> Resource:
    ids = [f"t{i}" for i in range(tasks)]
    nodes = "".join(
        f'<bpmn:serviceTask id="{i}" camunda:type="external" camunda:topic="topic-{i}" />' for i in ids
    )
    chain = ["start", *ids, "end"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{n}" sourceRef="{a}" targetRef="{b}" />'
        for n, (a, b) in enumerate(itertools.pairwise(chain))
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'id="d" targetNamespace="x"><bpmn:process id="bench" isExecutable="true">'
        f'<bpmn:startEvent id="start" />{nodes}<bpmn:endEvent id="end" />{flows}'
        "</bpmn:process></bpmn:definitions>"
    )
    return Resource("bench.bpmn", xml.encode())


def ceiling(resource: Resource, instances_count: int) -> dict:
    compiled = compile_resources([resource]).processes[0]
    serializer, script_engine = StateSerializer(), SafeScriptEngine(functions=DEFAULT_FUNCTIONS)
    steps, began = 0, time.perf_counter()
    for _ in range(instances_count):
        workflow = BpmnWorkflow(compiled.spec, compiled.subprocess_specs, script_engine=script_engine)
        workflow.do_engine_steps()
        state = serializer.dump(workflow)
        while True:
            workflow = serializer.restore(state, compiled.spec, compiled.subprocess_specs, script_engine)
            started = workflow.get_tasks(state=TaskState.STARTED)
            if not started:
                break
            started[0].complete()
            workflow.refresh_timers()
            workflow.do_engine_steps()
            state = serializer.dump(workflow)
            steps += 1
    elapsed = time.perf_counter() - began
    return {"steps": steps, "seconds": elapsed, "steps_per_second": steps / elapsed}


def persisted(resource: Resource, instances_count: int, url: str) -> dict:
    runtime = Runtime.create(Settings(database_url=url, handler_modules=()), handlers=HandlerRegistry())
    runtime.migrate()
    definitions.deploy(runtime.engine, [resource])
    latencies: list[float] = []
    steps, began = 0, time.perf_counter()
    for n in range(instances_count):
        view = instances.start_instance(runtime.engine, "bench", business_key=f"B-{n}")
        instance_id = view.id
        while True:
            with runtime.db.read() as session:
                task_id = session.scalar(
                    select(ExternalTaskRow.id).where(ExternalTaskRow.instance_id == instance_id)
                )
            if task_id is None:
                break
            t0 = time.perf_counter()
            external_tasks.complete_external_task(runtime.engine, task_id, variables={"n": n})
            latencies.append(time.perf_counter() - t0)
            steps += 1
    elapsed = time.perf_counter() - began
    runtime.close()
    return {
        "steps": steps,
        "seconds": elapsed,
        "steps_per_second": steps / elapsed,
        "step_ms_p50": statistics.median(latencies) * 1000,
        "step_ms_p99": statistics.quantiles(latencies, n=100)[98] * 1000,
    }


def pg_reachable(url: str) -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    resource = diagram(args.tasks)
    results = {"ceiling": ceiling(resource, args.instances)}
    with tempfile.TemporaryDirectory() as directory:
        results["sqlite"] = persisted(resource, args.instances, f"sqlite:///{directory}/bench.db")
    if pg_reachable(PG_URL):
        reset_pg(PG_URL)
        results["postgresql"] = persisted(resource, args.instances, PG_URL)
    report = {
        "benchmark": "engine step cycle",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "instances": args.instances,
        "tasks_per_instance": args.tasks,
        "results": results,
        "command": f"python bench/engine.py --instances {args.instances} --tasks {args.tasks}",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{datetime.now(UTC):%Y-%m-%d}-{socket.gethostname()}-engine"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(render(report))
    print(render(report))


def render(report: dict) -> str:
    ceiling_rate = report["results"]["ceiling"]["steps_per_second"]
    lines = [
        f"# Engine step cycle — {report['date']}",
        "",
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
        f"Python {report['machine']['python']}, {report['machine']['platform']}",
        f"Diagram: start → {report['tasks_per_instance']} external tasks → end; "
        f"{report['instances']} instances per row. Command: `{report['command']}`",
        "",
        "| mode | steps | steps/s | % of ceiling | step p50 ms | step p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode, row in report["results"].items():
        share = 100 * row["steps_per_second"] / ceiling_rate
        p50 = f"{row['step_ms_p50']:.2f}" if "step_ms_p50" in row else "—"
        p99 = f"{row['step_ms_p99']:.2f}" if "step_ms_p99" in row else "—"
        lines.append(
            f"| {mode} | {row['steps']} | {row['steps_per_second']:.0f} | {share:.0f} % | {p50} | {p99} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
