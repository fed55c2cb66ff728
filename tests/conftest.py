"""Fixtures: a fresh database per test on SQLite and, when configured, on PostgreSQL.

The schema comes from the real Alembic migrations, run once per session; each test then
gets a copy (SQLite) or emptied tables (PostgreSQL).  Without ``LIENTHONG_TEST_PG_URL``
the PostgreSQL variants are skipped, with that reason in the summary.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from orchestrator.calendar import models as _calendar_models  # noqa: F401  (its tables are truncated too)
from orchestrator.config import Settings
from orchestrator.dossiers import models as _dossier_models  # noqa: F401  (its tables are truncated too)
from orchestrator.handler_sdk import HandlerRegistry
from orchestrator.notify import models as _notify_models  # noqa: F401  (its tables are truncated too)
from orchestrator.runtime import Runtime
from orchestrator.store.db import Database
from orchestrator.store.migrate import upgrade
from orchestrator.store.models import Base

PG_URL = os.environ.get("LIENTHONG_TEST_PG_URL")
REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
if not CORPUS.is_dir():  # CI clones main next to shared/
    CORPUS = Path(os.environ.get("LIENTHONG_CORPUS", "/work/shared/corpus"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema() -> str:
    if not PG_URL:
        pytest.skip("PostgreSQL not configured: set LIENTHONG_TEST_PG_URL to run the PostgreSQL variants")
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    database = Database(PG_URL)
    upgrade(database)
    database.dispose()
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with the migrated schema and no rows."""
    if request.param == "sqlite":
        target = tmp_path / "lienthong.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_schema")
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def handlers() -> HandlerRegistry:
    """A registry of its own per test, so test handlers never leak between tests."""
    return HandlerRegistry()


@pytest.fixture
def runtime(database_url: str, handlers: HandlerRegistry, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, handler_modules=(), processes_dir=tmp_path / "processes")
    rt = Runtime.create(settings, handlers=handlers)
    yield rt
    rt.close()


@pytest.fixture
def engine(runtime: Runtime):
    return runtime.engine


@pytest.fixture
def client(runtime: Runtime):
    from api import create_app

    return create_app(runtime=runtime).test_client()
