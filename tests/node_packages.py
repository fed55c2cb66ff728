"""Node.js packages the tests run (``tests/js``, ``tests/modeler``), installed from their lock files.

Without Node.js, npm or the registry, the tests that need them are skipped with the reason.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def node_with_packages(package_dir: Path, probe: str) -> str:
    """The ``node`` executable, after ``npm ci`` in ``package_dir`` if ``node_modules/<probe>`` is missing."""
    executable = shutil.which("node")
    if executable is None:
        pytest.skip(f"node not found: install Node.js 20+ to run the tests that use {package_dir.name}/")
    if not (package_dir / "node_modules" / probe).is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip(f"npm not found next to node ({executable}): cannot install {package_dir.name}/")
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=package_dir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if installed.returncode != 0:
            reason = installed.stderr.strip()[-500:]
            pytest.skip(f"npm ci failed in {package_dir.name}/ (no network?): {reason}")
    return executable
