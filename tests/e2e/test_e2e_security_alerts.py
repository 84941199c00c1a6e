"""The security alerts page (/ops/security/) in a real browser, at phone (375 px) and desktop
(1280 px) width: an operator finds it in the operations navigation with the open count, reads an
alert's figures, acknowledges one and mutes another; the page never scrolls sideways. A workshop
member is refused."""

from __future__ import annotations

import pytest

from analytics.models import SecurityAlert, SecurityAlertStatus
from analytics.services.security_alerts import security_alert_raise
from tests.e2e.test_e2e_accounts import log_in
from tests.platform.factories import OperatorFactory
from tests.workshops.factories import WorkshopMemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
WIDER = """() => Array.from(document.querySelectorAll('body *')).filter(e =>
    e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).slice(0, 5)
    .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def alerts_raise() -> tuple[SecurityAlert, SecurityAlert]:
    volume = security_alert_raise(
        detector="volume", ident="client:41", mode="enforce", action_taken="throttle_tightened",
        details={"count": 4210, "baseline_median": 180, "baseline_mad": 22.5, "z_score": 118.2,
                 "route": "catalog:part-search", "window_minutes": 5})
    enumeration = security_alert_raise(
        detector="enumeration", ident="ip:2001:db8:85a3::8a2e:370:7334", mode="log",
        details={"distinct_ids": 912, "not_found": 877, "route": "orders:detail", "ids_sample": [1001, 1002, 1003]})
    security_alert_raise(detector="login_lockout", ident="user:7", mode="enforce",
                         details={"failures": 10, "window_minutes": 15})
    return volume, enumeration


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_an_operator_reads_acknowledges_and_mutes_alerts(new_page, live_server, screenshot, device):
    operator = OperatorFactory(email=f"ops-{device}@okto88.id")
    volume, enumeration = alerts_raise()
    page = new_page(device)
    log_in(page, live_server, operator.email)
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/ops/")
    entry = page.locator(".ops-sections a", has_text="Keamanan")
    assert entry.locator(".ops-badge").inner_text().startswith("3")
    entry.click()
    page.wait_for_url(f"{live_server.url}/ops/security/")
    assert page.get_by_role("heading", name="Peringatan keamanan").is_visible()
    card = page.locator(f"#alert-{volume.pk}")
    assert "Volume permintaan" in card.inner_text() and "client:41" in card.inner_text()
    assert "Batas laju diperketat" in card.inner_text() and "118,2" in card.inner_text()  # the Indonesian decimal comma
    assert page.evaluate(NO_SIDEWAYS), page.evaluate(WIDER)
    screenshot(page, f"ops-security-{device}")

    card.get_by_role("button", name="Tandai ditangani").click()
    page.wait_for_load_state()
    assert page.locator(".message--success").is_visible()
    page.locator(f"#alert-{enumeration.pk}").get_by_role("button", name="Bisukan 7 hari").click()
    page.wait_for_load_state()
    assert "dibisukan" in page.locator(".message--success").inner_text()
    assert page.evaluate(NO_SIDEWAYS), page.evaluate(WIDER)
    screenshot(page, f"ops-security-answered-{device}")
    volume.refresh_from_db()
    enumeration.refresh_from_db()
    assert volume.status == SecurityAlertStatus.ACKNOWLEDGED and volume.acknowledged_by == operator
    assert enumeration.status == SecurityAlertStatus.MUTED

    page.select_option("#security-status", "muted")
    page.get_by_role("button", name="Tampilkan").click()
    page.wait_for_url("**status=muted**")
    assert page.locator(".security-alert").count() == 1


def test_a_workshop_member_is_refused(page, live_server):
    member = WorkshopMemberFactory()
    log_in(page, live_server, member.user.email)
    page.wait_for_url(f"{live_server.url}/**")
    response = page.goto(f"{live_server.url}/ops/security/")
    assert response.status == 403
