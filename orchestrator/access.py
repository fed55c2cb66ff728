"""Who is calling: agencies, API clients and their scopes.

Tokens are 256-bit random strings shown once at creation; only their SHA-256 is stored
(a fast hash is right for high-entropy secrets: there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from .clock import utcnow
from .errors import Conflict, InvalidInput, NotFound
from .store.db import Database
from .store.models import Agency, ApiClient, TopicAgency

TOKEN_PREFIX = "lt_"  # noqa: S105 - a public prefix, not a secret


class Scope(StrEnum):
    WORKER = "worker"  # an agency's system: fetch, lock and complete its own external tasks
    ANALYST = "analyst"  # deploy diagrams (Camunda Modeler's Deploy button)
    DESK = "desk"  # a one-stop desk officer: start dossiers, deliver messages
    ADMIN = "admin"  # everything, every agency


@dataclass(frozen=True)
class Principal:
    client_id: str
    name: str
    agency: str | None
    scopes: frozenset[str]

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.scopes


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_agency(
    db: Database, code: str, name: str, parent: str | None = None, email: str | None = None
) -> Agency:
    """Register an agency; ``email`` is the mailbox its deadline warnings go to."""
    code = code.strip()
    if not code or len(code) > 64:
        raise InvalidInput("an agency code is 1 to 64 characters")
    if email is not None and not _plain_address(email):
        raise InvalidInput("the agency's email must be a bare address such as mot-cua@xa.gov.vn")
    with db.write() as session:
        if session.get(Agency, code) is not None:
            raise Conflict(f"agency '{code}' already exists")
        if parent is not None and session.get(Agency, parent) is None:
            raise NotFound(f"parent agency '{parent}' does not exist")
        agency = Agency(code=code, name=name, parent_code=parent, email=email, created_at=utcnow())
        session.add(agency)
    return agency


def _plain_address(email: str) -> bool:
    """``user@domain`` and nothing else: no display name, space or line break to smuggle headers."""
    return len(email) <= 320 and "@" in email and not any(c.isspace() for c in email) and email.isprintable()


def list_agencies(db: Database) -> list[Agency]:
    with db.read() as session:
        return list(session.scalars(select(Agency).order_by(Agency.code)))


def map_topic(db: Database, topic: str, agency: str) -> None:
    """Assign a topic to an agency (used when a step's diagram names no ``agency``).

    Running processes pick the change up within ``topic_map.RELOAD_SECONDS``.
    """
    with db.write() as session:
        if session.get(Agency, agency) is None:
            raise NotFound(f"agency '{agency}' does not exist")
        row = session.get(TopicAgency, topic)
        if row is None:
            session.add(TopicAgency(topic=topic, agency_code=agency))
        else:
            row.agency_code = agency


def create_token(
    db: Database, *, name: str, scopes: list[str], agency: str | None = None
) -> tuple[ApiClient, str]:
    """Create an API client; returns it and the token, which is never retrievable again."""
    unknown = set(scopes) - {s.value for s in Scope}
    if not scopes or unknown:
        raise InvalidInput(f"scopes must be among {', '.join(s.value for s in Scope)}")
    if Scope.WORKER in scopes and agency is None:
        raise InvalidInput("a worker token belongs to an agency: pass --agency")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write() as session:
        if agency is not None and session.get(Agency, agency) is None:
            raise NotFound(f"agency '{agency}' does not exist")
        client = ApiClient(
            id=str(uuid.uuid4()), name=name, agency_code=agency, scopes=sorted(set(scopes)),
            token_hash=hash_token(token), token_prefix=token[:10], created_at=utcnow(),
        )  # fmt: skip
        session.add(client)
    return client, token


def revoke_token(db: Database, client_id: str) -> None:
    with db.write() as session:
        client = session.get(ApiClient, client_id)
        if client is None:
            raise NotFound(f"API client '{client_id}' does not exist")
        client.revoked_at = utcnow()
    forget_client(client_id)


# Every agency request presents its token: a known one is remembered (by its hash, never
# the token) for a few seconds, so a busy client costs no lookup per call.  A revocation
# takes effect at once in the process that revokes and within this delay in the others.
AUTH_CACHE_SECONDS = 5.0
_AUTH_CACHE_LIMIT = 10_000
_known: dict[str, tuple[Principal, float]] = {}


def authenticate(db: Database, token: str) -> Principal | None:
    """The principal for a presented token, or None (unknown, malformed or revoked)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    cached = _known.get(digest)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    with db.read() as session:
        client = session.scalars(select(ApiClient).where(ApiClient.token_hash == digest)).first()
    # The lookup is by hash; comparing again in constant time costs nothing and removes doubt.
    if client is None or client.revoked_at is not None or not hmac.compare_digest(client.token_hash, digest):
        _known.pop(digest, None)
        return None
    principal = Principal(client.id, client.name, client.agency_code, frozenset(client.scopes))
    if len(_known) >= _AUTH_CACHE_LIMIT:
        _known.clear()
    _known[digest] = (principal, time.monotonic() + AUTH_CACHE_SECONDS)
    return principal


def forget_client(client_id: str) -> None:
    """Drop a client's cached authentication in this process (on revocation)."""
    for digest, (principal, _) in list(_known.items()):
        if principal.client_id == client_id:
            _known.pop(digest, None)


def principal_of_client(db: Database, client_id: str) -> Principal | None:
    """The principal of a client still allowed in (None once revoked): a console session keeps only the id."""
    with db.read() as session:
        client = session.get(ApiClient, client_id)
    if client is None or client.revoked_at is not None:
        return None
    return Principal(client.id, client.name, client.agency_code, frozenset(client.scopes))
