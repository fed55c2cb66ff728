"""Route modules of ``/engine-rest``; each registers its views on the blueprint."""

from __future__ import annotations

from . import version  # noqa: F401
