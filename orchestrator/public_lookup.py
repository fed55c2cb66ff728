"""What anyone holding a receipt may learn about a dossier: its status, never who filed it.

The caller needs both the dossier code and the 4-character lookup code printed on the
receipt.  A wrong code and a wrong lookup code give the same NotFound, and the comparison
runs even when no dossier has the code, so neither the answer nor its timing tells whether a
code exists.  Nothing personal (applicant, documents, variables) is read into the answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .dossiers.codes import LOOKUP_LENGTH, lookup_code_matches
from .dossiers.models import Dossier
from .dossiers.states import DossierState
from .errors import NotFound
from .store.db import Database
from .store.models import Agency, Deadline, ExternalTaskRow

NOT_FOUND = "no dossier matches this code and lookup code"
MAX_CODE_LENGTH = 64

_RESULT_READY = {
    "post": "Đã có kết quả, đang gửi qua dịch vụ bưu chính",
    "electronic": "Đã có kết quả, đã gửi bản điện tử",
}
_STATUS_TEXT = {
    DossierState.RECEIVED: "Đã tiếp nhận hồ sơ",
    DossierState.REFUSED_AT_RECEIPT: "Hồ sơ không được tiếp nhận (xem phiếu từ chối)",
    DossierState.PROCESSING: "Đang giải quyết",
    DossierState.SUPPLEMENT_REQUESTED: "Chờ bổ sung hồ sơ",
    DossierState.AWAITING_PAYMENT: "Chờ thực hiện nghĩa vụ tài chính",
    DossierState.WITHDRAWN: "Đã rút hồ sơ theo đề nghị của người nộp",
    DossierState.STOPPED: "Đã dừng giải quyết hồ sơ",
    DossierState.FINISHED: "Đã có kết quả, mời nhận tại Bộ phận Một cửa",
    DossierState.REFUSED: "Đã có văn bản trả lời (từ chối giải quyết), mời nhận tại Bộ phận Một cửa",
    DossierState.RETURNED: "Đã trả kết quả",
}
_HANDLED_STATES = {DossierState.RECEIVED, DossierState.PROCESSING}
_UNUSED_LOOKUP = "X" * LOOKUP_LENGTH  # compared against when no dossier has the code


@dataclass(frozen=True)
class PublicStatus:
    code: str
    procedure_name: str | None
    status: str  # plain Vietnamese
    national_status: int
    received_at: dt.datetime
    appointment_at: dt.datetime | None
    reappointment_at: dt.datetime | None
    handling_agency: str | None  # the agency (or agencies) holding the dossier right now


def public_status(db: Database, code: str, lookup_code: str) -> PublicStatus:
    """The public face of dossier ``code``; NotFound unless ``lookup_code`` is its lookup code."""
    code = code.strip()
    dossier = None
    with db.read() as session:
        if 0 < len(code) <= MAX_CODE_LENGTH:
            dossier = session.scalars(select(Dossier).where(Dossier.code == code)).first()
        expected = dossier.lookup_code if dossier is not None else _UNUSED_LOOKUP
        if not lookup_code_matches(expected, lookup_code[:16]) or dossier is None:
            raise NotFound(NOT_FOUND)
        state = DossierState(dossier.state)
        handling = _handling_agencies(session, dossier) if state in _HANDLED_STATES else []
    if state in _HANDLED_STATES and handling:
        status = f"Đang giải quyết tại {', '.join(handling)}"
    elif state is DossierState.FINISHED:
        status = _RESULT_READY.get(dossier.return_method or "", _STATUS_TEXT[state])
    else:
        status = _STATUS_TEXT[state]
    return PublicStatus(
        code=dossier.code,
        procedure_name=dossier.procedure_name,
        status=status,
        national_status=dossier.national_status,
        received_at=dossier.received_at,
        appointment_at=dossier.appointment_at,
        reappointment_at=dossier.reappointment_at,  # the one re-appointment (form 04), if any
        handling_agency=", ".join(handling) or None,
    )


def _handling_agencies(session: Session, dossier: Dossier) -> list[str]:
    """Names of the agencies whose steps are open: external tasks and budgeted (user) steps."""
    codes = set(
        session.scalars(
            select(ExternalTaskRow.agency).where(
                ExternalTaskRow.instance_id == dossier.instance_id,
                ExternalTaskRow.handled_in_process.is_(False),
                ExternalTaskRow.agency.is_not(None),
            )
        )
    )
    codes |= set(
        session.scalars(
            select(Deadline.agency).where(
                Deadline.instance_id == dossier.instance_id,
                Deadline.scope == "step",
                Deadline.finished_at.is_(None),
                Deadline.agency.is_not(None),
            )
        )
    )
    if not codes:
        return []
    rows = session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(codes)))
    names = {code: name for code, name in rows}
    return sorted(names.get(c, c) for c in codes)
