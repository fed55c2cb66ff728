"""Agency API over HTTP: dossiers/s driven by real Python clients, and fetchAndLock latency.

Two deployments of the same code, measured in the same run:

  embedded    ``python -m orchestrator.cli serve`` (API + embedded worker) on a SQLite file
  production  ``gunicorn -w 2 -k gthread --threads 8 'api:create_app()'`` + one ``lienthong
              worker`` process, on PostgreSQL (schema dropped, then ``lienthong db upgrade``)

Throughput: the procedure is start -> ``bench-a`` (agency BENCH-A) -> ``bench-b`` (agency
BENCH-B) -> end, deployed over HTTP as Camunda Modeler does.  The K agency clients
(camunda-external-task-client-python3 ``ExternalTaskWorker``s, each in its own process with
its agency's token, long polling) are started first; then the desk starts D dossiers over
HTTP from a few threads while the clients work.  Completed dossiers/s = D / (first start
sent -> last ``ended_at``).

fetchAndLock latency: 10^3, then 10^5 open tasks of BENCH-A are bulk-inserted (minimal
dossier rows with SQLAlchemy Core ``insert()``, as ``bench/deadlines.py`` does), then 300
sequential ``POST /engine-rest/external-task/fetchAndLock`` with the body the Python client
sends (maxTasks 1, lockDuration 60 000) and a new connection per call, as that client makes;
p50/p99 in ms.

Run: ``.venv/bin/python bench/agency_api.py [--dossiers 300] [--modes embedded production]``;
results go to ``bench/results/<date>-<host>-agency-api.{md,json}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402  (a dependency of the Camunda client)
from engine import machine, pg_reachable, reset_pg  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from orchestrator.access import add_agency, create_token  # noqa: E402
from orchestrator.store.db import Database  # noqa: E402
from orchestrator.store.models import ExternalTaskRow, ProcessDefinition, ProcessInstance  # noqa: E402

PG_URL = os.environ.get("LIENTHONG_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/lt_bench")
BIN = Path(sys.executable).parent
KEY = "bench-agency"
AGENCY_TOPICS = {"BENCH-A": "bench-a", "BENCH-B": "bench-b"}
BENCH_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_Bench"
    targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.28.0">
  <bpmn:process id="{KEY}" name="Hai bước liên thông (bench)" isExecutable="true">
    <bpmn:startEvent id="NhanHoSo" />
    <bpmn:serviceTask id="BuocA" name="Bước A" camunda:type="external" camunda:topic="bench-a">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="agency" value="BENCH-A" />
      </camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="BuocB" name="Bước B" camunda:type="external" camunda:topic="bench-b">
      <bpmn:extensionElements><camunda:properties>
        <camunda:property name="agency" value="BENCH-B" />
      </camunda:properties></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="TraKetQua" />
    <bpmn:sequenceFlow id="f1" sourceRef="NhanHoSo" targetRef="BuocA" />
    <bpmn:sequenceFlow id="f2" sourceRef="BuocA" targetRef="BuocB" />
    <bpmn:sequenceFlow id="f3" sourceRef="BuocB" targetRef="TraKetQua" />
  </bpmn:process>
</bpmn:definitions>
""".encode()
HTTP_TIMEOUT = 60.0
WARM_UP_FETCHES = 5  # first calls pay for imports, caches and query plans: not counted


class BenchAborted(RuntimeError):
    """A phase overran its bound or a component failed: the run stops with this message."""


@dataclass(frozen=True)
class Tokens:
    analyst: str
    desk: str
    workers: dict[str, str]  # agency -> worker token


@dataclass(frozen=True)
class Config:
    dossiers: int
    clients_per_agency: int
    max_tasks: int
    sizes: list[int]
    fetches: int
    load_timeout: float
    pg_url: str
    work_dir: Path


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, work_dir: Path) -> dict[str, str]:
    processes = work_dir / "no-processes"  # the diagram is deployed over HTTP, not from a folder
    processes.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "LIENTHONG_DATABASE_URL": database_url,
        "LIENTHONG_ENV": "production",  # no demo tokens
        "LIENTHONG_PROCESSES_DIR": str(processes),
    }


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process for the duration of the block; SIGTERM, then SIGKILL after 15 s."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


