"""The deadline endpoints of /api/v1: calendar due, control sheet, re-appointment, on-time indicator."""

from __future__ import annotations

import time_machine

from orchestrator.services import definitions, external_tasks, instances

from .api_helpers import auth_headers
from .test_deadlines import PROCEDURE, _open_task, _procedure, vn

PROBLEM = "application/problem+json"


def test_calendar_due_matches_the_cli_contract(client, runtime):
    headers = auth_headers(runtime, ("worker",), agency="CA-XA")
    answer = client.get(
        "/api/v1/calendar/due",
        query_string={"start": "2026-02-13T16:10:00+07:00", "duration": "3wd"},
        headers=headers,
    )
    assert answer.status_code == 200 and answer.get_json() == {"due": "2026-02-25T17:00:00+07:00"}
    handover = client.get(
        "/api/v1/calendar/due",
        query_string={"start": "2026-02-13T16:10:00+07:00", "duration": "0.5wd", "cutoff": "false"},
        headers=headers,
    )
    # A hand-over at 16:10 on Friday: 50 minutes that day, then Tết 16–20/2, then 190 minutes on 23/2.
    assert handover.get_json() == {"due": "2026-02-23T10:40:00+07:00"}


def test_calendar_due_refuses_bad_input(client, runtime):
    headers = auth_headers(runtime)
    for query in (
        {"start": "2026-02-13T16:10:00+07:00", "duration": "3 parsecs"},
        {"start": "2026-02-13T16:10:00", "duration": "3wd"},  # no offset
        {"start": "2026-02-13T16:10:00+07:00", "duration": "3wd", "pause": "2026-02-14T10:00:00+07:00/bad"},
    ):
        answer = client.get("/api/v1/calendar/due", query_string=query, headers=headers)
        assert answer.status_code == 400 and answer.mimetype == PROBLEM
    assert client.get("/api/v1/calendar/due", query_string={"duration": "3wd"}).status_code == 401


def test_control_sheet_reappointment_and_indicator_over_http(client, runtime, engine):
    definitions.deploy(engine, [_procedure()])
    desk = auth_headers(runtime, ("desk",))
    police = auth_headers(runtime, ("worker",), agency="CA-XA")
    with time_machine.travel(vn("2026-11-23T08:00"), tick=False):
        started = instances.start_instance(engine, PROCEDURE, business_key="HS-9")
        external_tasks.complete_external_task(engine, _open_task(engine, started.id, "a"))
        instances.correlate_message(engine, "bo-sung", business_key="HS-9")
    with time_machine.travel(vn("2026-11-30T08:00"), tick=False):  # step b overdue by now
        from orchestrator.ticker import tick

        tick(engine)
        sheet = client.get(f"/api/v1/process-instances/{started.id}/deadlines", headers=desk).get_json()
        assert [(row["scope"], row["activityId"], row["outcome"]) for row in sheet["items"]] == [
            ("dossier", None, None),
            ("step", "a", "early"),
            ("step", "b", None),
        ]
        notices = client.get("/api/v1/notifications", headers=police).get_json()["items"]
        assert notices and all(n["agency"] == "CA-XA" for n in notices)
        first = client.post(
            f"/api/v1/process-instances/{started.id}/reappointment",
            headers=police,
            json={"newDue": "2026-12-04T16:00:00+07:00", "reason": "Chờ xác minh nơi cư trú"},
        )
        assert first.status_code == 200 and first.get_json()["reappointedBy"] == "CA-XA"
        second = client.post(
            f"/api/v1/process-instances/{started.id}/reappointment",
            headers=police,
            json={"newDue": "2026-12-05T16:00:00+07:00", "reason": "lần hai"},
        )
        assert second.status_code == 409 and second.mimetype == PROBLEM
        stats = client.get(
            "/api/v1/stats/on-time",
            headers=desk,
            query_string={
                "from": "2026-11-01T00:00:00+07:00",
                "to": "2026-12-01T00:00:00+07:00",
                "procedure": PROCEDURE,
            },
        ).get_json()
    assert (stats["received"], stats["openOverdue"], stats["onTimeRate"]) == (1, 1, 0.0)
