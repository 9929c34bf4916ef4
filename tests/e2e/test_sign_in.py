"""A person signs in as the demo nurse and sees the home page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from demo.seed import DEMO_PASSWORD, seed_demo_users
from tests.e2e.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_demo_nurse_signs_in_and_sees_home(page: Page, live_server: object) -> None:
    seed_demo_users()
    base = str(live_server)
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in")
    sign_in(page, base, "nurse", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Nora Nurse")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("Nora Nurse, RN")
    screenshot(page, "home-nurse")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_wrong_password_stays_on_sign_in(page: Page, live_server: object) -> None:
    seed_demo_users()
    sign_in(page, str(live_server), "nurse", "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
