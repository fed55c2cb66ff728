"""The HTTP face: ``create_app()`` builds the Flask app around a Runtime.

HTTP only: parse, authenticate, call a service, render.  No engine logic lives here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from orchestrator.config import Settings
from orchestrator.runtime import Runtime

from .camunda import blueprint as camunda_blueprint
from .console import init_console
from .problems import register_problem_handlers
from .public import register_public
from .v1 import register_api as register_v1_api


def create_app(settings: Settings | None = None, runtime: Runtime | None = None, **config: Any) -> Flask:
    """Application factory (``gunicorn 'api:create_app()'`` in production)."""
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=10 * 1024 * 1024, JSON_SORT_KEYS=False, **config)
    app.json.ensure_ascii = False
    app.extensions["lienthong"] = runtime or Runtime.create(settings)
    register_problem_handlers(app)
    register_v1_api(app)
    app.register_blueprint(camunda_blueprint)
    init_console(app, app.extensions["lienthong"].settings)
    register_public(app, app.extensions["lienthong"].settings)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
