"""Every history event type the code writes has a Vietnamese label on the dossier page."""

from __future__ import annotations

import ast
from itertools import product
from pathlib import Path

from api.console.formatting import EVENT_LABELS, OTHER_EVENT_LABEL, event_label
from orchestrator.dossiers.states import DossierState, can_move
from orchestrator.dossiers.transitions import transition_name

from .conftest import REPO

# Types passed through a variable, which the scan below cannot see (the deadline sweep's kinds).
PASSED_AS_VARIABLES = {"deadline_warning", "deadline_overdue"}


def _written_event_types() -> set[str]:
    """The literal types of every ``append_event(..)``, ``context.record(..)`` and ``event_type(..)``."""
    types: set[str] = set()
    for path in [*Path(REPO, "orchestrator").rglob("*.py"), *Path(REPO, "handlers").rglob("*.py")]:
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(call, ast.Call):
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            position = {"append_event": 2, "record": 0, "event_type": 0}.get(name)
            if position is None or len(call.args) <= position:
                continue
            prefix = "admin." if name == "event_type" else ""
            types.update(prefix + text for text in _literals(call.args[position]))
    return types


def _literals(argument: ast.expr) -> list[str]:
    """A literal type, or both arms of ``"a" if x else "b"``; calls and f-strings are covered apart."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return [argument.value]
    if isinstance(argument, ast.IfExp):
        return _literals(argument.body) + _literals(argument.orelse)
    return []


def _dossier_transitions() -> set[str]:
    return {
        f"dossier.{transition_name(source, target)}"
        for source, target in product(DossierState, DossierState)
        if can_move(source, target)
    }


def test_every_event_type_written_has_a_vietnamese_label():
    written = _written_event_types() | _dossier_transitions() | PASSED_AS_VARIABLES
    assert {"instance_started", "admin.move_token", "dossier.received", "dossier.finished"} <= written
    missing = sorted(written - EVENT_LABELS.keys())
    assert not missing, f"no Vietnamese label for: {missing}"


def test_an_unknown_event_type_falls_back_to_its_family():
    assert event_label("admin.something_new") == "Thao tác quản trị"
    assert event_label("dossier.something_new") == "Hồ sơ chuyển trạng thái"
    assert event_label("something_new") == OTHER_EVENT_LABEL
    assert event_label("incident") == "Phát sinh sự cố"
