"""What every admin action shares: a reason that must be given, and how history names the action."""

from __future__ import annotations

from ..errors import InvalidInput

MAX_REASON_LENGTH = 1000
EVENT_PREFIX = "admin."


def required_reason(reason: str | None) -> str:
    """The reason, stripped; blank or oversized is refused before anything is touched."""
    text = (reason or "").strip()
    if not text:
        raise InvalidInput("an admin action needs a reason")
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidInput(f"the reason is at most {MAX_REASON_LENGTH} characters")
    return text


def required_actor(actor: str | None) -> str:
    if not actor or not actor.strip():
        raise InvalidInput("an admin action needs the actor who takes it")
    return actor.strip()


def event_type(action: str) -> str:
    """``admin.<action>``: the console's history view groups admin actions by this prefix."""
    return f"{EVENT_PREFIX}{action}"
