"""Camunda input/output parameters evaluated with the safe expression environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def evaluate_parameters(
    parameters: list[dict[str, Any]], variables: Mapping[str, Any], environment: Any
) -> dict:
    """Evaluate each ``{"name", "kind", "value"}`` parameter against ``variables``.

    Script parameters never get here: the validator refuses them, or (where Camunda's
    own examples use them) they are skipped with a warning at deploy time.
    """
    result: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.get("kind") == "script":
            continue
        result[parameter["name"]] = _evaluate_value(parameter, variables, environment)
    return result


def _evaluate_value(value: dict[str, Any], variables: Mapping[str, Any], environment: Any) -> Any:
    kind = value.get("kind")
    if kind == "list":
        return [_evaluate_value(item, variables, environment) for item in value["value"]]
    if kind == "map":
        return {key: _evaluate_value(item, variables, environment) for key, item in value["value"].items()}
    text = value.get("value") or ""
    if "${" in text or "#{" in text:
        return environment.evaluate(text, dict(variables))
    return text  # a plain text parameter is a string constant, as in Camunda
