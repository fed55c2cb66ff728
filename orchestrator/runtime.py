"""Wiring one process: database, engine, handlers, worker and ticker, from settings."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import Settings
from .engine import Engine
from .handler_sdk import HandlerRegistry, registry
from .job_kinds import JOB_RUNNERS
from .store.db import Database
from .store.migrate import upgrade
from .ticker import start_ticker
from .worker import Worker

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    engine: Engine
    handlers: HandlerRegistry
    _background: list[Any] = field(default_factory=list)
    _extensions: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings | None = None, handlers: HandlerRegistry | None = None) -> Runtime:
        settings = settings or Settings.from_env()
        handlers = handlers or registry
        for module in settings.handler_modules:
            importlib.import_module(module)  # registers its topics on import
        db = Database(settings.database_url)
        return cls(settings, db, Engine(db, settings, handlers), handlers)

    def migrate(self) -> None:
        upgrade(self.db)

    def extension(self, name: str, factory: Callable[[], Any]) -> Any:
        """A per-process component created on first use and stopped by ``close()`` (e.g. a listener)."""
        with self._lock:
            component = self._extensions.get(name)
            if component is None or getattr(component, "stopped", False):
                component = self._extensions[name] = factory()
                self._background.append(component)
            return component

    def new_worker(self) -> Worker:
        return Worker(self.engine, self.handlers, runners=JOB_RUNNERS)

    def start_background(self) -> None:
        """Embedded mode: one worker thread and the ticker beside the API."""
        worker = self.new_worker()
        thread = threading.Thread(target=worker.run_forever, name="lienthong-worker", daemon=True)
        thread.start()
        self._background += [worker, start_ticker(self.engine)]

    def stop_background(self) -> None:
        for component in self._background:
            if hasattr(component, "shutdown"):
                component.shutdown(wait=False)
            else:
                component.stop()
        self._background.clear()

    def close(self) -> None:
        self.stop_background()
        self.db.dispose()
