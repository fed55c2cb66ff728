"""``Idempotency-Key``: a retried request gets the first answer instead of doing the work twice.

The key is claimed before the work, in its own short transaction, by inserting the
``(client, key)`` primary key with a pending status.  Of two concurrent requests with one
key exactly one insert succeeds (PostgreSQL makes the second wait for the first's commit,
SQLite serializes writers); the loser is told the request is in progress.  When the work
succeeds its answer is stored for replay; when it is refused (a domain error: the step
rolled back) the claim is released so a corrected retry can run.

Work that can, records its answer inside its own transaction (``record``), so the
answer commits with the work or not at all.  Work that does not, has its answer stored
right after; only there a crash between the two leaves the claim pending (409 until
purged), which still never does the work twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..clock import utcnow
from ..errors import Conflict, InvalidInput, OrchestratorError
from ..store.db import Database
from ..store.models import IdempotencyRecord

PENDING = 0  # the status code of a claim whose request has not finished
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(OrchestratorError):
    """The key was first used for a different request."""

    status = 422
    title = "Idempotency-Key reused"


class IdempotentRequestInProgress(Conflict):
    """Another request with the same key has not finished yet."""


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


def fingerprint(method: str, path: str, body: Any) -> str:
    """A digest of what makes two requests "the same": method, path and the parsed JSON body.

    The body is canonicalised (sorted keys, no whitespace) so formatting does not matter.
    """
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


Recorder = Callable[[Session, StoredResponse], None]


def run_once(
    db: Database,
    client_id: str,
    key: str,
    request_hash: str,
    work: Callable[[Recorder], StoredResponse],
) -> tuple[StoredResponse, bool]:
    """Run ``work`` once per ``(client_id, key)``; returns the answer and whether it is a replay.

    ``work`` receives a recorder to call inside its own transaction with its answer.
    """
    stored = claim(db, client_id, key, request_hash)
    if stored is not None:
        return stored, True
    recorded = False

    def record(session: Session, answer: StoredResponse) -> None:
        nonlocal recorded
        _store_in(session, client_id, key, answer)
        recorded = True

    try:
        answer = work(record)
    except OrchestratorError:
        # A refusal (unknown procedure, invalid variables, a step that could not advance)
        # rolled back: free the key so a corrected retry can run.  Any other failure may
        # have happened after the commit, so the claim stays and the key keeps saying 409.
        release(db, client_id, key)
        raise
    if not recorded:
        store(db, client_id, key, answer)
    return answer, False


def claim(db: Database, client_id: str, key: str, request_hash: str) -> StoredResponse | None:
    """Take the key for this request (None), or return the stored answer of an earlier one.

    Raises ``IdempotencyKeyReused`` (422) when the key was used for another request and
    ``IdempotentRequestInProgress`` (409) while the first request is still running.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"an Idempotency-Key is 1 to {MAX_KEY_LENGTH} characters")
    try:
        with db.write() as session:
            session.add(
                IdempotencyRecord(
                    client_id=client_id,
                    key=key,
                    request_hash=request_hash,
                    status_code=PENDING,
                    response={},
                    created_at=utcnow(),
                )
            )
        return None
    except IntegrityError:
        pass  # the key is taken: find out by whom and how far it got
    with db.read() as session:
        record = session.get(IdempotencyRecord, (client_id, key))
    if record is not None and record.request_hash != request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different request")
    if record is None or record.status_code == PENDING:
        # None: the first request failed and released the key just now; the client may retry.
        raise IdempotentRequestInProgress("a request with this Idempotency-Key is in progress")
    return StoredResponse(record.status_code, record.response)


def store(db: Database, client_id: str, key: str, answer: StoredResponse) -> None:
    """Keep the answer of a claimed request for replay."""
    with db.write() as session:
        _store_in(session, client_id, key, answer)


def _store_in(session: Session, client_id: str, key: str, answer: StoredResponse) -> None:
    record = session.get(IdempotencyRecord, (client_id, key))
    if record is not None:
        record.status_code = answer.status_code
        record.response = answer.body


def release(db: Database, client_id: str, key: str) -> None:
    """Give up a pending claim (its request failed and changed nothing)."""
    with db.write() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.client_id == client_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.status_code == PENDING,
            )
        )


def purge(db: Database, *, created_before: datetime) -> int:
    """Forget keys older than ``created_before``; returns how many.

    Stored answers hold dossier data, so they should not be kept longer than clients retry
    (a day, as most APIs that honour the header).  A purged key is new again.
    """
    with db.write() as session:
        result = session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < created_before)
        )
    return result.rowcount or 0
