"""Which dossiers the demo files, and what each agency's officials decide about them.

A few dozen dossiers across the procedures the server runs, from fictional applicants (no
real identity numbers), through mixed channels.  Most go through; some lack a paper and get a
supplement request (one applicant never comes back); one carries a forged paper and is
refused; one is a paper dossier received a month ago and entered only now (``receivedAt``),
so its appointment has already passed.  One land transfer's tax is never paid.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..calendar import VN_TZ
from .topics import Step

REFUSAL_ERROR = "TU_CHOI"  # the error code the procedures' refusal boundaries catch
REFUSED, ACCEPTED = "khong-hop-le", "hop-le"
ENTERED_LATE_BY = dt.timedelta(days=30)  # beyond every procedure's budget, even across Tết

# The checking steps: the variable their gateway tests and the value that asks for a supplement.
CHECKS: Mapping[str, tuple[str, str]] = {
    "ho-tich-kiem-tra": ("ketQuaKiemTra", "bo-sung"),
    "ho-tich-kiem-tra-khai-tu": ("ketQuaKiemTra", "bo-sung"),
    "dat-dai-tham-dinh": ("ketQuaThamDinh", "bo-sung"),
    "dkkd-kiem-tra": ("ketQuaKiemTra", "sua-doi"),
    "xay-dung-tham-dinh": ("ketQuaThamDinh", "bo-sung"),
}
# What the other steps hand back (a step not listed completes with no variables).
RESULTS: Mapping[str, Mapping[str, Any]] = {
    "ho-tich-dang-ky-khai-sinh": {"daDangKyKhaiSinh": True},
    "cong-an-dang-ky-thuong-tru": {"daDangKyThuongTru": True},
    "bhxh-cap-the-bhyt": {"daCapTheBHYT": True},
    "ho-tich-dang-ky-khai-tu": {"daDangKyKhaiTu": True},
    "cong-an-xoa-thuong-tru": {"daXoaThuongTru": True},
    "bhxh-tro-cap-mai-tang": {"troCapMaiTang": 23_400_000},
    "bao-tro-ho-tro-mai-tang": {"hoTroMaiTang": 9_000_000},
    "mot-cua-tiep-nhan-dat": {"daTiepNhan": True},
    "dat-dai-gui-phieu-chuyen-thue": {"daGuiPhieuChuyenThue": True},
    "thue-xac-dinh-nghia-vu": {"thueThuNhapCaNhan": 40_000_000, "lePhiTruocBa": 10_000_000},
    "dat-dai-cap-nhat-giay-chung-nhan": {"daInGiayChungNhan": True},
    "dat-dai-ky-so": {"daKySo": True},
    "dat-dai-chuyen-ket-qua": {"daChuyenKetQua": True},
    "thue-cap-ma-so-doanh-nghiep": {"daCapMaSoDoanhNghiep": True},
    "dkkd-cap-giay-chung-nhan": {"daCapGiayChungNhan": True},
    "bhxh-cap-ma-don-vi": {"daCapMaDonViBHXH": True},
    "lao-dong-tiep-nhan-khai-trinh": {"daTiepNhanKhaiTrinh": True},
    "pccc-cho-y-kien": {"yKienPCCC": "Đồng ý, đủ điều kiện phòng cháy"},
    "xay-dung-cap-giay-phep": {"daCapGiayPhep": True},
    "mot-cua-tu-choi": {"daThongBaoTuChoi": True},
    "dkkd-tu-choi": {"daThongBaoTuChoi": True},
    "mot-cua-xin-loi": {"daGuiPhieuXinLoi": True},
    "dkkd-xin-loi": {"daGuiPhieuXinLoi": True},
    "mot-cua-nhac-viec": {"daNhacViec": True},
    "mot-cua-tra-ho-so": {"daTraHoSo": True},
    "mot-cua-tra-ket-qua": {"hinhThucTraKetQua": "Tại Bộ phận Một cửa"},
    "dkkd-tra-ket-qua": {"hinhThucTraKetQua": "Cổng thông tin quốc gia về đăng ký doanh nghiệp"},
}
# Seconds a slow agency's official takes per step (before ``pace``); the others answer at once.
SLOW_AGENCIES: Mapping[str, tuple[float, float]] = {
    "CA-XA": (2.0, 5.0),
    "VPDK-CN": (1.0, 4.0),
    "SXD": (1.0, 3.0),
}
# Its system is down: every task it takes fails, with fewer retries each time, until an incident.
FAILING_AGENCY = "BTXH"


@dataclass(frozen=True)
class Decision:
    """What an agency's system answers for a task: ``complete`` or ``bpmn_error`` (a refusal)."""

    kind: str
    variables: dict[str, Any]
    error_code: str | None = None


