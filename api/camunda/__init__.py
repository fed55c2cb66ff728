"""``/engine-rest``: the Camunda 7 REST subset that Camunda Modeler and the external-task clients use.

Errors here have Camunda's shape ``{"type", "message", "code"}``, not problem+json, because
the clients parse it.  See ../shared/design/CAMUNDA_COMPAT.md for the contract.
"""

from __future__ import annotations

from flask import Blueprint

from .errors import register_camunda_errors

blueprint = Blueprint("camunda", __name__, url_prefix="/engine-rest")
register_camunda_errors(blueprint)

# Route modules attach themselves to the blueprint on import.
from . import routes  # noqa: E402, F401
