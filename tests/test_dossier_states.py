"""The internal state machine: its shape, its national codes, and its refusals."""

from __future__ import annotations

import itertools

import pytest

from orchestrator.dossiers.states import (
    ALLOWED,
    LABELS,
    NATIONAL_STATUS,
    OUTCOME,
    DossierState,
    check_move,
    is_open,
)
from orchestrator.errors import Conflict

S = DossierState
ENDED = {S.REFUSED_AT_RECEIPT, S.WITHDRAWN, S.STOPPED, S.RETURNED}


def test_every_state_has_a_national_code_and_a_vietnamese_label():
    assert set(NATIONAL_STATUS) == set(DossierState) == set(LABELS) == set(ALLOWED)
    # 1 (filed online, not yet received) happens before the one-stop receipt, outside this system.
    assert set(NATIONAL_STATUS.values()) == set(range(2, 11))
    assert NATIONAL_STATUS[S.REFUSED] == NATIONAL_STATUS[S.FINISHED] == 9


def test_the_shape_of_the_lifecycle():
    assert all(not ALLOWED[state] for state in ENDED)  # nothing follows an end
    assert not any(S.RECEIVED in targets for targets in ALLOWED.values())  # receipt happens once
    assert {s for s, targets in ALLOWED.items() if S.RETURNED in targets} == {S.FINISHED, S.REFUSED}
    for state in DossierState:
        assert is_open(state) == ({S.WITHDRAWN, S.STOPPED} <= ALLOWED[state])  # side exits while open
    assert S.REFUSED_AT_RECEIPT in ALLOWED[S.RECEIVED] and S.REFUSED_AT_RECEIPT not in ALLOWED[S.PROCESSING]
    assert S.FINISHED not in ALLOWED[S.SUPPLEMENT_REQUESTED]  # the supplement must arrive first
    assert OUTCOME[S.WITHDRAWN] == "withdrawn" and S.RETURNED not in OUTCOME  # returning keeps the outcome


@pytest.mark.parametrize(("source", "target"), list(itertools.product(DossierState, DossierState)))
def test_check_move_refuses_exactly_the_forbidden_moves(source, target):
    if target in ALLOWED[source]:
        check_move(source, target)
    else:
        with pytest.raises(Conflict, match=f"'{source}' .*cannot move to '{target}'"):
            check_move(source, target)