def wait_until_healthy(base: str, processes: list[subprocess.Popen[bytes]], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise BenchAborted(f"a server process exited; see {log}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/health", timeout=2).json() == {"status": "ok"}:
                return
        time.sleep(0.2)
    raise BenchAborted(f"the server did not answer /health within 60 s; see {log}")


@contextlib.contextmanager
def embedded_server(database_url: str, work_dir: Path) -> Iterator[str]:
    port, log = free_port(), work_dir / "embedded.log"
    command = [sys.executable, "-m", "orchestrator.cli", "serve", "--port", str(port)]
    with running(command, server_env(database_url, work_dir), log) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, [process], log)
        yield base


@contextlib.contextmanager
def production_servers(database_url: str, work_dir: Path) -> Iterator[str]:
    port, log = free_port(), work_dir / "production.log"
    env = server_env(database_url, work_dir)
    gunicorn = [
        str(BIN / "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "8",
        "--graceful-timeout", "5", "-b", f"127.0.0.1:{port}", "api:create_app()",
    ]  # fmt: skip
    with (
        running(gunicorn, env, log) as api,
        running([str(BIN / "lienthong"), "worker"], env, work_dir / "worker.log") as worker,
    ):
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, [api, worker], log)
        yield base


# -- database preparation ------------------------------------------------------------------------


