"""Cursor pagination: opaque cursors over (created_at, id), stable when rows arrive meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from orchestrator.access import add_agency, map_topic
from orchestrator.services import definitions, instances

from .api_helpers import auth_headers
from .bpmn_builder import two_step

PROBLEM = "application/problem+json"


@pytest.fixture
def desk(runtime):
    return auth_headers(runtime)


@pytest.fixture
def deployed(engine):
    definitions.deploy(engine, [two_step()])


def start_many(engine, count: int, prefix: str = "HS") -> list[str]:
    return [instances.start_instance(engine, "p", business_key=f"{prefix}-{n}").id for n in range(count)]


def walk(client, headers, url: str, limit: int) -> list[list[dict]]:
    """Every page of a list, following nextCursor to the end."""
    pages, cursor = [], None
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(f"{url}{'&' if '?' in url else '?'}{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append(body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            return pages


def newest_first(client, headers) -> list[str]:
    """The ids in the order the API promises: created_at desc, then id desc."""
    items = client.get("/api/v1/process-instances?limit=200", headers=headers).get_json()["items"]
    return [i["id"] for i in sorted(items, key=lambda i: (i["createdAt"], i["id"]), reverse=True)]


def test_pages_cover_every_instance_once_newest_first(client, desk, engine, deployed):
    started = start_many(engine, 7)
    pages = walk(client, desk, "/api/v1/process-instances", limit=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    listed = [i["id"] for page in pages for i in page]
    assert sorted(listed) == sorted(started)
    assert listed == newest_first(client, desk)
    assert listed[0] == started[-1]


def test_ties_on_created_at_are_broken_by_id(client, desk, engine, deployed):
    """Dossiers started in the same microsecond still page without loss or repetition."""
    with time_machine.travel(datetime(2026, 3, 9, 2, 0, tzinfo=UTC), tick=False):
        started = start_many(engine, 5)
    pages = walk(client, desk, "/api/v1/process-instances", limit=2)
    listed = [i["id"] for page in pages for i in page]
    assert listed == sorted(started, reverse=True)
    assert len({i["createdAt"] for page in pages for i in page}) == 1


def test_pages_are_stable_when_dossiers_arrive_meanwhile(client, desk, engine, deployed):
    start_many(engine, 4, "OLD")
    first = client.get("/api/v1/process-instances?limit=2", headers=desk).get_json()
    start_many(engine, 3, "NEW")  # newer than everything already listed
    rest = walk(client, desk, f"/api/v1/process-instances?cursor={first['nextCursor']}", limit=2)
    keys = [i["businessKey"] for i in first["items"]] + [i["businessKey"] for p in rest for i in p]
    assert sorted(keys) == ["OLD-0", "OLD-1", "OLD-2", "OLD-3"]  # none twice, none new, none lost


def test_a_cursor_keeps_the_filters_it_is_used_with(client, desk, engine, deployed):
    start_many(engine, 3, "A")
    start_many(engine, 3, "B")
    # Filters are applied on every page: the cursor only says where to continue.
    pages = walk(client, desk, "/api/v1/process-instances?businessKey=A-1", limit=1)
    assert [[i["businessKey"] for i in page] for page in pages] == [["A-1"]]
    pages = walk(client, desk, "/api/v1/process-instances?status=running&procedure=p", limit=4)
    assert [len(page) for page in pages] == [4, 2]


def test_default_page_size_is_50(client, desk, engine, deployed):
    start_many(engine, 51)
    body = client.get("/api/v1/process-instances", headers=desk).get_json()
    assert len(body["items"]) == 50 and body["nextCursor"] is not None
    last = client.get(f"/api/v1/process-instances?cursor={body['nextCursor']}", headers=desk).get_json()
    assert len(last["items"]) == 1 and last["nextCursor"] is None


@pytest.mark.parametrize("limit", ["0", "201", "-1", "many"])
def test_limit_is_1_to_200(client, desk, limit):
    response = client.get(f"/api/v1/process-instances?limit={limit}", headers=desk)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert [e["field"] for e in response.get_json()["errors"]] == ["limit"]


def test_limit_200_is_allowed(client, desk):
    assert client.get("/api/v1/process-instances?limit=200", headers=desk).status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "eyJrIjoiaW5zdGFuY2VzIn0", "e30", "W10", "!!!"])
def test_a_forged_cursor_is_a_400(client, desk, cursor):
    response = client.get(f"/api/v1/process-instances?cursor={cursor}", headers=desk)
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_a_cursor_of_another_list_is_refused(client, desk, engine, deployed):
    started = start_many(engine, 3)
    cursor = client.get("/api/v1/process-instances?limit=1", headers=desk).get_json()["nextCursor"]
    response = client.get(f"/api/v1/process-instances/{started[0]}/history?cursor={cursor}", headers=desk)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    response = client.get(f"/api/v1/process-definitions?cursor={cursor}", headers=desk)
    assert response.status_code == 400


def test_history_pages_follow_the_event_order(client, desk, engine, deployed):
    started = instances.start_instance(engine, "p", business_key="HS-H")
    instances.complete_task(engine, started.id, started.current_activities[0]["task_id"])
    url = f"/api/v1/process-instances/{started.id}/history"
    everything = client.get(url, headers=desk).get_json()["items"]
    pages = walk(client, desk, url, limit=3)
    assert [len(page) for page in pages] == [3, 1]
    assert [e for page in pages for e in page] == everything
    assert [e["type"] for e in everything] == [
        "instance_started",
        "handed_over",
        "task_completed",
        "handed_over",
    ]


def test_definitions_are_paged_by_key(client, desk, engine):
    for key in ("khai-sinh", "cu-tru", "ket-hon"):
        definitions.deploy(engine, [two_step(process_id=key)])
    definitions.deploy(engine, [two_step(process_id="ket-hon", topic_a="v2")])
    pages = walk(client, desk, "/api/v1/process-definitions", limit=2)
    assert [[(d["key"], d["version"]) for d in page] for page in pages] == [
        [("cu-tru", 1), ("ket-hon", 2)],
        [("khai-sinh", 1)],
    ]


def test_agency_tasks_are_paged_oldest_first(client, runtime, engine, deployed):
    add_agency(runtime.db, "CA-XA", "Công an cấp xã")
    map_topic(runtime.db, "police", "CA-XA")
    started = start_many(engine, 5)
    police = auth_headers(runtime, ("worker",), agency="CA-XA")
    pages = walk(client, police, "/api/v1/agencies/CA-XA/tasks", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [t["instanceId"] for page in pages for t in page] == started


def test_an_empty_list_has_no_cursor(client, desk):
    assert client.get("/api/v1/process-instances", headers=desk).get_json() == {
        "items": [],
        "nextCursor": None,
    }
