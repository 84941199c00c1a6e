"""The lockout page in a real browser: five wrong passwords, then the page that says how long to
wait, on a phone and on a desktop, in Indonesian."""

from __future__ import annotations

import pytest

from tests.e2e.test_e2e_accounts import log_in
from tests.platform.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_five_wrong_passwords_show_the_lockout_page(new_page, live_server, screenshot, settings, device):
    settings.LOGIN_LOCKOUT_ACCOUNT_FAILURES = 5
    settings.LOGIN_LOCKOUT_COOLOFF_SECONDS = 900
    UserFactory(email="budi@bengkel.co.id")
    page = new_page(device)
    for _ in range(4):
        log_in(page, live_server, "budi@bengkel.co.id", password="salah")
        assert "tidak cocok" in page.get_by_role("alert").inner_text()
    log_in(page, live_server, "budi@bengkel.co.id", password="salah")
    page.wait_for_load_state()

    assert page.get_by_role("heading", name="Terlalu banyak percobaan").is_visible()
    assert page.get_by_text("Silakan coba lagi dalam 15 menit.").is_visible()
    back = page.get_by_role("link", name="Kembali ke halaman masuk")
    assert back.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    screenshot(page, f"login-lockout-{device}")

    back.click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    log_in(page, live_server, "budi@bengkel.co.id")  # the right password: still refused
    assert page.get_by_role("heading", name="Terlalu banyak percobaan").is_visible()