def decide(step: Step, variables: Mapping[str, Any]) -> Decision:
    """The official's answer: a forged paper refused, a missing one asked for once, else accepted."""
    if step.topic not in CHECKS:
        return Decision("complete", dict(RESULTS.get(step.topic, {})))
    variable, supplement = CHECKS[step.topic]
    if variables.get("giayToGia"):
        if REFUSAL_ERROR in step.error_codes:  # the diagram's refusal boundary catches it
            return Decision("bpmn_error", {variable: REFUSED}, REFUSAL_ERROR)
        return Decision("complete", {variable: REFUSED})
    if variables.get("thieuGiayTo") and not variables.get("daBoSung"):
        return Decision("complete", {variable: supplement})
    return Decision("complete", {variable: ACCEPTED})


# -- the dossiers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DossierPlan:
    """One dossier to file, and how its applicant behaves afterwards."""

    procedure: str  # process key
    channel: str
    applicant: dict[str, str]
    documents: list[dict[str, Any]]
    variables: dict[str, Any]
    supplements: bool = True  # brings the missing paper when asked
    pays: bool = True  # pays the tax when notified (land transfer)
    late: bool = False  # a paper dossier entered after its appointment

    def receipt(self, agency: str) -> dict[str, Any]:
        """The body of ``POST /api/v1/dossiers``."""
        return {
            "procedure": self.procedure,
            "agency": agency,
            "channel": self.channel,
            "applicant": self.applicant,
            "documents": self.documents,
            "variables": self.variables,
        }


@dataclass(frozen=True)
class Procedure:
    key: str
    documents: tuple[str, ...]
    variables: Callable[[random.Random, str], dict[str, Any]]  # (rng, applicant's name) -> variables
    payment_message: str | None = None  # the message the diagram waits for once the tax is notified


def _birth(rng: random.Random, applicant: str) -> dict[str, Any]:
    return {"nguoiNopHoSo": applicant, "hoTenTre": f"{applicant.split()[0]} {_given(rng)}"}


def _death(rng: random.Random, applicant: str) -> dict[str, Any]:
    return {
        "nguoiNopHoSo": applicant,
        "nguoiMat": _name(rng),
        "coThamGiaBHXH": rng.random() < 0.6,
        "thuocDienBaoTro": False,
    }


def _land(rng: random.Random, applicant: str) -> dict[str, Any]:
    return {
        "nguoiNopHoSo": applicant,
        "thuaDat": f"Thửa số {rng.randint(10, 400)}, tờ bản đồ số {rng.randint(1, 40)}",
    }


def _business(rng: random.Random, applicant: str) -> dict[str, Any]:
    return {"nguoiNopHoSo": applicant, "tenDoanhNghiep": f"Công ty TNHH {rng.choice(COMPANY_NAMES)}"}


def _construction(rng: random.Random, applicant: str) -> dict[str, Any]:
    return {"chuDauTu": applicant, "laNhaORiengLe": rng.random() < 0.7}


# In the order the dossiers are dealt; the death registration first: it takes the late dossier.
PROCEDURES: tuple[Procedure, ...] = (
    Procedure("lien-thong-khai-tu", ("Tờ khai đăng ký khai tử", "Giấy báo tử"), _death),
    Procedure(
        "chuyen-nhuong-dat",
        (
            "Hợp đồng chuyển nhượng quyền sử dụng đất đã công chứng",
            "Giấy chứng nhận quyền sử dụng đất (bản gốc)",
            "Tờ khai thuế thu nhập cá nhân",
            "Tờ khai lệ phí trước bạ",
        ),
        _land,
        payment_message="nop-thue-dat",
    ),
    Procedure("lien-thong-khai-sinh", ("Tờ khai đăng ký khai sinh", "Giấy chứng sinh"), _birth),
    Procedure(
        "dang-ky-doanh-nghiep",
        ("Giấy đề nghị đăng ký doanh nghiệp", "Điều lệ công ty", "Danh sách thành viên"),
        _business,
    ),
    Procedure(
        "cap-phep-xay-dung",
        ("Đơn đề nghị cấp giấy phép xây dựng", "Bản vẽ thiết kế xây dựng", "Giấy tờ về quyền sử dụng đất"),
        _construction,
    ),
)
PROCEDURES_BY_KEY = {procedure.key: procedure for procedure in PROCEDURES}
CHANNELS = ("in_person", "in_person", "online", "online", "post")  # weighted: desk and online first
SUPPLEMENT_EVERY = 6  # one dossier in six lacks a paper


