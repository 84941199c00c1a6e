"""The per-client traffic table of /ops/security/ in a real browser, at desktop and phone width:
the busiest callers with their baseline, inside the page (the table scrolls in its own box)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from analytics.services import client_baselines_refresh, client_traffic_hours_add
from okto88.client_guard import client_throttle_tighten
from okto88.client_traffic import COUNTERS, IdentMinute
from tests.e2e.test_e2e_accounts import log_in
from tests.platform.factories import OperatorFactory, issue_api_key

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NO_SIDEWAYS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def history_add(ident: str, *, hour: dt.datetime, minute_requests: list[int]) -> None:
    first = int(hour.timestamp() // 60)
    client_traffic_hours_add(minutes=[
        (first + index, {ident: IdentMinute(counts=[n, n] + [0] * (len(COUNTERS) - 2))})
        for index, n in enumerate(minute_requests)])


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_operator_reads_the_client_traffic_table(new_page, live_server, screenshot, device):
    OperatorFactory(email="ops@okto88.id")
    hour = dt.datetime.fromtimestamp((int(time.time()) // 3600) * 3600, tz=dt.UTC)
    busy = issue_api_key()
    ident = f"client:{busy.api_key.client_id}"
    for week in range(1, 5):
        history_add(ident, hour=hour - dt.timedelta(weeks=week), minute_requests=[4, 5, 6] * 20)
    client_baselines_refresh()
    history_add(ident, hour=hour, minute_requests=[5] * 59 + [120])
    history_add("ip:203.0.113.80", hour=hour, minute_requests=[2] * 60)
    client_throttle_tighten(ident=ident, seconds=300)

    page = new_page(device)
    log_in(page, live_server, "ops@okto88.id")
    page.goto(f"{live_server.url}/ops/security/#figure-client_traffic")
    table = page.locator("#figure-client_traffic")
    assert table.locator("tbody tr").count() == 2
    assert busy.api_key.client.name in table.inner_text() and "203.0.113.80" in table.inner_text()
    assert page.evaluate(NO_SIDEWAYS)
    screenshot(page, f"ops-security-traffic-{device}")
