"""Security monitoring of per-client traffic (analytics.services.security_traffic): minutes move
from Redis into hourly rows exactly, baselines are the median and MAD of the same hour of the
week, new clients get the floor, and the detectors see abnormal traffic sent from outside (real
HTTP to the live server) within a minute: an enumerating key is alerted and, in enforce mode,
suspended; a 20× spike is a volume alert and a steady rate is not."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from django.urls import reverse

from analytics.models import ClientBaseline, ClientTrafficHour, SecurityAlert, SecurityAlertAction
from analytics.selectors.security_traffic import client_traffic_figure, median_and_mad
from analytics.services import (
    client_baselines,
    client_baselines_refresh,
    client_traffic_hours_add,
    client_traffic_rollup,
    security_traffic_detect,
)
from okto88.client_guard import client_throttle_tighten
from okto88.client_traffic import (
    COUNTERS,
    IdentMinute,
    traffic_count,
    traffic_flush,
    traffic_minutes_read,
)
from okto88.models import Scope
from orders import services as order_services
from tests.client_traffic import traffic_clean, traffic_keys_delete  # noqa: F401 (traffic_clean: autouse)
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place
from tests.orders.ui_data import shop_make
from tests.platform.factories import ApiClientFactory, OperatorFactory, issue_api_key
from workshops.services import workshop_api_client_bind

ORDER = "api/v1/orders/<str:number>/"
PROBLEM = "application/problem+json"


def modes(settings, **changes) -> None:
    settings.SECURITY_DETECTOR_MODES = {**settings.SECURITY_DETECTOR_MODES, **changes}


def workshop_key(workshop):
    api_client = ApiClientFactory()
    workshop_api_client_bind(workshop_id=workshop.pk, api_client=api_client)
    return api_client, issue_api_key(client=api_client, scopes=[Scope.ORDERS_READ])


def minutes_of(counts_per_minute: list[int]) -> list[IdentMinute]:
    return [IdentMinute(counts=[n, n] + [0] * (len(COUNTERS) - 2)) for n in counts_per_minute]


def history_add(ident: str, *, hour: dt.datetime, minute_requests: list[int]) -> None:
    first = int(hour.timestamp() // 60)
    client_traffic_hours_add(minutes=[(first + index, {ident: entry})
                                      for index, entry in enumerate(minutes_of(minute_requests))])


def this_hour() -> dt.datetime:
    return dt.datetime.fromtimestamp((int(time.time()) // 3600) * 3600, tz=dt.UTC)


# --- rollup ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_rollup_moves_complete_minutes_into_hourly_rows_exactly():
    now = time.time()
    hour = this_hour() - dt.timedelta(hours=2)
    base = hour.timestamp()
    # Minute 0: 3 requests (2 answered 404 on two order numbers), minute 7: 2 requests (a 500, a 429).
    traffic_count(ident="client:7", status=200, now=base + 5)
    traffic_count(ident="client:7", status=404, endpoint=ORDER, object_id="OK-1", api_key_id=4, now=base + 6)
    traffic_count(ident="client:7", status=404, endpoint=ORDER, object_id="OK-2", api_key_id=4, now=base + 7)
    traffic_count(ident="client:7", status=500, now=base + 7 * 60 + 1)
    traffic_count(ident="client:7", status=429, now=base + 7 * 60 + 2)
    traffic_count(ident="user:3", status=403, endpoint="x/<int:id>/", object_id="9", now=base + 59 * 60)
    # The last two minutes stay in Redis for the detectors.
    traffic_count(ident="client:7", status=200, now=now)
    traffic_flush()

    done = client_traffic_rollup(now=now)
    assert done["rows"] == 2
    row = ClientTrafficHour.objects.get(ident="client:7", hour=hour)
    assert (row.requests, row.s2xx, row.s4xx, row.not_found, row.throttled, row.s5xx, row.auth_failures) == \
        (5, 1, 3, 2, 1, 1, 0)
    assert row.minute_requests[0] == 3 and row.minute_requests[7] == 2 and sum(row.minute_requests) == 5
    assert row.distinct_ids == {ORDER: 2} and row.denied_ids == {ORDER: 2}
    user_row = ClientTrafficHour.objects.get(ident="user:3")
    assert user_row.auth_failures == 1 and user_row.minute_requests[59] == 1
    current = int(now // 60)
    assert traffic_minutes_read(minutes=[current])[current]["client:7"].count("requests") == 1

    # A second run adds what arrived since, to the same row, and counts nothing twice.
    traffic_count(ident="client:7", status=200, now=base + 7 * 60 + 30)
    traffic_flush()
    client_traffic_rollup(now=now)
    row.refresh_from_db()
    assert row.requests == 6 and row.minute_requests[7] == 3


@pytest.mark.django_db
def test_rows_past_the_retention_are_deleted(settings):
    old = this_hour() - dt.timedelta(days=settings.SECURITY_TRAFFIC_RETENTION_DAYS + 1)
    history_add("client:1", hour=old, minute_requests=[1] * 60)
    history_add("client:1", hour=this_hour() - dt.timedelta(days=1), minute_requests=[1] * 60)
    assert client_traffic_rollup()["pruned"] == 1
    assert ClientTrafficHour.objects.count() == 1


# --- baselines ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_baseline_is_the_median_and_mad_of_the_same_hour_of_the_last_four_weeks():
    hour = this_hour()
    weeks = [[10] * 60, [12] * 60, [8] * 30 + [20] * 30, [10] * 60]
    for week, values in enumerate(weeks, start=1):
        history_add("client:5", hour=hour - dt.timedelta(weeks=week), minute_requests=values)
    # Not the same hour of the week, or five weeks back: not samples.
    history_add("client:5", hour=hour - dt.timedelta(weeks=1, hours=1), minute_requests=[500] * 60)
    history_add("client:5", hour=hour - dt.timedelta(weeks=5), minute_requests=[500] * 60)

    assert client_baselines_refresh(now=hour.timestamp() + 60) == 1
    # By hand: 240 samples; sorted 8×30, 10×120, 12×60, 20×30 → median 10; deviations 0×120,
    # 2×90, 10×30 → the median of the 120th and 121st is (0 + 2) / 2 = 1.
    stored = ClientBaseline.objects.get(ident="client:5")
    assert (stored.median, stored.mad, stored.samples) == (10.0, 1.0, 240)
    assert stored.hour_of_week == hour.weekday() * 24 + hour.hour
    baseline = client_baselines(idents=["client:5"], now=hour.timestamp() + 60)["client:5"]
    assert (baseline.median, baseline.mad, baseline.samples, baseline.floor) == (10.0, 1.0, 240, False)
    assert median_and_mad([1, 2, 3, 4, 100]) == (3.0, 1.0)


@pytest.mark.django_db
def test_a_new_client_gets_the_floor(settings):
    settings.SECURITY_BASELINE_FLOOR_MEDIAN, settings.SECURITY_BASELINE_FLOOR_MAD = 7.0, 3.0
    hour = this_hour()
    history_add("client:6", hour=hour - dt.timedelta(weeks=1), minute_requests=[1000] * 60)  # 60 < 120 samples
    baselines = client_baselines(idents=["client:6", "client:never-seen"], now=hour.timestamp() + 60)
    for baseline in baselines.values():
        assert (baseline.median, baseline.mad, baseline.floor) == (7.0, 3.0, True)
    assert baselines["client:6"].samples == 60


# --- detectors from traffic counted in-process -------------------------------------------------

@pytest.mark.django_db
def test_error_ratio_and_authentication_failure_bursts_are_alerted(settings):
    settings.SECURITY_ERROR_RATIO_MIN_REQUESTS, settings.SECURITY_AUTH_FAILURE_PER_MINUTE = 10, 8
    modes(settings, error_ratio="log", auth_failure="enforce")
    for index in range(12):
        traffic_count(ident="ip:203.0.113.60", status=500 if index % 2 else 502)
    for _ in range(9):
        traffic_count(ident="ip:203.0.113.61", status=401)
    for _ in range(12):
        traffic_count(ident="ip:203.0.113.62", status=200 if _ % 3 else 404)  # a third: under the ratio
    traffic_flush()
    findings = {(f.detector, f.ident) for f in security_traffic_detect()}
    assert ("error_ratio", "ip:203.0.113.60") in findings and ("auth_failure", "ip:203.0.113.61") in findings
    assert not any(ident == "ip:203.0.113.62" for _, ident in findings)
    burst = SecurityAlert.objects.get(detector="auth_failure", ident="ip:203.0.113.61")
    assert burst.mode == "enforce" and burst.action_taken == "throttle_tightened"
    assert burst.details["auth_failures"] == 9
    ratio = SecurityAlert.objects.get(detector="error_ratio")
    assert ratio.mode == "log" and ratio.action_taken == "" and ratio.details["ratio"] == 1.0

    # Detected again on the next run: still one alert, one more occurrence.
    security_traffic_detect()
    assert SecurityAlert.objects.filter(detector="auth_failure").count() == 1


@pytest.mark.django_db
def test_a_browser_checkout_within_a_second_of_the_cart_is_a_fast_flow(client, settings, fake_courier):
    modes(settings, fast_flow="enforce")
    settings.SECURITY_TIGHTENED_RATE = "2/hour"
    shop = shop_make()
    for offer in shop.pad.offers.all()[:1]:
        order_services.cart_line_add(workshop=shop.buyer.workshop, offer_id=offer.pk, quantity=1)
    client.force_login(shop.buyer.user)
    cart = client.get(reverse("orders:cart"))
    preview = cart.context["preview"]
    form = {"address": shop.buyer.address.pk, "payment_method": "terms",
            "idempotency_token": cart.context["idempotency_token"], "accept_changes": "1"}
    for group in preview.groups:
        form[f"ship_{group.supplier_id}"] = f"{group.choice.carrier_code}|{group.choice.service_level}"
    assert client.post(reverse("orders:checkout"), form).status_code == 302
    traffic_flush()
    findings = [f for f in security_traffic_detect() if f.detector == "fast_flow"]
    assert [f.ident for f in findings] == [f"user:{shop.buyer.user.pk}"]
    alert = SecurityAlert.objects.get(detector="fast_flow")
    assert alert.action_taken == "throttle_tightened"
    statuses = [client.get(reverse("orders:list")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.django_db
def test_a_slow_checkout_is_no_fast_flow(client, settings):
    from okto88.client_traffic import CART_CHANGED_SESSION_KEY, flow_order_placed

    settings.SECURITY_FAST_FLOW_SECONDS = 1.0
    request = type("Request", (), {})()
    request.session = {CART_CHANGED_SESSION_KEY: time.time() - 5}
    request.user = type("User", (), {"is_authenticated": True, "pk": 1})()
    assert flow_order_placed(request) is False
    request.session[CART_CHANGED_SESSION_KEY] = time.time() - 0.2
    assert flow_order_placed(request) is True


# --- from outside: real HTTP to the live server ------------------------------------------------

def within_one_minute(seconds_needed: float = 20) -> None:
    """Traffic is counted per clock minute: a probe that must land in one minute starts in the
    next one when fewer than `seconds_needed` are left of this one (a busy CI run once split
    25 requests 21 + 4 across a minute's end)."""
    left = 60 - time.time() % 60
    if left < seconds_needed:
        time.sleep(left + 0.05)


def live_get(base: str, path: str, raw_key: str) -> requests.Response:
    return requests.get(f"{base}{path}", headers={"Authorization": f"Api-Key {raw_key}"}, timeout=10)


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["enforce", "log"])
def test_a_key_enumerating_other_workshops_orders_is_alerted_and_in_enforce_mode_stopped(
        live_server, settings, mode):
    modes(settings, enumeration=mode)
    settings.SECURITY_ENUMERATION_DISTINCT_IDS = 20
    started = time.monotonic()
    carriers_ensure()  # the live server's transactional tests start from empty tables
    prober, victim, bystander = buyer_make(), buyer_make(), buyer_make()
    offer, _ = offer_in_stock(on_hand=5)
    order_services.cart_line_add(workshop=victim.workshop, offer_id=offer.pk, quantity=1)
    theirs = place(buyer=victim)
    prober_client, prober_key = workshop_key(prober.workshop)
    _bystander_client, bystander_key = workshop_key(bystander.workshop)

    numbers = [theirs.number] + [f"{theirs.number[:8]}{index:06d}" for index in range(24)]
    within_one_minute()
    answers = [live_get(live_server.url, f"/api/v1/orders/{number}/", prober_key.raw_key).status_code
               for number in numbers]
    assert answers == [404] * 25  # another workshop's order looks exactly like a missing one
    traffic_flush()  # what the serving process's flusher does every second
    security_traffic_detect()  # what beat runs every few seconds

    alert = SecurityAlert.objects.get(detector="enumeration")
    assert alert.ident == f"client:{prober_client.pk}" and alert.mode == mode
    assert alert.details["endpoint"] == ORDER and alert.details["distinct_denied_ids"] == 25
    after = live_get(live_server.url, "/api/v1/orders/", prober_key.raw_key)
    if mode == "enforce":
        assert alert.action_taken == "key_suspended"
        assert after.status_code == 403 and after.headers["Content-Type"].startswith(PROBLEM)
        assert after.json()["code"] == "api_key_suspended"
    else:
        assert alert.action_taken == "" and after.status_code == 200
    assert live_get(live_server.url, "/api/v1/orders/", bystander_key.raw_key).status_code == 200
    assert time.monotonic() - started < 60