def build(count: int, rng: random.Random, available: Sequence[str], now: dt.datetime) -> list[DossierPlan]:
    """``count`` dossiers dealt across the ``available`` procedures we know how to fill in."""
    procedures = [procedure for procedure in PROCEDURES if procedure.key in available]
    if not procedures or count < 1:
        return []
    plans = [
        _plan(index, index // len(procedures), procedures[index % len(procedures)], rng)
        for index in range(count)
    ]
    plans[0] = _entered_late(plans[0], now)
    refused = next((i for i, p in enumerate(plans) if i > 0 and p.procedure == "chuyen-nhuong-dat"), 1)
    if refused < count:
        plans[refused] = _replace(plans[refused], variables={**plans[refused].variables, "giayToGia": True})
    return plans


def _plan(index: int, round_: int, procedure: Procedure, rng: random.Random) -> DossierPlan:
    """The ``index``-th dossier, in the ``round_``-th pass over the procedures."""
    name = _name(rng)
    channel = rng.choice(CHANNELS)
    applicant = {"name": name, "address": _address(rng)}
    if channel == "online":
        applicant["email"] = f"nguoidan{index + 1:03d}@example.com"  # a reserved domain: nobody receives it
    variables = procedure.variables(rng, name)
    lacks_paper = index % SUPPLEMENT_EVERY == SUPPLEMENT_EVERY // 2
    if lacks_paper:
        variables["thieuGiayTo"] = True
    if procedure.key == "lien-thong-khai-tu" and round_ == 1:
        variables["thuocDienBaoTro"] = True  # a second dossier for the failing agency, on time
    return DossierPlan(
        procedure=procedure.key,
        channel=channel,
        applicant=applicant,
        documents=[
            {"name": title, "copies": 1, "original": i == 0} for i, title in enumerate(procedure.documents)
        ],
        variables=variables,
        supplements=not (lacks_paper and index == SUPPLEMENT_EVERY // 2),  # the first one never returns
        pays=round_ != 2,  # the third land transfer's tax stays unpaid
    )


def _entered_late(plan: DossierPlan, now: dt.datetime) -> DossierPlan:
    """Received on paper a month ago, typed in today: its appointment has already passed.

    A death registration is also a social-protection case, so it waits at the failing agency
    and stays open (and overdue) for everyone to see.
    """
    received = (now - ENTERED_LATE_BY).astimezone(VN_TZ).replace(hour=9, minute=30, second=0, microsecond=0)
    variables = {**plan.variables, "receivedAt": received.isoformat()}
    if plan.procedure == "lien-thong-khai-tu":
        variables["thuocDienBaoTro"] = True
    return _replace(plan, channel="in_person", variables=variables, late=True)


def _replace(plan: DossierPlan, **changes: Any) -> DossierPlan:
    return DossierPlan(**{**plan.__dict__, **changes})


# -- fictional people and places ----------------------------------------------------------------

FAMILY_NAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
)  # fmt: skip
# (middle names, given names) of men, then of women: a name is drawn within one pair.
GIVEN_NAMES = (
    (
        ("Văn", "Đức", "Minh", "Quốc", "Hữu"),
        ("Bình", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Sơn"),
    ),
    (
        ("Thị", "Ngọc", "Thu", "Thanh", "Mai"),
        ("Anh", "Chi", "Dung", "Giang", "Hạnh", "Hoa", "Lan", "Linh", "Ngân", "Trang"),
    ),
)
COMPANY_NAMES = ("Sông Hồng", "Phú An", "Hoa Sen Việt", "Mê Kông Xanh", "Trường Sơn", "Bình Minh", "Hải Đăng")
HAMLETS = ("thôn Đông", "thôn Trung", "thôn Tây", "ấp Bình Lợi", "tổ dân phố 5")
COMMUNES = ("xã An Phú", "xã Tân Hòa", "xã Bình Minh", "phường Hòa Khánh")


def _given(rng: random.Random) -> str:
    middles, givens = rng.choice(GIVEN_NAMES)
    return f"{rng.choice(middles)} {rng.choice(givens)}"


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY_NAMES)} {_given(rng)}"


def _address(rng: random.Random) -> str:
    return f"Số {rng.randint(1, 200)}, {rng.choice(HAMLETS)}, {rng.choice(COMMUNES)}"
