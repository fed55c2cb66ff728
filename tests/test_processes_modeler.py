"""The procedures open in Camunda Modeler: its own model library reads them without a warning.

Camunda Modeler imports a diagram with bpmn-moddle and the Camunda 7 descriptor
(camunda-bpmn-moddle); every import warning it would show (an unknown element or attribute,
a reference to nothing) comes from there.  ``tests/modeler`` pins both libraries.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .agency_fixtures import ROOT
from .node_packages import node_with_packages

MODELER_DIR = ROOT / "tests" / "modeler"
PROCESSES = sorted((ROOT / "processes").glob("*.bpmn"))


@pytest.fixture(scope="module")
def read_as_modeler():
    node = node_with_packages(MODELER_DIR, "camunda-bpmn-moddle")

    def read(*paths: Path) -> dict[str, dict]:
        done = subprocess.run(
            [node, str(MODELER_DIR / "read_diagrams.mjs"), *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout)

    return read


def test_every_procedure_is_read_by_the_modeler_libraries_without_a_warning(read_as_modeler):
    report = read_as_modeler(*PROCESSES)
    assert len(report) == len(PROCESSES) == 5
    for path, read in report.items():
        assert read.get("error") is None and read["warnings"] == [], path
        assert len(read["executable"]) == 1 and read["diagrams"] == 1 and read["shapes"] > 30, path


def test_the_check_sees_what_the_modeler_would_warn_about(read_as_modeler, tmp_path):
    """A misspelt Camunda attribute and a drawing of an element that does not exist are caught."""
    text = (ROOT / "processes" / "birth-registration.bpmn").read_text(encoding="utf-8")
    broken = text.replace('camunda:topic="ho-tich-kiem-tra"', 'camunda:topik="ho-tich-kiem-tra"', 1)
    broken = broken.replace('bpmnElement="KiemTraHoSo"', 'bpmnElement="KhongCo"', 1)
    assert broken.count("camunda:topik") == 1 and broken.count('bpmnElement="KhongCo"') == 1
    path = tmp_path / "broken.bpmn"
    path.write_text(broken, encoding="utf-8")

    warnings = " | ".join(read_as_modeler(path)[str(path)]["warnings"])

    assert "camunda:topik" in warnings and "KhongCo" in warnings