def prepare_database(database_url: str, env: dict[str, str]) -> Tokens:
    """``lienthong db upgrade``, then the agencies and the tokens (in-process, same database)."""
    upgraded = subprocess.run(
        [str(BIN / "lienthong"), "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if upgraded.returncode != 0:
        raise BenchAborted(f"lienthong db upgrade failed: {upgraded.stderr[-2000:]}")
    db = Database(database_url)
    try:
        for agency in AGENCY_TOPICS:
            add_agency(db, agency, f"Bench agency {agency}")
        return Tokens(
            analyst=create_token(db, name="bench analyst", scopes=["analyst"])[1],
            desk=create_token(db, name="bench desk", scopes=["desk"])[1],
            workers={
                agency: create_token(db, name=f"bench {agency}", scopes=["worker"], agency=agency)[1]
                for agency in AGENCY_TOPICS
            },
        )
    finally:
        db.dispose()


def deploy(base: str, tokens: Tokens) -> None:
    response = requests.post(
        f"{base}/engine-rest/deployment/create",
        headers={"Authorization": f"Bearer {tokens.analyst}"},
        data={"deployment-name": "bench", "deployment-source": "Camunda Modeler"},
        files={"bench.bpmn": ("bench.bpmn", BENCH_BPMN, "application/octet-stream")},
        timeout=HTTP_TIMEOUT,
    )
    if response.status_code != 200:
        raise BenchAborted(f"deployment refused: {response.status_code} {response.text[:500]}")


# -- throughput: real clients -------------------------------------------------------------------


def client_main(base: str, token: str, agency: str, topic: str, index: int, max_tasks: int) -> None:
    """One agency client process: ``ExternalTaskWorker.subscribe`` until terminated."""
    logging.basicConfig(level=logging.WARNING)  # the client logs every poll at INFO
    from camunda.external_task.external_task import ExternalTask, TaskResult
    from camunda.external_task.external_task_worker import ExternalTaskWorker

    worker_id = f"{agency}-{index}"
    config = {
        "auth_bearer": {"access_token": token},
        "maxTasks": max_tasks,
        "lockDuration": 60_000,
        "asyncResponseTimeout": 10_000,
        "sleepSeconds": 1,
    }

    def action(task: ExternalTask) -> TaskResult:
        return task.complete({f"xuLy_{topic.replace('-', '_')}": worker_id})

    ExternalTaskWorker(worker_id=worker_id, base_url=f"{base}/engine-rest", config=config).subscribe(
        [topic], action
    )


@contextlib.contextmanager
def agency_clients(base: str, tokens: Tokens, config: Config) -> Iterator[None]:
    """K client processes (``clients_per_agency`` per agency); terminated on exit."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    clients = [
        context.Process(
            target=client_main,
            args=(base, tokens.workers[agency], agency, topic, n, config.max_tasks),
            name=f"client-{agency}-{n}",
            daemon=True,
        )
        for agency, topic in AGENCY_TOPICS.items()
        for n in range(config.clients_per_agency)
    ]
    for client in clients:
        client.start()
    try:
        yield
    finally:
        for client in clients:
            client.terminate()
        for client in clients:
            client.join(10)


def start_dossiers(base: str, tokens: Tokens, count: int, threads: int = 4) -> float:
    """The desk files ``count`` dossiers over HTTP; returns the epoch second of the first send."""
    url = f"{base}/engine-rest/process-definition/key/{KEY}/start"
    headers = {"Authorization": f"Bearer {tokens.desk}"}

    def one(n: int) -> None:
        body = {"businessKey": f"HS-BENCH-{n:06d}", "variables": {"hoTen": {"value": f"Công dân {n}"}}}
        response = requests.post(url, json=body, headers=headers, timeout=HTTP_TIMEOUT)
        if response.status_code != 200:
            raise BenchAborted(f"start {n} failed: {response.status_code} {response.text[:300]}")

    first = time.time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count)))
    return first


def completed(db: Database) -> tuple[int, datetime | None]:
    with db.read() as session:
        count, last = session.execute(
            select(func.count(), func.max(ProcessInstance.ended_at)).where(
                ProcessInstance.process_key == KEY, ProcessInstance.status == "completed"
            )
        ).one()
    return count, last


def throughput(base: str, database_url: str, tokens: Tokens, config: Config) -> dict[str, Any]:
    db = Database(database_url)
    try:
        with agency_clients(base, tokens, config):
            time.sleep(2)  # let the client processes import and open their first long poll
            began = time.monotonic()
            first_start = start_dossiers(base, tokens, config.dossiers)
            started_seconds = time.monotonic() - began
            deadline = time.monotonic() + config.load_timeout
            done, last_end = completed(db)
            while done < config.dossiers:
                if time.monotonic() > deadline:
                    raise BenchAborted(
                        f"only {done} of {config.dossiers} dossiers ended within {config.load_timeout:g} s"
                    )
                time.sleep(0.25)
                done, last_end = completed(db)
    finally:
        db.dispose()
    assert last_end is not None
    seconds = last_end.timestamp() - first_start
    return {
        "dossiers": config.dossiers,
        "clients": config.clients_per_agency * len(AGENCY_TOPICS),
        "max_tasks": config.max_tasks,
        "start_phase_seconds": round(started_seconds, 2),
        "seconds": round(seconds, 2),
        "dossiers_per_second": round(config.dossiers / seconds, 1),
        "completions_per_second": round(config.dossiers * len(AGENCY_TOPICS) / seconds, 1),
    }


# -- fetchAndLock latency -------------------------------------------------------------------------


def bulk_open_tasks(database_url: str, count: int, offset: int) -> float:
    """``count`` open BENCH-A tasks at step BuocA, each in a minimal dossier row; seconds taken."""
    db = Database(database_url)
    began = time.perf_counter()
    try:
        with db.read() as session:
            definition_id = session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == KEY))
        now = datetime.now(UTC)
        batch = 10_000
        for start in range(0, count, batch):
            ids = [str(uuid.uuid4()) for _ in range(min(batch, count - start))]
            # Older first, a millisecond apart: fetchAndLock orders by age, as agencies see it.
            stamps = [now - timedelta(milliseconds=offset + start + n) for n in range(len(ids))]
            instances = [{
                "id": i, "definition_id": definition_id, "process_key": KEY,
                "business_key": f"HS-OPEN-{offset + start + n:07d}", "status": "running", "version": 1,
                "state": b"", "serializer_version": "bench", "variables": {"hoTen": "Công dân"},
                "current_activities": [], "created_at": at, "updated_at": at,
            } for n, (i, at) in enumerate(zip(ids, stamps, strict=True))]  # fmt: skip
            tasks = [{
                "id": str(uuid.uuid4()), "instance_id": i, "definition_id": definition_id,
                "process_key": KEY, "business_key": row["business_key"], "activity_id": "BuocA",
                "activity_name": "Bước A", "topic": "bench-a", "handled_in_process": False,
                "agency": "BENCH-A", "priority": 0, "created_at": row["created_at"], "incident": False,
                "suspended": False, "local_variables": {},
            } for i, row in zip(ids, instances, strict=True)]  # fmt: skip
            with db.write() as session:
                session.execute(insert(ProcessInstance), instances)
                session.execute(insert(ExternalTaskRow), tasks)
        # Fresh planner statistics, as autovacuum/ANALYZE would give a table this size in service.
        with db.write() as session:
            session.execute(text("ANALYZE"))
    finally:
        db.dispose()
    return time.perf_counter() - began


def fetch_latencies(base: str, token: str, fetches: int) -> list[float]:
    """Sequential fetchAndLock calls with the Python client's exact body; milliseconds each."""
    url = f"{base}/engine-rest/external-task/fetchAndLock"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = {
        "workerId": "bench-latency",
        "maxTasks": 1,
        "topics": [{
            "topicName": "bench-a", "lockDuration": 60_000, "processVariables": {},
            "includeExtensionProperties": True, "deserializeValues": True, "variables": None,
        }],
        "asyncResponseTimeout": 30_000,
        "usePriority": False,
        "sorting": None,
    }  # fmt: skip
    latencies = []
    for n in range(WARM_UP_FETCHES + fetches):
        began = time.perf_counter()
        response = requests.post(url, json=body, headers=headers, timeout=HTTP_TIMEOUT)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200 or len(response.json()) != 1:
            raise BenchAborted(f"fetch {n}: {response.status_code} {response.text[:300]}")
        if n >= WARM_UP_FETCHES:
            latencies.append(elapsed)
    return latencies


def latency(base: str, database_url: str, tokens: Tokens, config: Config) -> list[dict[str, Any]]:
    rows, inserted = [], 0
    for size in config.sizes:
        load_seconds = bulk_open_tasks(database_url, size - inserted, inserted)
        inserted = size
        samples = fetch_latencies(base, tokens.workers["BENCH-A"], config.fetches)
        rows.append({
            "open_tasks": size, "fetches": len(samples), "insert_seconds": round(load_seconds, 1),
            "p50_ms": round(statistics.median(samples), 2),
            "p99_ms": round(statistics.quantiles(samples, n=100, method="inclusive")[98], 2),
            "max_ms": round(max(samples), 2),
        })  # fmt: skip
        print(f"  fetchAndLock with {size:,} open tasks: {json.dumps(rows[-1])}", flush=True)
    return rows


# -- the two deployments ---------------------------------------------------------------------------


def measure(
    mode: str,
    database_url: str,
    servers: Callable[[str, Path], contextlib.AbstractContextManager[str]],
    config: Config,
) -> dict[str, Any]:
    work_dir = config.work_dir / mode
    work_dir.mkdir(parents=True, exist_ok=True)
    tokens = prepare_database(database_url, server_env(database_url, work_dir))
    with servers(database_url, work_dir) as base:
        deploy(base, tokens)
        print(f"{mode}: {config.dossiers} dossiers...", flush=True)
        load = throughput(base, database_url, tokens, config)
        print(f"  {json.dumps(load)}", flush=True)
        fetches = latency(base, database_url, tokens, config)
    return {"mode": mode, "throughput": load, "fetch_and_lock": fetches}


MODES = {
    "embedded": "`lienthong serve` (API + embedded worker), SQLite file",
    "production": "gunicorn -w 2 -k gthread --threads 8 + 1 `lienthong worker`, PostgreSQL",
}


def run(config: Config, modes: list[str]) -> list[dict[str, Any]]:
    results = []
    for mode in modes:
        if mode == "embedded":
            url = f"sqlite:///{config.work_dir}/bench.db"
            results.append(measure(mode, url, embedded_server, config))
        else:
            if not pg_reachable(config.pg_url):
                raise BenchAborted(
                    f"PostgreSQL is unreachable at {config.pg_url}: set LIENTHONG_BENCH_PG_URL"
                )
            reset_pg(config.pg_url)
            results.append(measure(mode, config.pg_url, production_servers, config))
    return results


def write_report(report: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{datetime.now(UTC):%Y-%m-%d}-{report['machine']['host']}-agency-api"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    m = report["machine"]
    load = report["parameters"]
    lines = [
        f"# Agency API over HTTP — {report['date']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
        f"load average before the run {report['load_average_before']}.",
        f"Command: `{report['command']}`",
        "",
        f"Procedure: start → `bench-a` (BENCH-A) → `bench-b` (BENCH-B) → end. {load['dossiers']} dossiers "
        f"started over HTTP by the desk (4 threads) while {load['clients']} "
        f"camunda-external-task-client-python3 workers ({load['clients_per_agency']} per agency, "
        f"one process each, maxTasks {load['max_tasks']}, "
        "long polling) complete them; dossiers/s = dossiers / (first start sent → last end).",
        "",
        "| deployment | dossiers | seconds | dossiers/s | completions/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        t = r["throughput"]
        lines.append(
            f"| {r['mode']}: {MODES[r['mode']]} | {t['dossiers']} | {t['seconds']} | "
            f"{t['dossiers_per_second']} | {t['completions_per_second']} |"
        )
    lines += [
        "",
        f"fetchAndLock: {load['fetches']} sequential calls (after {WARM_UP_FETCHES} warm-up calls), the "
        "Python client's body (maxTasks 1, lockDuration 60 000, includeExtensionProperties), one new "
        "connection per call as that client makes; open tasks bulk-inserted, then ANALYZE.",
        "",
        "| deployment | open tasks | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        for f in r["fetch_and_lock"]:
            lines.append(
                f"| {r['mode']} | {f['open_tasks']:,} | {f['p50_ms']} | {f['p99_ms']} | {f['max_ms']} |"
            )
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return stem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=300)
    parser.add_argument("--clients-per-agency", type=int, default=2)
    parser.add_argument("--max-tasks", type=int, default=1, help="the Python client's default is 1")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--fetches", type=int, default=300)
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--load-timeout", type=float, default=180, help="seconds for the dossiers to end")
    parser.add_argument("--max-seconds", type=int, default=540, help="abort the whole run after this")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()

    # A hard bound on the whole run: SIGALRM raises in the main thread, and every process this
    # script started is stopped by the context managers on the way out.
    def overrun(_signum: int, _frame: Any) -> None:
        raise BenchAborted(f"the benchmark overran {args.max_seconds} s")

    signal.signal(signal.SIGALRM, overrun)
    signal.alarm(args.max_seconds)
    load_before = [round(x, 2) for x in os.getloadavg()]
    work_dir = Path(tempfile.mkdtemp(prefix="lienthong-agency-api-"))
    config = Config(
        dossiers=args.dossiers, clients_per_agency=args.clients_per_agency, max_tasks=args.max_tasks,
        sizes=sorted(args.sizes), fetches=args.fetches, load_timeout=args.load_timeout,
        pg_url=args.pg_url, work_dir=work_dir,
    )  # fmt: skip
    began = time.monotonic()
    try:
        results = run(config, args.modes)
    except BenchAborted as aborted:
        raise SystemExit(f"benchmark aborted: {aborted} (logs in {work_dir})") from None
    finally:
        signal.alarm(0)
    shutil.rmtree(work_dir, ignore_errors=True)
    report = {
        "benchmark": "agency API over HTTP",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": load_before,
        "parameters": {
            "dossiers": args.dossiers,
            "clients_per_agency": args.clients_per_agency,
            "clients": args.clients_per_agency * len(AGENCY_TOPICS),
            "max_tasks": args.max_tasks,
            "sizes": config.sizes,
            "fetches": args.fetches,
            "modes": args.modes,
        },
        "results": results,
        "total_seconds": round(time.monotonic() - began, 1),
        "command": " ".join(["python bench/agency_api.py", *sys.argv[1:]]),
    }
    write_report(report, args.out)


if __name__ == "__main__":
    main()
