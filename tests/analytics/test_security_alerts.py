"""Security alerts (analytics.services.security_alerts): one open alert per detector and ident,
one event and one mail per new alert, acknowledgement and mute, and two processes raising at once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from analytics.models import SecurityAlert, SecurityAlertAction, SecurityAlertStatus
from analytics.selectors.security import security_alerts_open_count
from analytics.services.security_alerts import (
    DETAILS_MAX_KEYS,
    MUTE_MAX_HOURS,
    security_alert_acknowledge,
    security_alert_mute,
    security_alert_raise,
)
from okto88.events import event_payload_errors, event_topic
from okto88.models import OutboxEvent, Scope
from tests.platform.factories import OperatorFactory, UserFactory, issue_api_key
from tests.suppliers.factories import SupplierApiClientFactory, SupplierMemberFactory
from tests.workshops.factories import WorkshopMemberFactory

pytestmark = pytest.mark.django_db

FIGURES = {"count": 900, "baseline_median": 40, "baseline_mad": 6.5, "z_score": 12.3, "route": "catalog:part-list"}


def raise_volume(ident: str = "client:7", **overrides):
    kwargs = {"detector": "volume", "ident": ident, "mode": "log", "details": FIGURES, **overrides}
    return security_alert_raise(**kwargs)


def alert_events():
    return list(OutboxEvent.objects.filter(topic="security.alert").order_by("pk"))


# --- dedup ----------------------------------------------------------------------------------

def test_raising_twice_gives_one_open_alert_two_occurrences_one_event_and_one_mail(django_capture_on_commit_callbacks):
    operator = OperatorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = raise_volume()
    with django_capture_on_commit_callbacks(execute=True):
        second = raise_volume(details={"count": 1200, "z_score": 15.0})

    assert first.pk == second.pk
    alert = SecurityAlert.objects.get()
    assert alert.status == SecurityAlertStatus.OPEN and alert.occurrences == 2
    assert second.occurrences == 2
    assert alert.last_seen_at >= alert.first_seen_at
    # The latest figures win, the others stay.
    assert alert.details == {**FIGURES, "count": 1200, "z_score": 15.0}
    [event] = alert_events()
    assert event.aggregate_id == str(alert.pk) and event.payload["alert_id"] == alert.pk
    assert event.payload["details"] == FIGURES
    assert [m.to for m in mail.outbox] == [[operator.email]]
    assert security_alerts_open_count() == 1


def test_other_detector_or_ident_opens_its_own_alert():
    raise_volume()
    raise_volume(ident="client:8")
    raise_volume(detector="error_ratio")
    assert SecurityAlert.objects.count() == 3 and len(alert_events()) == 3


def test_a_stronger_action_is_kept_on_the_open_alert():
    raise_volume(mode="enforce", action_taken=SecurityAlertAction.KEY_SUSPENDED)
    alert = raise_volume(mode="enforce", action_taken=SecurityAlertAction.THROTTLE_TIGHTENED)
    alert.refresh_from_db()
    assert alert.action_taken == SecurityAlertAction.KEY_SUSPENDED
    raise_volume(ident="client:8", mode="enforce")
    upgraded = raise_volume(ident="client:8", mode="enforce", action_taken=SecurityAlertAction.THROTTLE_TIGHTENED)
    upgraded.refresh_from_db()
    assert upgraded.action_taken == SecurityAlertAction.THROTTLE_TIGHTENED


# --- acknowledgement and mute ------------------------------------------------------------------

def test_a_detection_after_acknowledgement_opens_a_new_alert(django_capture_on_commit_callbacks):
    operator = OperatorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = raise_volume()
    acknowledged = security_alert_acknowledge(alert=first, user=operator)
    assert acknowledged.status == SecurityAlertStatus.ACKNOWLEDGED
    assert acknowledged.acknowledged_by == operator and acknowledged.acknowledged_at is not None
    assert security_alerts_open_count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        second = raise_volume()

    assert second.pk != first.pk and second.status == SecurityAlertStatus.OPEN and second.occurrences == 1
    first.refresh_from_db()
    assert first.occurrences == 1 and first.status == SecurityAlertStatus.ACKNOWLEDGED
    assert len(alert_events()) == 2 and len(mail.outbox) == 2


def test_acknowledging_twice_keeps_the_first_acknowledgement():
    first_operator, second_operator = OperatorFactory(), OperatorFactory()
    alert = raise_volume()
    security_alert_acknowledge(alert=alert, user=first_operator)
    again = security_alert_acknowledge(alert=alert, user=second_operator)
    assert again.acknowledged_by == first_operator


def test_a_mute_swallows_detections_until_it_ends(django_capture_on_commit_callbacks):
    operator = OperatorFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        alert = raise_volume()
        muted = security_alert_mute(alert=alert, user=operator, hours=24)
    assert muted.status == SecurityAlertStatus.MUTED and muted.muted_until == start + timedelta(hours=24)
    assert security_alerts_open_count() == 0

    with time_machine.travel(start + timedelta(hours=23, minutes=59), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert raise_volume(details={"count": 5000}) is None
    # Counted on the muted alert, nobody told.
    muted.refresh_from_db()
    assert muted.occurrences == 2 and muted.details["count"] == 5000 and muted.status == SecurityAlertStatus.MUTED
    assert SecurityAlert.objects.count() == 1 and len(alert_events()) == 1 and mail.outbox == []

    with time_machine.travel(start + timedelta(hours=24, seconds=1), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        reopened = raise_volume()
    assert reopened is not None and reopened.pk != alert.pk and reopened.status == SecurityAlertStatus.OPEN
    assert len(alert_events()) == 2 and len(mail.outbox) == 1


def test_a_mute_covers_only_its_detector_and_ident():
    operator = OperatorFactory()
    security_alert_mute(alert=raise_volume(), user=operator, hours=1)
    assert raise_volume(ident="client:8") is not None
    assert raise_volume(detector="auth_failure") is not None


@pytest.mark.parametrize("hours", [0, -1, MUTE_MAX_HOURS + 1, 1.5, "24", True])
def test_a_mute_is_bounded(hours):
    alert = raise_volume()
    with pytest.raises(ValueError):
        security_alert_mute(alert=alert, user=OperatorFactory(), hours=hours)
    alert.refresh_from_db()
    assert alert.status == SecurityAlertStatus.OPEN and alert.muted_until is None


def test_a_mute_of_the_longest_length_is_accepted():
    alert = security_alert_mute(alert=raise_volume(), user=OperatorFactory(), hours=MUTE_MAX_HOURS)
    assert alert.muted_until - alert.acknowledged_at == timedelta(hours=MUTE_MAX_HOURS)


def test_acknowledging_a_muted_alert_ends_the_mute():
    operator = OperatorFactory()
    alert = security_alert_mute(alert=raise_volume(), user=operator, hours=24)
    security_alert_acknowledge(alert=alert, user=operator)
    alert.refresh_from_db()
    assert alert.status == SecurityAlertStatus.ACKNOWLEDGED and alert.muted_until is None
    assert raise_volume() is not None


# --- mails and the event ------------------------------------------------------------------------

def test_mails_go_to_active_operators_only_each_in_their_language(django_capture_on_commit_callbacks):
    indonesian = OperatorFactory(preferred_language="id")
    english = OperatorFactory(preferred_language="en")
    OperatorFactory(is_active=False)
    UserFactory()  # not staff
    with django_capture_on_commit_callbacks(execute=True):
        raise_volume(mode="enforce", action_taken=SecurityAlertAction.THROTTLE_TIGHTENED)
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {indonesian.email, english.email}
    assert by_address[english.email].subject == "Security alert: Request volume from client:7"
    assert "Throttle tightened" in by_address[english.email].body
    assert "z_score: 12.3" in by_address[english.email].body
    assert "/ops/security/" in by_address[english.email].body
    assert by_address[indonesian.email].subject.startswith("Peringatan keamanan")


def test_no_mail_and_no_alert_when_the_callers_transaction_rolls_back(django_capture_on_commit_callbacks):
    OperatorFactory()

    class Abort(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Abort), transaction.atomic():
        raise_volume()
        raise Abort
    assert SecurityAlert.objects.count() == 0 and alert_events() == [] and mail.outbox == []


def test_the_event_matches_its_contract_and_reaches_no_partner():
    alert = raise_volume(mode="enforce", action_taken=SecurityAlertAction.KEY_SUSPENDED,
                         details={"distinct_ids": 140, "ids_sample": [1, 2, 3], "route": "orders:detail"})
    [event] = alert_events()
    assert event_payload_errors(topic="security.alert", payload=event.payload, version=event.schema_version) == []
    assert event.payload == {"alert_id": alert.pk, "detector": "volume", "ident": "client:7", "mode": "enforce",
                             "action_taken": "key_suspended", "first_seen_at": alert.first_seen_at.isoformat(),
                             "details": {"distinct_ids": 140, "ids_sample": [1, 2, 3], "route": "orders:detail"}}
    assert event_topic("security.alert").audience is None  # platform only: no webhook, no events feed


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [
    {"detector": "port_scan"},
    {"mode": "block"},
    {"action_taken": "banned"},
    {"ident": "7"},
    {"ident": "client:"},
    {"ident": "client:" + "9" * 114},
    {"ident": "ip:10.0.0.1 extra"},
    {"details": {"api_key": "ok88_abcdef"}},
    {"details": {"Authorization": "Bearer x"}},
    {"details": {"nested": {"a": 1}}},
    {"details": {"text": "x" * 301}},
    {"details": {"ids": list(range(51))}},
    {"details": {f"k{n}": n for n in range(DETAILS_MAX_KEYS + 1)}},
    {"details": ["count", 1]},
])
def test_bad_input_is_refused_and_nothing_is_saved(overrides):
    with pytest.raises(ValueError):
        raise_volume(**overrides)
    assert SecurityAlert.objects.count() == 0 and alert_events() == []


def test_the_longest_ident_is_accepted():
    ident = "ip:" + "f" * 117
    assert len(ident) == 120
    assert raise_volume(ident=ident).ident == ident


# --- two processes at once -------------------------------------------------------------------

def _raise_in_thread(results: list, errors: list, barrier: threading.Barrier | None = None) -> None:
    try:
        if barrier is not None:
            barrier.wait(timeout=10)
        results.append(raise_volume())
    except Exception as exc:  # the test reports it
        errors.append(exc)
    finally:
        connections.close_all()


def _waiting_on_a_lock(timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_second_process_inserting_at_the_same_moment_counts_on_the_first_alert():
    """The second raiser looks before the first commits (it sees no open alert), so its insert
    waits on the partial unique index, fails when the first commits, and it counts instead."""
    results, errors = [], []
    with transaction.atomic():
        mine = raise_volume()
        other = threading.Thread(target=_raise_in_thread, args=(results, errors))
        other.start()
        assert _waiting_on_a_lock(), "the second raiser never waited on the first one's insert"
    other.join(timeout=10)
    assert errors == []
    [theirs] = results
    assert theirs.pk == mine.pk
    alert = SecurityAlert.objects.get()
    assert alert.status == SecurityAlertStatus.OPEN and alert.occurrences == 2
    assert len(alert_events()) == 1


@pytest.mark.django_db(transaction=True)
def test_many_threads_raising_at_once_open_one_alert():
    threads, results, errors = 6, [], []
    barrier = threading.Barrier(threads)
    workers = [threading.Thread(target=_raise_in_thread, args=(results, errors, barrier)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=20)
    assert errors == []
    assert len({alert.pk for alert in results}) == 1
    alert = SecurityAlert.objects.get()
    assert alert.occurrences == threads and len(alert_events()) == 1


# --- the operators' page (/ops/security/) -----------------------------------------------------

def operator_browser(user=None) -> Client:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user or OperatorFactory())
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    browser.get("/ops/security/")  # sets the CSRF cookie
    return browser


def csrf(browser: Client) -> dict:
    return {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value}


def test_the_page_lists_open_alerts_first_with_their_figures():
    old_open = raise_volume(ident="client:1")
    acknowledged = raise_volume(ident="client:2", details={"distinct_ids": 321})
    security_alert_acknowledge(alert=acknowledged, user=OperatorFactory())
    raise_volume(ident="client:3")
    html = operator_browser().get("/ops/security/").content.decode()
    positions = [html.index(f'id="alert-{pk}"') for pk in (old_open.pk, acknowledged.pk)]
    assert positions[0] < positions[1]  # open before acknowledged, though acknowledged was seen later
    assert html.index("client:3") < html.index("client:1")  # among open ones, the latest first
    assert "Request volume" in html and "distinct_ids" in html and "321" in html
    assert 'class="badge ops-badge"' in html and ">2<" in html  # two open alerts in the navigation


def test_the_page_shows_times_in_jakarta():
    with time_machine.travel(dt.datetime(2026, 12, 7, 1, 30, tzinfo=dt.UTC), tick=False):
        raise_volume()
    html = operator_browser().get("/ops/security/").content.decode()
    assert "8:30" in html or "08:30" in html


def test_the_page_filters_by_status_and_detector_and_says_when_a_filter_is_unknown():
    raise_volume(ident="client:1")
    raise_volume(ident="client:2", detector="enumeration")
    browser = operator_browser()
    html = browser.get("/ops/security/?detector=enumeration").content.decode()
    assert "client:2" in html and "client:1" not in html
    assert "client:1" not in browser.get("/ops/security/?status=acknowledged").content.decode()
    response = browser.get("/ops/security/?status=closed")
    assert response.status_code == 400 and b"Unknown filter value" in response.content
    assert b"client:1" in response.content  # every alert, the bad filter dropped


def test_the_page_shows_50_alerts_a_page():
    for n in range(51):
        raise_volume(ident=f"client:{n}")
    browser = operator_browser()
    first = browser.get("/ops/security/").content.decode()
    second = browser.get("/ops/security/?page=2").content.decode()
    assert first.count('class="security-alert ') == 50 and second.count('class="security-alert ') == 1
    assert "Page 1 of 2" in first
    assert browser.get("/ops/security/?page=999").status_code == 200  # the last page


def test_acknowledge_and_mute_from_the_page_need_csrf_and_keep_the_filter():
    operator = OperatorFactory()
    browser = operator_browser(operator)
    alert = raise_volume()
    path = f"/ops/security/{alert.pk}/acknowledge/"
    assert browser.post(path).status_code == 403  # no CSRF token
    response = browser.post(path, {**csrf(browser), "status": "open", "detector": "volume", "page": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/ops/security/?status=open&detector=volume&page=1"
    alert.refresh_from_db()
    assert alert.status == SecurityAlertStatus.ACKNOWLEDGED and alert.acknowledged_by == operator
    assert "is acknowledged" in browser.get(response["Location"]).content.decode()

    second = raise_volume()
    response = browser.post(f"/ops/security/{second.pk}/mute/", {**csrf(browser), "hours": "168",
                                                                 "status": "<script>"})
    assert response.status_code == 302 and response["Location"] == "/ops/security/"
    second.refresh_from_db()
    assert second.status == SecurityAlertStatus.MUTED
    assert second.muted_until - second.acknowledged_at == timedelta(days=7)
    assert raise_volume() is None


@pytest.mark.parametrize("hours", ["", "12", "720", "abc", "99999999999"])
def test_the_page_mutes_only_for_the_lengths_it_offers(hours):
    browser = operator_browser()
    alert = raise_volume()
    response = browser.post(f"/ops/security/{alert.pk}/mute/", {**csrf(browser), "hours": hours}, follow=True)
    assert b"Choose how long to mute" in response.content
    alert.refresh_from_db()
    assert alert.status == SecurityAlertStatus.OPEN


def test_an_unknown_alert_is_404_and_get_is_refused():
    browser = operator_browser()
    assert browser.post("/ops/security/999999/acknowledge/", csrf(browser)).status_code == 404
    assert browser.get(f"/ops/security/{raise_volume().pk}/mute/").status_code == 405


@pytest.mark.parametrize("member", ["workshop", "supplier", "plain"])
def test_non_operators_cannot_see_or_answer_alerts(member):
    user = {"workshop": lambda: WorkshopMemberFactory().user, "supplier": lambda: SupplierMemberFactory().user,
            "plain": UserFactory}[member]()
    alert = raise_volume()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get("/ops/security/").status_code == 403
    browser.get("/")
    token = {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value} if "csrftoken" in browser.cookies else {}
    assert browser.post(f"/ops/security/{alert.pk}/acknowledge/", token).status_code == 403
    assert browser.post(f"/ops/security/{alert.pk}/mute/", {**token, "hours": "24"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == SecurityAlertStatus.OPEN


def test_anonymous_is_sent_to_login():
    response = Client().get("/ops/security/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_page_speaks_indonesian_by_default():
    raise_volume()
    browser = Client()
    browser.force_login(OperatorFactory())
    html = browser.get("/ops/security/").content.decode()
    assert "Peringatan keamanan" in html and "Volume permintaan" in html


def test_the_admin_lists_alerts_read_only():
    alert = raise_volume()
    browser = Client()
    browser.force_login(OperatorFactory())
    assert browser.get("/admin/analytics/securityalert/").status_code == 200
    assert browser.get(f"/admin/analytics/securityalert/{alert.pk}/change/").status_code == 200
    assert browser.get("/admin/analytics/securityalert/add/").status_code == 403


# --- the API (/api/v1/ops/security/alerts/) ---------------------------------------------------

def api(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def test_the_api_pages_alerts_newest_first_with_filters():
    alerts = [raise_volume(ident=f"client:{n}") for n in range(3)]
    raise_volume(ident="user:9", detector="login_lockout")
    key = issue_api_key(scopes=[Scope.OPS_READ]).raw_key
    body = api(key).get("/api/v1/ops/security/alerts/?page_size=2&detector=volume").json()
    assert [row["id"] for row in body["results"]] == [alerts[2].pk, alerts[1].pk]
    assert body["results"][0]["details"] == FIGURES and body["results"][0]["status"] == "open"
    rest = api(key).get(body["next"]).json()
    assert [row["id"] for row in rest["results"]] == [alerts[0].pk] and rest["next"] is None
    only = api(key).get("/api/v1/ops/security/alerts/?detector=login_lockout").json()["results"]
    assert [row["ident"] for row in only] == ["user:9"]
    assert api(key).get("/api/v1/ops/security/alerts/?status=muted").json()["results"] == []


@pytest.mark.parametrize("query", ["status=closed", "detector=x", "page_size=0", "cursor=bogus"])
def test_the_api_answers_bad_input_as_problem_json(query):
    key = issue_api_key(scopes=[Scope.OPS_READ]).raw_key
    response = api(key).get(f"/api/v1/ops/security/alerts/?{query}")
    assert response.status_code in (400, 404)
    assert response["Content-Type"].startswith("application/problem+json")


def test_the_api_refuses_keys_without_ops_read_and_keys_acting_for_a_supplier():
    response = api(issue_api_key(scopes=[Scope.CATALOG_READ]).raw_key).get("/api/v1/ops/security/alerts/")
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"
    supplier_key = issue_api_key(scopes=list(Scope.values))
    SupplierApiClientFactory(api_client=supplier_key.api_key.client)
    assert api(supplier_key.raw_key).get("/api/v1/ops/security/alerts/").status_code == 403
