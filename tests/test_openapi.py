"""The /api/v1 OpenAPI document: public, OpenAPI 3, complete, and honest about auth and errors."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

from orchestrator.access import Scope

PROBLEM = "application/problem+json"
OPERATIONS = {
    "/api/v1/process-definitions": {"get"},
    "/api/v1/process-definitions/{key}": {"get"},
    "/api/v1/process-definitions/{key}/start": {"post"},
    "/api/v1/process-instances": {"get"},
    "/api/v1/process-instances/{instance_id}": {"get"},
    "/api/v1/process-instances/{instance_id}/cancel": {"post"},
    "/api/v1/process-instances/{instance_id}/tasks/{task_id}/complete": {"post"},
    "/api/v1/process-instances/{instance_id}/history": {"get"},
    "/api/v1/agencies/{code}/tasks": {"get"},
}
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


@pytest.fixture
def spec(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")  # no token: the spec is public
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def test_the_spec_is_openapi_3_with_every_v1_operation(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    # Other v1 modules may add paths; these must all be there with exactly these methods.
    documented = {path: {m for m in item if m in METHODS} for path, item in spec["paths"].items()}
    assert {path: documented.get(path) for path in OPERATIONS} == OPERATIONS
    assert all(path.startswith("/api/v1/") for path in documented)


def test_the_spec_validates_when_a_validator_is_installed(spec):
    """Full validation needs openapi-spec-validator (not a dependency); the other tests check structure."""
    if importlib.util.find_spec("openapi_spec_validator") is None:
        pytest.skip("openapi-spec-validator is not installed (structure is checked by the other tests)")
    from openapi_spec_validator import validate

    validate(spec)


def test_every_reference_resolves(spec):
    for reference in set(references(spec)):
        assert reference.startswith("#/"), reference
        node: Any = spec
        for part in reference[2:].split("/"):
            assert part in node, f"dangling {reference}"
            node = node[part]


def test_every_operation_is_documented(spec):
    for path, method, operation in operations(spec):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert operation.get("tags"), where
        assert any(code.startswith("2") for code in operation["responses"]), where
        parameters = {p["name"] for p in spec["paths"][path].get("parameters", [])}
        assert parameters == set(path.replace("}", "{").split("{")[1::2]), where


def test_bearer_auth_is_required_everywhere_and_401_403_documented(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearerAuth": []}]
    for path, method, operation in operations(spec):
        assert operation.get("security", spec["security"]) == [{"bearerAuth": []}], path
        assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"
        # "any": every valid token (the working-day calendar is public law, not dossier data)
        assert operation["x-required-scope"] in {scope.value for scope in Scope} | {"any"}, path
    assert spec["paths"]["/api/v1/agencies/{code}/tasks"]["get"]["x-required-scope"] == "worker"


def test_errors_are_documented_as_problem_details(spec):
    responses = spec["components"]["responses"]
    for name in ("BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "DEFAULT_ERROR"):
        assert list(responses[name]["content"]) == [PROBLEM], name
    problem = spec["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem)
    for path, method, operation in operations(spec):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")) and "content" in response:
                assert list(response["content"]) == [PROBLEM], f"{method} {path} {code}"


def test_lists_document_cursor_pagination(spec):
    for path in ("/api/v1/process-instances", "/api/v1/process-definitions", "/api/v1/agencies/{code}/tasks"):
        parameters = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert {"cursor", "limit"} <= set(parameters), path
        assert parameters["limit"]["schema"]["maximum"] == 200
    filters = {p["name"] for p in spec["paths"]["/api/v1/process-instances"]["get"]["parameters"]}
    assert {"status", "procedure", "agency", "businessKey"} <= filters
    page = spec["components"]["schemas"]["InstancePage"]["properties"]
    assert set(page) == {"items", "nextCursor"}


def test_start_documents_its_body_and_idempotency_key(spec):
    start = spec["paths"]["/api/v1/process-definitions/{key}/start"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in start["parameters"] if p["in"] == "header"}
    assert {"201", "400", "404", "409", "422"} <= set(start["responses"])
    body = start["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][body]["properties"]) == {"businessKey", "variables"}
    instance = spec["components"]["schemas"]["Instance"]["properties"]
    assert {
        "id",
        "definitionId",
        "processKey",
        "businessKey",
        "status",
        "version",
        "currentActivities",
    } <= set(instance)


def test_the_swagger_ui_points_at_the_spec(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "/api/v1/openapi.json" in page.get_data(as_text=True)


def test_swagger_ui_works_offline(client):
    """The docs page loads its scripts from this server, not from a CDN (no internet at a province)."""
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page and "cdn." not in page
    script = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.get_data()) > 100_000
