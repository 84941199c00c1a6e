"""A newcomer's first minutes in a real browser: log in, navigate by role, switch language."""

from __future__ import annotations

import pytest

from tests.platform.factories import OperatorFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, email: str, password: str = "s3cret-Passw0rd") -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()


def test_an_operator_logs_in_sees_admin_and_switches_to_english(page, live_server, screenshot):
    OperatorFactory(email="ops@okto88.id", full_name="Rina Operator")
    page.goto(live_server.url)
    assert page.locator("html").get_attribute("lang") == "id"
    screenshot(page, "home-anonymous-desktop")

    log_in(page, live_server, "ops@okto88.id")
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_text("Selamat datang kembali, Rina Operator.").is_visible()
    assert page.get_by_role("link", name="Admin", exact=True).first.is_visible()
    screenshot(page, "home-operator-desktop")

    page.get_by_role("button", name="EN").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("Welcome back, Rina Operator.").is_visible()


def test_a_wrong_password_is_announced(page, live_server, screenshot):
    OperatorFactory(email="ops@okto88.id")
    log_in(page, live_server, "ops@okto88.id", password="salah")
    alert = page.get_by_role("alert")
    assert "tidak cocok" in alert.inner_text()
    screenshot(page, "login-error-desktop")


def test_the_menu_folds_on_a_phone_and_opens_with_a_tap(phone_page, live_server, screenshot):
    OperatorFactory(email="ops@okto88.id")
    log_in(phone_page, live_server, "ops@okto88.id")
    phone_page.wait_for_url(f"{live_server.url}/")
    nav_link = phone_page.locator(".mainnav a", has_text="Admin")
    assert not nav_link.is_visible()
    phone_page.get_by_label("Menu").click()
    assert nav_link.is_visible()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "no horizontal scrolling on a phone"
    screenshot(phone_page, "home-operator-phone-menu")
