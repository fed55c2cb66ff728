"""Console pages: dashboard, stuck queue, dossier, procedure, CSV downloads (Flask test client)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from lxml import html as lxml_html

from api.console.charts import segments
from api.console.formatting import age, vn_datetime
from orchestrator.admin import StatisticsRow
from orchestrator.services import definitions, instances

from .agency_fixtures import admin_token
from .bpmn_builder import two_step
from .console_helpers import (
    FIRST_STEP,
    HOSTILE,
    KEY,
    build_scenario,
    login,
)

NOW = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)  # Monday 16/03/2026 10:00 in Vietnam


@pytest.fixture
def scenario(client, runtime):
    """Logged in at ``NOW``, with one dossier overdue at its first step and one in incident."""
    built = build_scenario(runtime, now=NOW)
    with time_machine.travel(NOW, tick=False):
        login(client, admin_token(runtime))
        yield built


def _rows(page_text: str) -> list[str]:
    """The business keys listed in the stuck queue, in order."""
    tree = lxml_html.fromstring(page_text)
    return [" ".join(row.text_content().split()) for row in tree.xpath("//table[@id='stuck-queue']/tbody/tr")]


def test_dates_are_vietnam_time_and_ages_read_naturally():
    assert vn_datetime(datetime(2026, 3, 16, 17, 5, tzinfo=UTC)) == "17/03/2026 00:05"
    assert vn_datetime("2026-03-16T03:00:00+00:00") == "16/03/2026 10:00" and vn_datetime(None) == ""
    assert (age(59), age(3 * 3600 + 120), age(2 * 86400 + 3600), age(86400)) == (
        "0 phút", "3 giờ 2 phút", "2 ngày 1 giờ", "1 ngày",
    )  # fmt: skip


def test_chart_segments_add_up_to_the_whole_bar():
    row = StatisticsRow("UBND-XA", "UBND", received=8, early=1, on_time=3, late=0,
                        open_within_time=2, open_overdue=2, paused=0)  # fmt: skip
    parts = segments(row)
    assert [(s.css_class, s.count) for s in parts] == [
        ("early", 1),
        ("on-time", 3),
        ("open", 2),
        ("overdue", 2),
    ]
    assert sum(s.percent for s in parts) == pytest.approx(100)


def test_dashboard_counts_per_agency_and_procedure_with_bars(client, scenario):
    page = client.get("/console/")
    assert page.status_code == 200
    tree = lxml_html.fromstring(page.text)
    by_procedure = tree.xpath("//section[@id='theo-procedure']//tbody/tr")
    assert len(by_procedure) == 1 and KEY in by_procedure[0].text_content()
    cells = [td.text_content().strip() for td in by_procedure[0].xpath("./td[@class='num']")]
    assert cells[0] == "2"  # received: both dossiers
    assert by_procedure[0].xpath(".//div[@class='bar']/span")  # a drawn bar
    assert tree.xpath("//section[@id='theo-agency']//tbody/tr")
    for label in ("Trước hạn", "Đúng hạn", "Quá hạn", "Đang tạm dừng", "Cơ quan", "Thủ tục"):
        assert label in page.text


def test_dashboard_date_filter_and_bad_dates(client, scenario):
    empty = client.get("/console/", query_string={"from": "2025-01-01", "to": "2025-01-31"})
    assert "Chưa có hồ sơ nào trong khoảng thời gian này." in empty.text
    bad = client.get("/console/", query_string={"from": "31/01/2025"})
    assert "Ngày không hợp lệ" in bad.text


def test_statistics_and_stuck_queue_download_as_csv(client, scenario):
    for group in ("agency", "procedure"):
        answer = client.get("/console/statistics.csv", query_string={"group_by": group})
        assert answer.status_code == 200 and answer.mimetype == "text/csv"
        assert answer.headers["Content-Disposition"].startswith("attachment; filename=")
        assert len(answer.data.decode("utf-8-sig").strip().splitlines()) >= 2
    stuck = client.get("/console/stuck.csv", query_string={"kind": "incident"})
    text = stuck.data.decode("utf-8-sig")
    assert stuck.mimetype == "text/csv" and "HS-SU-CO" in text and "HS-QUA-HAN" not in text
    assert client.get("/console/statistics.csv", query_string={"group_by": "nonsense"}).status_code == 400


def test_stuck_queue_lists_filters_and_sorts(client, scenario):
    page = client.get("/console/stuck")
    rows = _rows(page.text)
    assert any("HS-SU-CO" in row and "Sự cố" in row for row in rows)
    assert any("HS-QUA-HAN" in row and "Bước quá hạn" in row for row in rows)
    only_incidents = _rows(client.get("/console/stuck", query_string={"kind": "incident"}).text)
    assert only_incidents and all("HS-SU-CO" in row for row in only_incidents)
    oldest_first = _rows(client.get("/console/stuck", query_string={"sort": "age"}).text)
    newest_first = _rows(client.get("/console/stuck", query_string={"sort": "-age"}).text)
    assert oldest_first == list(reversed(newest_first)) or oldest_first[0] != newest_first[0]
    sorted_page = client.get("/console/stuck", query_string={"sort": "agency"}).text
    assert 'aria-sort="ascending"' in sorted_page
    nobody = _rows(client.get("/console/stuck", query_string={"agency": "NO-SUCH"}).text)
    assert nobody == []


def test_dossier_page_shows_diagram_control_sheet_variables_and_history(client, scenario):
    page = client.get(f"/console/dossiers/{scenario.overdue_id}")
    assert page.status_code == 200
    tree = lxml_html.fromstring(page.text)
    [step] = tree.xpath(f"//div[@id='diagram']//g[@data-element-id='{FIRST_STEP}']")
    assert "lt-overdue" in step.get("class")
    sheet = tree.xpath("//table[@class='control-sheet']/tbody/tr")
    assert sheet[0].xpath("./th")[0].text_content() == "Cả hồ sơ"
    first_step = next(r for r in sheet if r.get("data-activity-id") == FIRST_STEP)
    assert first_step.xpath("./td[@class='outcome']")[0].text_content() == "Quá hạn"
    assert re.search(r"02/03/2026 \d\d:\d\d", page.text)  # received 14 days earlier, Vietnam time
    assert "Nguyễn Thị Lan" in page.text and "Phiếu kiểm soát" in page.text and "Lịch sử" in page.text
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text  # variables are escaped
    assert "Vì sao hồ sơ bị vướng" in page.text
    history = [
        " ".join(td.text_content().split()) for td in tree.xpath("//table[@class='history']//tr/td[2]")
    ]
    assert "Tiếp nhận hồ sơ instance_started" in history and "Quá hạn deadline_overdue" in history


def test_dossier_page_offers_the_retry_only_where_there_is_an_incident(client, scenario):
    with_incident = client.get(f"/console/dossiers/{scenario.incident_id}").text
    assert f"/console/tasks/{scenario.incident_task_id}/retry" in with_incident and "Thử lại" in with_incident
    overdue = client.get(f"/console/dossiers/{scenario.overdue_id}").text
    assert "/retry" not in overdue and "/extend" in overdue


def test_unknown_dossier_and_procedure_are_a_vietnamese_404(client, scenario):
    for path in ("/console/dossiers/no-such-id", "/console/procedures/no-such:1:x"):
        answer = client.get(path)
        assert (
            answer.status_code == 404 and "Không tìm thấy" in answer.text and answer.mimetype == "text/html"
        )


def test_procedure_page_draws_the_heatmap(client, scenario):
    listing = client.get("/console/procedures")
    assert f"/console/procedures/{scenario.definition_id}" in listing.text
    page = client.get(f"/console/procedures/{scenario.definition_id}")
    tree = lxml_html.fromstring(page.text)
    assert tree.xpath(f"//div[@id='diagram']//g[@data-element-id='{FIRST_STEP}']")
    counts = {
        row.xpath("./th//code")[0].text_content(): (
            row.xpath("./th")[0].text_content(),
            [td.text_content() for td in row.xpath("./td")],
        )
        for row in tree.xpath("//table[@class='stats']/tbody/tr")
    }
    name, numbers = counts[FIRST_STEP]
    assert name.startswith("Kiểm tra hồ sơ")  # the step's name from the diagram, its id small beside
    assert numbers == ["2", "1"]  # two open dossiers there, one in incident


def test_a_diagram_without_a_drawing_still_shows_the_dossier(client, runtime, engine):
    definitions.deploy(engine, [two_step()])
    started = instances.start_instance(engine, "p", business_key="HS-KHONG-HINH")
    login(client, admin_token(runtime))
    page = client.get(f"/console/dossiers/{started.id}")
    assert page.status_code == 200 and "không có phần hình vẽ" in page.text and "HS-KHONG-HINH" in page.text
