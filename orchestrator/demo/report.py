"""What the demo filed and where it stands: the progress lines and the closing summary."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .agents import Tally, dossier_pages
from .client import ApiError, Client, ServerUnreachable
from .scenario import DossierPlan

ENDED = {"finished", "refused", "returned", "refused_at_receipt", "withdrawn", "stopped"}
WAITING = {"supplement_requested", "awaiting_payment"}


@dataclass(frozen=True)
class Filed:
    """A dossier the demo filed: its receipt's codes."""

    code: str
    lookup_code: str
    plan: DossierPlan


@dataclass(frozen=True)
class Summary:
    filed: int
    ended: int
    in_progress: int
    waiting: int
    late: int | None  # None: the stuck list could not be read
    with_incident: int | None


def summarize(admin: Client, desk: Client, filed: list[Filed]) -> Summary:
    codes = {f.code for f in filed}
    states = Counter(item["state"] for item in dossier_pages(desk, {}) if item["code"] in codes)
    late = incidents = None
    try:
        stuck = admin.get("/api/v1/admin/stuck", {"kind": ["dossier_overdue", "incident"], "limit": 5000})
        late = len({item["businessKey"] for item in stuck if item["kind"] == "dossier_overdue"} & codes)
        incidents = len({item["businessKey"] for item in stuck if item["kind"] == "incident"} & codes)
    except ApiError:
        pass  # an older server without the stuck list: say so rather than guess
    return Summary(
        filed=len(filed),
        ended=sum(count for state, count in states.items() if state in ENDED),
        in_progress=sum(count for state, count in states.items() if state not in ENDED | WAITING),
        waiting=sum(count for state, count in states.items() if state in WAITING),
        late=late,
        with_incident=incidents,
    )


def progress(desk: Client, filed: list[Filed]) -> str:
    codes = {f.code for f in filed}
    try:
        states = Counter(item["state"] for item in dossier_pages(desk, {}) if item["code"] in codes)
    except (ApiError, ServerUnreachable) as error:
        return f"[demo] {error}"
    counts = ", ".join(f"{state} {count}" for state, count in sorted(states.items()))
    return f"[demo] {dt.datetime.now():%H:%M:%S} {counts}"


def print_links(out: TextIO, base: str, admin_token: str, filed: list[Filed]) -> None:
    example = next((f for f in filed if f.plan.late), filed[0])
    print(
        "\nXem / look at (Ctrl-C để dừng / to stop):\n"
        f"  {base}/console                       bảng điều khiển / the console\n"
        f'  curl -H "Authorization: Bearer {admin_token}" {base}/api/v1/admin/stuck\n'
        f"  {base}/tra-cuu?ma={example.code}&khoa={example.lookup_code}   tra cứu hồ sơ / public lookup\n",
        file=out,
        flush=True,
    )


def print_summary(
    out: TextIO, base: str, summary: Summary, tally: Tally, filed: list[Filed], tokens_path: Path
) -> None:
    def count(value: int | None) -> str:
        return "?" if value is None else str(value)

    example = next((f for f in filed if f.plan.late), filed[0])
    print(
        "\nKết quả demo / demo summary\n"
        f"  hồ sơ đã tiếp nhận / dossiers filed:                 {summary.filed}\n"
        f"  đã giải quyết xong / finished:                       {summary.ended}\n"
        f"  đang xử lý / in progress:                            {summary.in_progress}\n"
        f"  chờ người dân bổ sung, nộp thuế / waiting:           {summary.waiting}\n"
        f"  quá hạn / late:                                      {count(summary.late)}\n"
        f"  có sự cố / with an incident:                         {count(summary.with_incident)}\n"
        f"  bước đã xử lý / tasks completed: {tally.total('completed')}, "
        f"báo lỗi / failures reported: {tally.total('failed') + tally.total('incident')}\n"
        f"Xem / look at: {base}/api/v1/admin/stuck (token admin trong / in {tokens_path}), {base}/console, "
        f"{base}/tra-cuu?ma={example.code}&khoa={example.lookup_code}",
        file=out,
        flush=True,
    )
