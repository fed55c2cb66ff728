"""Jinja2 used directly (no Flask in the core): templates shipped in this package, autoescaped."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import formatting


@cache
def environment() -> Environment:
    """One shared environment: compiled templates are cached in it, and it is read-only after setup."""
    env = Environment(
        loader=PackageLoader("orchestrator.documents", "templates"),
        # Applicant names and reasons are typed by people: every value placed in a page is escaped.
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,  # a misspelt field fails the test instead of printing nothing
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        instant=formatting.instant,
        day=formatting.day,
        dateline=formatting.dateline,
        duration=formatting.duration,
    )
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)
