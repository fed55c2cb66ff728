"""``lienthong demo``: file the demo dossiers at a running server and run its agencies.

Only the agencies and their tokens are written to the database (the server's, from the
same ``LIENTHONG_*`` settings, as ``serve`` does); everything else goes over HTTP: the desk
files each dossier with ``POST /api/v1/dossiers``, and every agency's system uses its own
token.  Development mode only.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..clock import utcnow
from ..config import Settings
from ..dev_tokens import DEMO_DESK, demo_tokens
from ..store.db import Database
from . import scenario
from .agents import AgencySystem, Applicants, Behaviour, Tally
from .client import ApiError, Client, ServerUnreachable
from .report import Filed, Summary, print_links, print_summary, progress, summarize
from .topics import Step, by_agency, deployed_steps

DEFAULT_URL = "http://127.0.0.1:8080"
DEFAULT_DURATION = 300.0
PROGRESS_SECONDS = 15.0
TOKENS_PATH = Path("var/demo-tokens.json")  # the file ``lienthong serve`` prints its demo tokens from


class DemoRefused(Exception):
    """The demo cannot run: the message says why and what to do, in Vietnamese and English."""


@dataclass(frozen=True)
class DemoOptions:
    url: str = DEFAULT_URL
    dossiers: int = 36
    duration: float | None = DEFAULT_DURATION  # None: until Ctrl-C
    seed: int | None = None
    pace: float = 1.0  # multiplies every simulated delay (tests run the demo faster)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``demo`` command to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    demo = subparsers.add_parser(
        "demo", help="development only: demo dossiers and simulated agencies against a running server"
    )
    demo.add_argument("--url", default=DEFAULT_URL, help=f"the running server (default {DEFAULT_URL})")
    demo.add_argument("--dossiers", type=_positive_int, default=36, help="how many dossiers to file")
    length = demo.add_mutually_exclusive_group()
    length.add_argument(
        "--duration", type=float, default=DEFAULT_DURATION, help="seconds the agencies work (default 300)"
    )
    length.add_argument("--forever", action="store_true", help="work until Ctrl-C")
    demo.add_argument("--seed", type=int, help="the same seed files the same dossiers")
    demo.set_defaults(run=run_command)
    return demo


def run_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    options = DemoOptions(
        url=args.url,
        dossiers=args.dossiers,
        duration=None if args.forever else args.duration,
        seed=args.seed,
    )
    db = Database(settings.database_url)
    try:
        run_demo(options, db, settings)
    except DemoRefused as refused:
        print(str(refused), file=sys.stderr)
        return 1
    except (ApiError, ServerUnreachable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


def run_demo(
    options: DemoOptions,
    db: Database,
    settings: Settings,
    *,
    tokens_path: Path = TOKENS_PATH,
    stop: threading.Event | None = None,
    out: TextIO = sys.stdout,
) -> Summary:
    """The whole demo; returns when ``options.duration`` has passed, ``stop`` is set or on Ctrl-C."""
    if settings.environment == "production":
        raise DemoRefused(
            "lienthong demo chỉ chạy ở chế độ phát triển / runs in development mode only "
            "(LIENTHONG_ENV=production): it would file fictional dossiers"
        )
    base = _checked_url(options.url)
    _check_reachable(base)
    tokens = demo_tokens(db, settings, tokens_path)
    admin, desk = Client(base, tokens["admin"]), Client(base, tokens[f"desk {DEMO_DESK}"])
    rng = random.Random(options.seed)
    steps = _procedure_steps(admin)
    plans = scenario.build(options.dossiers, rng, sorted({step.process_key for step in steps}), utcnow())
    if not plans:
        raise DemoRefused(
            "máy chủ chưa có thủ tục nào của bản demo / the server runs none of the demo's procedures: "
            "start it from the project directory so that it loads processes/"
        )
    stop = stop or threading.Event()
    tally = Tally()
    agencies = by_agency(steps)
    unknown = sorted(agency for agency in agencies if f"worker {agency}" not in tokens)
    if unknown:  # a diagram added since: its steps will wait (add it to dev_tokens.DEMO_AGENCIES)
        print(f"Không có hệ thống demo cho / no demo system for: {', '.join(unknown)}", file=out)
    systems = [
        AgencySystem(
            Client(base, tokens[f"worker {agency}"]),
            agency,
            topics,
            _behaviour(agency),
            stop=stop,
            tally=tally,
            rng=random.Random(rng.random()),
            pace=options.pace,
        )
        for agency, topics in sorted(agencies.items())
        if agency not in unknown
    ]
    filed = _file(desk, plans, out)
    for system in systems:
        system.start()
    applicants = Applicants(
        desk,
        {f.code: f.plan for f in filed},
        stop=stop,
        tally=tally,
        rng=random.Random(rng.random()),
        pace=options.pace,
    )
    applicants.start()
    print_links(out, base, tokens["admin"], filed)
    try:
        _wait(options.duration, stop, lambda: print(progress(desk, filed), file=out, flush=True))
    except KeyboardInterrupt:
        print("\nDừng / stopping…", file=out, flush=True)
    finally:
        stop.set()
        for thread in [*systems, applicants]:
            thread.join(timeout=15)
    summary = summarize(admin, desk, filed)
    print_summary(out, base, summary, tally, filed, tokens_path)
    return summary


# -- steps ----------------------------------------------------------------------------------


def _checked_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DemoRefused(
            f"--url phải là http(s)://máy:cổng / --url must be http(s)://host:port, not {url!r}"
        )
    return url.rstrip("/")


def _check_reachable(base: str) -> None:
    try:
        Client(base).get("/health", timeout=5)
    except (ServerUnreachable, ApiError) as error:
        raise DemoRefused(
            f"Không kết nối được máy chủ tại {base}: chạy `make run` trước.\n"
            f"Cannot reach the server at {base}: run `make run` first (in another terminal). ({error})"
        ) from None


def _procedure_steps(admin: Client) -> list[Step]:
    """The external steps of every demo procedure the server runs."""
    try:
        keys = [
            definition["key"]
            for definition in _pages(admin, "/api/v1/process-definitions")
            if definition["key"] in scenario.PROCEDURES_BY_KEY
        ]
    except ApiError as error:
        if error.status == 401:
            raise DemoRefused(
                "Máy chủ không nhận token demo: máy chủ và lệnh demo phải dùng cùng cơ sở dữ liệu "
                "(LIENTHONG_DATABASE_URL).\nThe server does not know the demo tokens: run the demo with the "
                "server's LIENTHONG_DATABASE_URL."
            ) from None
        raise
    return deployed_steps(admin, keys)


def _pages(client: Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = client.get(path, {"limit": 200, **({"cursor": cursor} if cursor else {})})
        items.extend(page["items"])
        cursor = page.get("nextCursor")
        if not cursor:
            return items


def _behaviour(agency: str) -> Behaviour:
    return Behaviour(delay=scenario.SLOW_AGENCIES.get(agency), failing=agency == scenario.FAILING_AGENCY)


def _file(desk: Client, plans: list[scenario.DossierPlan], out: TextIO) -> list[Filed]:
    """The desk receives each dossier over the API (an Idempotency-Key each, as a desk client should)."""
    filed = []
    for plan in plans:
        receipt = desk.post(
            "/api/v1/dossiers", plan.receipt(DEMO_DESK), headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        filed.append(Filed(receipt["code"], receipt["lookupCode"], plan))
        late = " (nhập muộn, đã quá hẹn / entered late, already overdue)" if plan.late else ""
        print(f"  {receipt['code']}  {plan.procedure:<22} {plan.applicant['name']}{late}", file=out)
    print(f"Đã tiếp nhận {len(filed)} hồ sơ / filed {len(filed)} dossiers", file=out, flush=True)
    return filed


def _wait(duration: float | None, stop: threading.Event, progress: Callable[[], None]) -> None:
    deadline = None if duration is None else time.monotonic() + duration
    while not stop.is_set():
        left = PROGRESS_SECONDS if deadline is None else min(PROGRESS_SECONDS, deadline - time.monotonic())
        if left <= 0 or stop.wait(left):
            return
        if deadline is None or deadline - time.monotonic() > 1:
            progress()


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value
