"""The console in a real browser: log in, find the stuck dossiers, see the overdue step, retry an incident.

Drives Debian's Chromium (``/usr/bin/chromium``) through Playwright against a live ``serve``
process; no browser is ever downloaded (install with ``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1``).
Without the playwright package or the browser the test is skipped, saying which is missing.
Screenshots of every step go to ``tests/artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.clock import utcnow

from .agency_fixtures import admin_token, live_server
from .console_helpers import (
    FIRST_STEP,
    deploy_birth_registration,
    start_incident_dossier,
    start_overdue_dossier,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt install chromium)"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    folder = SCREENSHOTS / request.node.callspec.id
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _queue_keys(page) -> list[str]:
    return page.locator("#stuck-queue tbody tr td:nth-child(2)").all_inner_texts()


def test_admin_finds_a_stuck_dossier_and_retries_its_incident(
    runtime, database_url, tmp_path, browser, shots
):
    expect = sync_api.expect
    deploy_birth_registration(runtime)
    start_overdue_dossier(runtime, "HS-QUA-HAN", now=utcnow())
    start_incident_dossier(runtime, "HS-SU-CO")
    token = admin_token(runtime)

    with live_server(database_url, tmp_path) as base:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="vi-VN")
        page.goto(f"{base}/console/")
        expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
        page.screenshot(path=shots / "01-dang-nhap.png")
        page.fill("#token", token)
        page.get_by_role("button", name="Đăng nhập").click()
        expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()
        page.screenshot(path=shots / "02-tong-quan.png", full_page=True)

        page.get_by_role("link", name="Hồ sơ bị vướng").first.click()
        expect(page.locator("#stuck-queue")).to_be_visible()
        assert {"HS-QUA-HAN", "HS-SU-CO"} <= set(_queue_keys(page))
        page.screenshot(path=shots / "03-ho-so-bi-vuong.png", full_page=True)

        page.get_by_role("link", name="HS-QUA-HAN").first.click()
        step = page.locator(f'#diagram g[data-element-id="{FIRST_STEP}"]')
        expect(step).to_have_class(_contains("lt-overdue"))
        stroke = step.locator(".lt-body").first.evaluate("shape => getComputedStyle(shape).stroke")
        assert stroke == "rgb(198, 40, 40)"  # drawn red, not only tagged
        page.screenshot(path=shots / "04-ho-so-qua-han.png", full_page=True)

        page.goto(f"{base}/console/stuck?kind=incident")
        page.get_by_role("link", name="HS-SU-CO").first.click()
        retry = page.locator("form.retry")
        retry.locator("textarea[name=reason]").fill("Máy chủ hộ tịch đã hoạt động lại")
        page.screenshot(path=shots / "05-thu-lai.png", full_page=True)
        retry.get_by_role("button", name="Thử lại").click()
        expect(page.locator(".flash.success")).to_contain_text("Đã thử lại sự cố")
        expect(page.locator("table.history")).to_contain_text("Máy chủ hộ tịch đã hoạt động lại")

        page.get_by_role("link", name="Hồ sơ bị vướng").first.click()
        expect(page.locator("#stuck-queue")).to_be_visible()
        assert "HS-SU-CO" not in _queue_keys(page) and "HS-QUA-HAN" in _queue_keys(page)
        page.screenshot(path=shots / "06-sau-khi-thu-lai.png", full_page=True)

        page.get_by_role("link", name="Thủ tục").first.click()
        page.get_by_role("link", name="Liên thông đăng ký khai sinh").first.click()
        expect(page.locator(f'#diagram g[data-element-id="{FIRST_STEP}"]')).to_be_visible()
        page.screenshot(path=shots / "07-thu-tuc.png", full_page=True)
        page.close()


def _contains(css_class: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")
