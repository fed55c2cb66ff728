"""The public face: anyone holding a receipt looks a dossier's status up, without a token.

``/tra-cuu`` is an HTML page (works without JavaScript, loads nothing from elsewhere) and
``/api/v1/public/dossiers/{code}?lookup=XXXX`` its JSON twin.  Both share one rate limit per
client IP (Flask-Limiter; ``LIENTHONG_RATELIMIT_STORAGE_URI`` points several processes at a
shared store such as Redis).  Behind a reverse proxy, wrap the app in werkzeug's ``ProxyFix``
so the limit applies to the citizen's address, not the proxy's.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from orchestrator.config import Settings

from .lookup_api import blueprint as api_blueprint
from .lookup_page import blueprint as page_blueprint

RATE_LIMIT_SCOPE = "public-lookup"  # the page and the API draw on one allowance per address


def register_public(app: Flask, settings: Settings) -> Limiter:
    """Mount the lookup page and API on ``app`` with their own rate limiter."""
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.ratelimit_storage_uri,
        headers_enabled=True,  # Retry-After tells a well-behaved client when to come back
        key_prefix="lienthong",
    )
    for blueprint in (page_blueprint, api_blueprint):
        limiter.shared_limit(settings.public_lookup_rate, scope=RATE_LIMIT_SCOPE)(blueprint)
        app.register_blueprint(blueprint)
    return limiter
