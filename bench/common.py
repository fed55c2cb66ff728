"""What every benchmark module shares: the machine, the databases, the diagrams, percentiles."""

from __future__ import annotations

import contextlib
import itertools
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from collections.abc import Iterator  # noqa: E402

from sqlalchemy import Connection, Table, create_engine, text  # noqa: E402

from orchestrator.bpmn.compiler import Resource  # noqa: E402

PG_URL = os.environ.get("LIENTHONG_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/lt_bench")

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">'
)


def _properties(**values: str) -> str:
    items = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in values.items())
    return (
        f"<bpmn:extensionElements><camunda:properties>{items}</camunda:properties></bpmn:extensionElements>"
    )


def _external(task_id: str, topic: str, name: str = "", **properties: str) -> str:
    inner = _properties(**properties) if properties else ""
    return (
        f'<bpmn:serviceTask id="{task_id}" name="{name or task_id}" camunda:type="external" '
        f'camunda:topic="{topic}">{inner}</bpmn:serviceTask>'
    )


def _flows(chain: list[str], prefix: str = "f") -> str:
    return "".join(
        f'<bpmn:sequenceFlow id="{prefix}{n}" sourceRef="{a}" targetRef="{b}" />'
        for n, (a, b) in enumerate(itertools.pairwise(chain))
    )


def chain_diagram(tasks: int, key: str = "bench") -> Resource:
    """start -> ``tasks`` external tasks in a row -> end: the engine ceiling's diagram."""
    ids = [f"t{i}" for i in range(tasks)]
    nodes = "".join(_external(i, f"topic-{i}") for i in ids)
    xml = (
        f'{_HEAD}<bpmn:process id="{key}" isExecutable="true"><bpmn:startEvent id="start" />{nodes}'
        f'<bpmn:endEvent id="end" />{_flows(["start", *ids, "end"])}</bpmn:process></bpmn:definitions>'
    )
    return Resource(f"{key}.bpmn", xml.encode())


TWO_STEP_KEY = "bench-two-step"


def two_step_diagram() -> Resource:
    """start -> agency A's step -> agency B's step -> end (the Camunda comparison's shape)."""
    nodes = _external("BuocA", "bench-a", "Bước A", agency="BENCH-A") + _external(
        "BuocB", "bench-b", "Bước B", agency="BENCH-B"
    )
    xml = (
        f'{_HEAD}<bpmn:process id="{TWO_STEP_KEY}" name="Hai bước liên thông (bench)" isExecutable="true">'
        f'<bpmn:startEvent id="NhanHoSo" />{nodes}<bpmn:endEvent id="TraKetQua" />'
        f"{_flows(['NhanHoSo', 'BuocA', 'BuocB', 'TraKetQua'])}</bpmn:process></bpmn:definitions>"
    )
    return Resource("bench-two-step.bpmn", xml.encode())


# -- machine and databases ---------------------------------------------------------------------


def machine(pg_url: str | None = None) -> dict[str, Any]:
    cpu, memory_kb = platform.processor() or platform.machine(), 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version(pg_url) if pg_url else None,
        "git_commit": (commit.stdout.strip() or "unknown")
        + (" (with uncommitted changes)" if dirty.stdout else ""),
    }


def pg_version(url: str) -> str | None:
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
        return str(version)
    except Exception:
        return None


def pg_reachable(url: str) -> bool:
    return pg_version(url) is not None


def reset_pg(url: str) -> None:
    """An empty ``public`` schema: each measurement starts from a fresh database."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def empty_pg(url: str) -> None:
    """Every table of a migrated ``public`` schema emptied, the schema and its version kept:
    a fresh database in a fraction of the time a reset and the migrations take."""
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.scalars(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ).all()
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def percentile(samples: list[float], p: int) -> float:
    """The p-th percentile (inclusive method; a single sample is its own percentile)."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


@contextlib.contextmanager
def indexes_rebuilt_after(connection: Connection, table: Table) -> Iterator[None]:
    """Bulk loading: drop the table's secondary indexes, load, create them again.

    Building an index once over a million rows is many times faster than updating it a
    million times; the measured queries then run on exactly the indexes the models declare.
    """
    indexes = list(table.indexes)
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)
