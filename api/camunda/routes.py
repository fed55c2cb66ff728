"""Route modules of ``/engine-rest``; each registers its views on the blueprint."""

from __future__ import annotations

from . import external_tasks, version  # noqa: F401

# isort: split
# Deployment, definitions, instances and messages (Camunda Modeler's buttons, desks).
from . import deployment, messages, process_definitions, process_instances  # noqa: F401
