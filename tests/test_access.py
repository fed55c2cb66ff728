"""Agencies, tokens and scopes: stored hashed, shown once, revocable; the CLI around them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from orchestrator.access import Scope, add_agency, authenticate, create_token, hash_token, revoke_token
from orchestrator.cli import main
from orchestrator.config import Settings
from orchestrator.dev_tokens import demo_tokens
from orchestrator.errors import Conflict, InvalidInput, NotFound
from orchestrator.store.models import ApiClient


def test_token_is_stored_hashed_and_authenticates(runtime):
    add_agency(runtime.db, "CA-XA", "Công an cấp xã")
    _client, token = create_token(runtime.db, name="police system", scopes=["worker"], agency="CA-XA")
    with runtime.db.read() as session:
        stored = session.scalars(select(ApiClient)).one()
    assert token not in (stored.token_hash, stored.token_prefix) and stored.token_hash == hash_token(token)
    principal = authenticate(runtime.db, token)
    assert principal is not None and principal.agency == "CA-XA"
    assert principal.allows(Scope.WORKER) and not principal.allows(Scope.ANALYST)
    assert authenticate(runtime.db, token + "x") is None
    assert authenticate(runtime.db, "not-a-token") is None


def test_admin_holds_every_scope_and_revocation_works(runtime):
    client, token = create_token(runtime.db, name="ops", scopes=["admin"])
    principal = authenticate(runtime.db, token)
    assert all(principal.allows(scope) for scope in Scope)
    revoke_token(runtime.db, client.id)
    assert authenticate(runtime.db, token) is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"scopes": ["worker"]}, InvalidInput),  # a worker token needs an agency
        ({"scopes": ["root"]}, InvalidInput),
        ({"scopes": []}, InvalidInput),
        ({"scopes": ["worker"], "agency": "NOPE"}, NotFound),
    ],
)
def test_bad_token_requests_are_refused(runtime, kwargs, error):
    with pytest.raises(error):
        create_token(runtime.db, name="x", **kwargs)


def test_agency_tree_is_data(runtime):
    add_agency(runtime.db, "UBND-TINH", "UBND tỉnh Đồng Nai")
    add_agency(runtime.db, "STNMT", "Sở Tài nguyên và Môi trường", parent="UBND-TINH")
    with pytest.raises(Conflict):
        add_agency(runtime.db, "STNMT", "again")
    with pytest.raises(NotFound):
        add_agency(runtime.db, "X", "orphan", parent="MISSING")


def test_cli_agency_and_token(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LIENTHONG_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("LIENTHONG_HANDLER_MODULES", "")
    assert main(["db", "upgrade"]) == 0
    assert main(["agency", "add", "BHXH", "--name", "Bảo hiểm xã hội"]) == 0
    capsys.readouterr()
    assert main(["token", "create", "--agency", "BHXH", "--scope", "worker"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert token.startswith("lt_") and "shown once" in captured.err
    from orchestrator.store.db import Database

    principal = authenticate(Database(f"sqlite:///{tmp_path}/cli.db"), token)
    assert principal.agency == "BHXH" and principal.scopes == {"worker"}
    assert main(["token", "create", "--scope", "worker"]) == 1  # no agency


def test_demo_tokens_only_in_development(runtime, tmp_path):
    path = tmp_path / "demo.json"
    tokens = demo_tokens(runtime.db, runtime.settings, path)
    workers = ("MOT-CUA", "UBND-XA", "CA-XA", "BHXH", "BTXH", "THUE", "VPDK-CN", "PDKKD", "LAO-DONG", "SXD")
    assert set(tokens) == {"admin", "desk MOT-CUA", "worker PCCC", *(f"worker {code}" for code in workers)}
    assert authenticate(runtime.db, tokens["worker CA-XA"]).agency == "CA-XA"
    desk = authenticate(runtime.db, tokens["desk MOT-CUA"])
    assert (desk.agency, desk.scopes) == ("MOT-CUA", {"desk"})
    assert demo_tokens(runtime.db, runtime.settings, path) == tokens  # same ones at the next start
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(RuntimeError):
        demo_tokens(runtime.db, Settings(environment="production"), path)


def test_a_known_token_is_remembered_briefly_and_a_revocation_elsewhere_lands_within_that_delay(
    runtime, monkeypatch
):
    import orchestrator.access as access

    client, token = create_token(runtime.db, name="busy agency system", scopes=["admin"])
    assert authenticate(runtime.db, token) is not None
    lookups = []
    monkeypatch.setattr(runtime.db, "read", lambda: lookups.append(1) or pytest.fail("no lookup expected"))
    assert authenticate(runtime.db, token) is not None and not lookups  # served from the cache
    monkeypatch.undo()
    # Another process revokes: this one still knows the token until the cache entry expires.
    with runtime.db.write() as session:
        session.get(ApiClient, client.id).revoked_at = access.utcnow()
    assert authenticate(runtime.db, token) is not None
    clock = access.time.monotonic() + access.AUTH_CACHE_SECONDS + 0.1
    monkeypatch.setattr(access.time, "monotonic", lambda: clock)
    assert authenticate(runtime.db, token) is None
