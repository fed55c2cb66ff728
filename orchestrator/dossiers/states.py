"""The dossier's internal state machine and its mapping onto the national status codes 1-10.

The internal states are richer than the portal's codes where the difference matters to the
desk: a refusal at receipt (3) is not a refusal after appraisal, which ends processing with
a refusal letter as its result (9, then 10 when that letter is handed over).
"""

from __future__ import annotations

from enum import StrEnum

from ..errors import Conflict


class DossierState(StrEnum):
    RECEIVED = "received"  # 2: complete, the clock runs
    REFUSED_AT_RECEIPT = "refused_at_receipt"  # 3
    PROCESSING = "processing"  # 4
    SUPPLEMENT_REQUESTED = "supplement_requested"  # 5: clock paused
    AWAITING_PAYMENT = "awaiting_payment"  # 6: financial obligation, clock paused
    WITHDRAWN = "withdrawn"  # 7: withdrawn at the applicant's request
    STOPPED = "stopped"  # 8: processing stopped (form 05)
    FINISHED = "finished"  # 9: processing finished with a result
    REFUSED = "refused"  # 9: processing finished with a refusal letter
    RETURNED = "returned"  # 10: result (or refusal letter) handed over


NATIONAL_STATUS: dict[DossierState, int] = {
    DossierState.RECEIVED: 2,
    DossierState.REFUSED_AT_RECEIPT: 3,
    DossierState.PROCESSING: 4,
    DossierState.SUPPLEMENT_REQUESTED: 5,
    DossierState.AWAITING_PAYMENT: 6,
    DossierState.WITHDRAWN: 7,
    DossierState.STOPPED: 8,
    DossierState.FINISHED: 9,
    DossierState.REFUSED: 9,
    DossierState.RETURNED: 10,
}

# The outcome a dossier ends with when it reaches a state (None: not ended, or outcome kept).
OUTCOME: dict[DossierState, str] = {
    DossierState.REFUSED_AT_RECEIPT: "refused",
    DossierState.WITHDRAWN: "withdrawn",
    DossierState.STOPPED: "stopped",
    DossierState.FINISHED: "result",
    DossierState.REFUSED: "refused",
}

_SIDE_EXITS = {DossierState.WITHDRAWN, DossierState.STOPPED}
_OPEN = {
    DossierState.RECEIVED,
    DossierState.PROCESSING,
    DossierState.SUPPLEMENT_REQUESTED,
    DossierState.AWAITING_PAYMENT,
}

ALLOWED: dict[DossierState, frozenset[DossierState]] = {
    DossierState.RECEIVED: frozenset(
        {
            DossierState.PROCESSING,
            DossierState.SUPPLEMENT_REQUESTED,
            DossierState.AWAITING_PAYMENT,
            DossierState.REFUSED_AT_RECEIPT,
            DossierState.FINISHED,
            *_SIDE_EXITS,
        }
    ),
    DossierState.PROCESSING: frozenset(
        {
            DossierState.SUPPLEMENT_REQUESTED,
            DossierState.AWAITING_PAYMENT,
            DossierState.REFUSED,
            DossierState.FINISHED,
            *_SIDE_EXITS,
        }
    ),
    DossierState.SUPPLEMENT_REQUESTED: frozenset(
        {DossierState.PROCESSING, DossierState.REFUSED, *_SIDE_EXITS}
    ),
    DossierState.AWAITING_PAYMENT: frozenset(
        {DossierState.PROCESSING, DossierState.FINISHED, DossierState.REFUSED, *_SIDE_EXITS}
    ),
    DossierState.FINISHED: frozenset({DossierState.RETURNED}),
    DossierState.REFUSED: frozenset({DossierState.RETURNED}),
    DossierState.REFUSED_AT_RECEIPT: frozenset(),
    DossierState.WITHDRAWN: frozenset(),
    DossierState.STOPPED: frozenset(),
    DossierState.RETURNED: frozenset(),
}

# Vietnamese names for problems shown to officials.
LABELS: dict[DossierState, str] = {
    DossierState.RECEIVED: "đã tiếp nhận",
    DossierState.REFUSED_AT_RECEIPT: "từ chối tiếp nhận",
    DossierState.PROCESSING: "đang xử lý",
    DossierState.SUPPLEMENT_REQUESTED: "chờ bổ sung",
    DossierState.AWAITING_PAYMENT: "chờ thực hiện nghĩa vụ tài chính",
    DossierState.WITHDRAWN: "đã rút",
    DossierState.STOPPED: "dừng xử lý",
    DossierState.FINISHED: "đã xử lý xong",
    DossierState.REFUSED: "đã từ chối",
    DossierState.RETURNED: "đã trả kết quả",
}


def is_open(state: DossierState) -> bool:
    """Still being handled: processing has not ended in any way."""
    return state in _OPEN


def can_move(source: DossierState, target: DossierState) -> bool:
    return target in ALLOWED[source]


def check_move(source: DossierState, target: DossierState) -> None:
    """Raise ``Conflict`` (409) when the state machine forbids the move."""
    if not can_move(source, target):
        raise Conflict(
            f"a dossier in state '{source}' ({LABELS[source]}) cannot move to '{target}' ({LABELS[target]})"
        )
