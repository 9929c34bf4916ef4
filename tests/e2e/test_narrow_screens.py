"""The clinical pages on a phone (390 px) and a laptop (1366 px): nothing wider than the
screen (document.scrollWidth <= the viewport's width), tables as stacked rows, and the
buttons a nurse needs on screen, with the session timer running in the header.
Screenshots: artifacts/screenshots/width-<px>-<page>.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from demo.seed import DEMO_PASSWORD
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_clinical_pages import demo_patients, row
from timelog.timer.services import timer_start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1366)


def assert_fits(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    inner_width = page.evaluate("window.innerWidth")
    assert inner_width == width
    assert scroll_width <= inner_width, f"{page.url}: {scroll_width} px wide at {width} px"


def assert_on_screen(button: Locator, width: int) -> None:
    """Visible, and inside the screen's width (a page scrolls down, never sideways)."""
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_clinical_pages_fit_the_screen(
    browser: Browser, live_server: object, width: int
) -> None:
    nurse, patients = demo_patients()
    alvarez = patients["Alvarez"]
    timer_start(user=nurse, patients=[patients["Brooks"]], note="Call")
    base = str(live_server)
    context = browser.new_context(viewport={"width": width, "height": 844 if width < 500 else 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, base, "nurse", DEMO_PASSWORD)
        header_stop = page.get_by_test_id("session-timer").get_by_test_id("timer-stop")

        page.goto(f"{base}/my-patients/?tab=all")
        assert_fits(page, width)
        assert_on_screen(header_stop, width)
        assert_on_screen(
            row(page, alvarez).get_by_role("link", name="Log time for Avery Alvarez"), width
        )
        assert_on_screen(
            row(page, alvarez).get_by_role("button", name="Start timer for Avery Alvarez"), width
        )
        assert_on_screen(row(page, alvarez).get_by_test_id("progress"), width)
        screenshot(page, f"width-{width}-my-patients")

        page.goto(f"{base}/time/log/?manual=1&patient={alvarez.pk}")
        assert_fits(page, width)
        assert_on_screen(page.get_by_role("button", name="Save", exact=True), width)
        assert_on_screen(page.get_by_label("Minutes"), width)
        screenshot(page, f"width-{width}-log-time")

        page.goto(f"{base}/time/log/")  # the timer's form
        assert_fits(page, width)
        assert_on_screen(page.get_by_role("button", name="Stop and save"), width)
        assert_on_screen(page.get_by_test_id("timer-days"), width)
        screenshot(page, f"width-{width}-log-time-timer")

        page.goto(f"{base}/time/mine/")
        assert_fits(page, width)
        entries = page.get_by_test_id("my-entries")
        assert_on_screen(entries.get_by_role("link", name="Edit entry").first, width)
        assert_on_screen(entries.get_by_role("link", name="Delete entry").first, width)
        screenshot(page, f"width-{width}-my-entries")

        page.goto(f"{base}/patients/{alvarez.pk}/")
        assert_fits(page, width)
        month = page.get_by_test_id("this-month")
        assert_on_screen(month.get_by_test_id("patient-log-time"), width)
        assert_on_screen(month.get_by_test_id("patient-start-timer"), width)
        assert_on_screen(month.get_by_test_id("progress"), width)
        screenshot(page, f"width-{width}-patient-page")

        page.get_by_role("link", name="The month in detail").click()
        assert_fits(page, width)
        screenshot(page, f"width-{width}-patient-month")
    finally:
        context.close()
