"""The procedures (c) drives over HTTP: what each agency's system answers and what the applicant pays.

* **two-step**: the Camunda comparison's shape (start -> agency A -> agency B -> end), built in
  :mod:`common`;
* **land-transfer**: the real ``processes/land-transfer.bpmn`` (``chuyen-nhuong-dat``, procedure
  1.013831.H19) on its happy path: the desk receives, the land registration branch appraises
  (valid), sends the tax transfer slip, the tax office assesses, the applicant pays (the payment
  portal's ``nop-thue-dat`` message while the dossier waits at the event-based gateway), the
  branch updates, signs and hands over, the desk returns the result.  The variables are those
  ``tests/test_procedure_land.py`` drives it with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from common import ROOT, TWO_STEP_KEY, two_step_diagram

from orchestrator.bpmn.compiler import Resource

Work = dict[str, dict[str, dict[str, Any]]]  # agency -> topic -> variables its system completes with


@dataclass(frozen=True)
class Payment:
    """A message the applicant's side sends once the dossier waits for it."""

    message: str
    waits_at: str  # the activity the dossier waits at for it
    variables: dict[str, Any]


@dataclass(frozen=True)
class Procedure:
    name: str
    key: str
    diagram: Callable[[], Resource]
    work: Work  # every topic here is completed once by every dossier on the happy path
    start_variables: dict[str, Any]
    payment: Payment | None = None
    clients_per_agency: int | None = None  # None: the run's setting
    agencies: list[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "agencies", sorted(self.work))

    @property
    def completions(self) -> int:
        """External-task completions per dossier."""
        return sum(len(topics) for topics in self.work.values())

    @property
    def steps(self) -> int:
        """Engine steps per dossier after its start: the completions and the payment."""
        return self.completions + (1 if self.payment else 0)


def land_transfer_diagram() -> Resource:
    path = ROOT / "processes" / "land-transfer.bpmn"
    return Resource(path.name, path.read_bytes())


TWO_STEP = Procedure(
    name="two-step",
    key=TWO_STEP_KEY,
    diagram=two_step_diagram,
    work={
        "BENCH-A": {"bench-a": {"ketQuaBuocA": "đã xử lý"}},
        "BENCH-B": {"bench-b": {"ketQuaBuocB": "đã xử lý"}},
    },
    start_variables={"hoTen": "Công dân"},
)

LAND_TRANSFER = Procedure(
    name="land-transfer",
    key="chuyen-nhuong-dat",
    diagram=land_transfer_diagram,
    work={
        "MOT-CUA": {
            "mot-cua-tiep-nhan-dat": {"soBienNhan": "BN-0001"},
            "mot-cua-tra-ket-qua": {"hinhThucTraKetQua": "Tại Bộ phận Một cửa"},
        },
        "VPDK-CN": {
            "dat-dai-tham-dinh": {"ketQuaThamDinh": "hop-le"},
            "dat-dai-gui-phieu-chuyen-thue": {"soPhieuChuyen": "PC-2026-015"},
            "dat-dai-cap-nhat-giay-chung-nhan": {"soGiayChungNhan": "DT 123456"},
            "dat-dai-ky-so": {"daKySo": True},
            "dat-dai-chuyen-ket-qua": {"daChuyenKetQua": True},
        },
        "THUE": {"thue-xac-dinh-nghia-vu": {"thueThuNhapCaNhan": 40_000_000, "lePhiTruocBa": 10_000_000}},
    },
    start_variables={"nguoiNopHoSo": "Lê Văn Bình"},
    payment=Payment("nop-thue-dat", "ChoNopThue", {"soChungTuNopThue": "CT-0001"}),
    clients_per_agency=1,  # one agency system each, as the land registration office runs it
)

PROCEDURES = (TWO_STEP, LAND_TRANSFER)
