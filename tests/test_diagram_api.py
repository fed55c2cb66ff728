"""The diagram endpoints: SVG answers, scopes, problems for unknown ids and bad queries."""

from __future__ import annotations

import pytest
import time_machine
from lxml import etree

from handlers.notices import TOPIC, compose_result_notice
from orchestrator.services import instances
from orchestrator.services.definitions import deploy, resources_from_paths

from .api_helpers import auth_headers
from .conftest import REPO
from .test_procedure_birth import APPLICANT, KEY, MONDAY

NS = {"s": "http://www.w3.org/2000/svg"}
PROBLEM = "application/problem+json"


@pytest.fixture
def dossier(runtime, handlers):
    """The birth-registration procedure deployed and one dossier started on it."""
    handlers.register(TOPIC)(compose_result_notice)
    (definition,) = deploy(
        runtime.engine, resources_from_paths([REPO / "processes" / "birth-registration.bpmn"])
    ).definitions
    with time_machine.travel(MONDAY, tick=False):
        view = instances.start_instance(runtime.engine, KEY, business_key="HS-API-1", variables=APPLICANT)
    return definition.id, view.id


def _svg(response) -> etree._Element:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "image/svg+xml"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    return etree.fromstring(response.get_data())


def test_an_analyst_gets_the_procedure_drawn_and_only_an_admin_its_heatmap(client, runtime, dossier):
    definition_id, _ = dossier
    url = f"/api/v1/process-definitions/{definition_id}/diagram.svg"
    plain = _svg(client.get(url, headers=auth_headers(runtime, ["analyst"])))
    assert plain.xpath("//s:g[@data-element-id='KiemTraHoSo']", namespaces=NS)
    assert not plain.xpath("//*[@data-open]")
    # The heatmap counts every agency's open dossiers and incidents: console data, admins only.
    refused = client.get(f"{url}?heatmap=true", headers=auth_headers(runtime, ["analyst"], agency="CA-XA"))
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    heat = _svg(client.get(f"{url}?heatmap=true", headers=auth_headers(runtime, ["admin"])))
    (step,) = heat.xpath("//s:g[@data-element-id='KiemTraHoSo']", namespaces=NS)
    assert step.get("data-open") == "1"


def test_an_admin_gets_the_dossier_drawn_with_where_it_is(client, runtime, dossier):
    _, instance_id = dossier
    response = client.get(
        f"/api/v1/process-instances/{instance_id}/diagram.svg", headers=auth_headers(runtime, ["admin"])
    )
    (step,) = _svg(response).xpath("//s:g[@data-element-id='KiemTraHoSo']", namespaces=NS)
    assert "lt-current" in step.get("class").split()
    assert response.headers["Cache-Control"] == "private, no-store"


def test_anonymous_callers_and_other_scopes_are_refused(client, runtime, dossier):
    definition_id, instance_id = dossier
    procedure = f"/api/v1/process-definitions/{definition_id}/diagram.svg"
    case = f"/api/v1/process-instances/{instance_id}/diagram.svg"
    for url in (procedure, case):
        response = client.get(url)
        assert response.status_code == 401 and response.mimetype == PROBLEM
        agency = client.get(url, headers=auth_headers(runtime, ["worker"], agency="CA-XA"))
        assert agency.status_code == 403 and agency.mimetype == PROBLEM
    # A desk officer sees neither; an analyst sees procedures but not one citizen's dossier.
    assert client.get(procedure, headers=auth_headers(runtime, ["desk"])).status_code == 403
    assert client.get(case, headers=auth_headers(runtime, ["analyst"])).status_code == 403


def test_unknown_ids_and_bad_queries_are_problems(client, runtime, dossier):
    definition_id, _ = dossier
    headers = auth_headers(runtime, ["admin"])
    for url in (
        "/api/v1/process-definitions/no-such:1:abcdef12/diagram.svg",
        "/api/v1/process-instances/00000000-0000-0000-0000-000000000000/diagram.svg",
        f"/api/v1/process-definitions/{definition_id}/diagram.svg?diagram=no-such-diagram",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert response.mimetype == PROBLEM
    for query in ("heatmap=perhaps", "colour=red"):
        response = client.get(
            f"/api/v1/process-definitions/{definition_id}/diagram.svg?{query}", headers=headers
        )
        assert response.status_code == 400, query
        assert response.mimetype == PROBLEM


def test_the_endpoints_are_in_the_openapi_spec(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, scope in (
        ("/api/v1/process-definitions/{definition_id}/diagram.svg", "analyst"),
        ("/api/v1/process-instances/{instance_id}/diagram.svg", "admin"),
    ):
        operation = spec["paths"][path]["get"]
        assert operation["x-required-scope"] == scope
        assert "image/svg+xml" in operation["responses"]["200"]["content"]
