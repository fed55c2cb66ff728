"""``GET /engine-rest/version``: Camunda Modeler calls it to check the endpoint."""

from __future__ import annotations

from flask import Blueprint

from . import blueprint as _blueprint

blueprint: Blueprint = _blueprint
# The Camunda 7 release whose REST contract this surface follows.
CAMUNDA_COMPATIBLE_VERSION = "7.22.0"


@blueprint.get("/version")
def version() -> dict[str, str]:
    return {"version": CAMUNDA_COMPATIBLE_VERSION}