@pytest.mark.integration
def test_a_20x_spike_from_one_key_is_a_volume_alert_and_a_steady_rate_is_not(live_server, settings):
    settings.SECURITY_VOLUME_FLOOR_PER_MINUTE = 50
    modes(settings, volume="log")
    started = time.monotonic()
    spiker, steady = issue_api_key(), issue_api_key()
    hour = this_hour()
    # Four weeks of this hour of the week at about 5 a minute (4, 5, 6): median 5, MAD 1.
    for ident in (f"client:{spiker.api_key.client_id}", f"client:{steady.api_key.client_id}"):
        for week in range(1, 5):
            history_add(ident, hour=hour - dt.timedelta(weeks=week), minute_requests=[4, 5, 6] * 20)
    client_baselines_refresh()

    within_one_minute()
    for _ in range(5):
        assert live_get(live_server.url, "/api/v1/me/", steady.raw_key).status_code == 200
    with requests.Session() as session:
        session.headers["Authorization"] = f"Api-Key {spiker.raw_key}"
        statuses = {session.get(f"{live_server.url}/api/v1/me/", timeout=10).status_code for _ in range(100)}
    assert statuses == {200}
    traffic_flush()
    findings = security_traffic_detect()

    volume = SecurityAlert.objects.get(detector="volume")
    assert volume.ident == f"client:{spiker.api_key.client_id}"
    assert volume.details["median"] == 5.0 and volume.details["mad"] == 1.0 and volume.details["z"] > 3.5
    assert volume.details["new_client_floor"] is False
    assert not [f for f in findings if f.ident == f"client:{steady.api_key.client_id}"]
    assert time.monotonic() - started < 60


