"""In-process handlers, registered by topic on import (see ``orchestrator.handler_sdk``)."""

from . import notices  # noqa: F401  (registers its topics)
