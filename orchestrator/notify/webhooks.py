"""Signed webhooks: a JSON POST a receiver can authenticate and de-duplicate.

Headers sent with every delivery:

- ``X-Lienthong-Event``: the notice kind (``receipt``, ``deadline_warning``, ...);
- ``X-Lienthong-Delivery``: the delivery id, the same on every retry: a receiver that has
  already processed it answers 2xx again and does nothing (deliveries are at-least-once);
- ``X-Lienthong-Timestamp``: Unix seconds when this attempt was signed;
- ``X-Lienthong-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed by the subscription secret,
  of ``"<timestamp>.<raw body>"``.

A receiver verifies with :func:`verify_signature` (or the same four lines in its language):
recompute the HMAC over the timestamp header, a dot and the raw request body bytes, compare
in constant time, and reject a timestamp older than a few minutes so a captured request
cannot be replayed later.  Any 2xx answer means "received"; anything else is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

SIGNATURE_PREFIX = "sha256="
USER_AGENT = "lienthong-webhooks/1"


@dataclass(frozen=True)
class Hook:
    url: str
    secret: str
    event: str
    delivery_id: int
    payload: dict[str, Any]


class WebhookFailed(RuntimeError):
    """The receiver did not answer 2xx (or could not be reached)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: int = 300,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        return False
    return abs(age) <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def post_hook(hook: Hook, *, timeout: float, now: float | None = None) -> int:
    """POST the signed payload; returns the 2xx status, raises ``WebhookFailed`` otherwise."""
    body = json.dumps(hook.payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time() if now is None else now))
    request = urllib.request.Request(  # noqa: S310  (the scheme is checked: http or https only)
        _checked_url(hook.url),
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Lienthong-Event": hook.event,
            "X-Lienthong-Delivery": str(hook.delivery_id),
            "X-Lienthong-Timestamp": timestamp,
            "X-Lienthong-Signature": sign(hook.secret, timestamp, body),
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        raise WebhookFailed(f"HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise WebhookFailed(f"unreachable: {reason}") from None


def _checked_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise WebhookFailed("the webhook URL must be http:// or https://")
    return url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following it would re-send the signed notice somewhere unsubscribed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)