@pytest.mark.django_db
def test_the_security_page_lists_the_busiest_callers_against_their_baseline(client):
    hour = this_hour()
    caller, quiet = issue_api_key(), issue_api_key()
    ident = f"client:{caller.api_key.client_id}"
    for week in range(1, 5):
        history_add(ident, hour=hour - dt.timedelta(weeks=week), minute_requests=[4, 5, 6] * 20)
    client_baselines_refresh()
    history_add(ident, hour=hour, minute_requests=[5] * 59 + [100])
    history_add(f"client:{quiet.api_key.client_id}", hour=hour, minute_requests=[1] * 60)
    client_throttle_tighten(ident=ident, seconds=60)

    rows = client_traffic_figure().rows
    assert [row["ident"] for row in rows] == [ident, f"client:{quiet.api_key.client_id}"]
    top = rows[0]
    assert top["who"] == caller.api_key.client.name and top["requests"] == 5 * 59 + 100
    assert top["peak_per_minute"] == 100 and (top["baseline_median"], top["baseline_mad"]) == (5.0, 1.0)
    assert top["peak_z"] == round(0.6745 * 95, 1) and top["enforced"] == SecurityAlertAction.THROTTLE_TIGHTENED.label
    assert rows[1]["new_client"] is True and rows[1]["enforced"] == ""

    operator = OperatorFactory()
    client.force_login(operator)
    page = client.get("/ops/security/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="figure-client_traffic"' in html and caller.api_key.client.name in html and ident in html


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_detectors_as_beat_sends_them(celery_worker, settings):
    from okto88.celery import task_send

    traffic_keys_delete()
    for index in range(25):
        traffic_count(ident="ip:203.0.113.70", status=404, endpoint=ORDER, object_id=f"OK-2612-{index:06d}")
    traffic_flush()
    task_send("analytics.security_traffic_detect")  # beat's schedule entry, by name
    deadline = time.monotonic() + 30
    while not SecurityAlert.objects.filter(detector="enumeration", ident="ip:203.0.113.70").exists():
        assert time.monotonic() < deadline, celery_worker.log_text()[-3000:]
        time.sleep(0.2)
    assert settings.CELERY_BEAT_SCHEDULE["analytics-security-traffic-detect"]["task"] == \
        "analytics.security_traffic_detect"
    # The worker tightened the address's throttle: this process sees it with its next flush.
    traffic_flush()
    from okto88.client_guard import ident_tightened_until

    assert ident_tightened_until("ip:203.0.113.70") is not None
