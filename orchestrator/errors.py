"""Domain errors. Messages are safe to show to a client: they never carry dossier data."""

from __future__ import annotations


class OrchestratorError(Exception):
    """Base class; ``status`` is the HTTP status an API layer should map it to."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(OrchestratorError):
    status = 404
    title = "Not found"


class Conflict(OrchestratorError):
    """The target changed meanwhile (task already completed, stale version)."""

    status = 409
    title = "Conflict"


class InvalidInput(OrchestratorError):
    status = 400
    title = "Invalid input"


class DeploymentRefused(OrchestratorError):
    status = 400
    title = "Diagram refused"

    def __init__(self, detail: str, problems: list) -> None:
        super().__init__(detail)
        self.problems = problems


class StepFailed(OrchestratorError):
    """The diagram could not advance (e.g. a condition could not be evaluated); nothing was kept."""

    status = 422
    title = "Step failed"
