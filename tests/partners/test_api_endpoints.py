"""The webhooks API (/api/v1/webhooks/), from outside with API keys: endpoints are managed with
the scope webhooks:manage, each client sees only its own, subscriptions are limited to what the
client may see, the URL passes the SSRF guard, and the secret is shown once."""

from __future__ import annotations

import base64
import socket
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from okto88.models import Scope
from partners import services
from partners.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret
from tests.platform.factories import ApiClientFactory, OperatorFactory, issue_api_key
from tests.problems import assert_problem
from tests.suppliers.factories import SupplierApiClientFactory
from tests.workshops.factories import WorkshopFactory
from workshops.services import workshop_api_client_bind

pytestmark = pytest.mark.django_db
BASE = "/api/v1/webhooks/endpoints/"
HOOK = "http://127.0.0.1:9/hooks"  # development settings allow loopback and http


def api(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client



def supplier_partner(*scopes: str):
    """A supplier's ERP: a client bound to a supplier, with stock:write and webhooks:manage."""
    issued = issue_api_key(scopes=[Scope.STOCK_WRITE, Scope.WEBHOOKS_MANAGE, *scopes])
    SupplierApiClientFactory(api_client=issued.api_key.client)
    return issued


def workshop_partner():
    issued = issue_api_key(scopes=[Scope.ORDERS_READ, Scope.WEBHOOKS_MANAGE])
    workshop_api_client_bind(workshop_id=WorkshopFactory().pk, api_client=issued.api_key.client)
    return issued


def create(partner, **body):
    return api(partner.raw_key).post(BASE, {"url": HOOK, "event_types": ["offer.price_changed"], **body}, format="json")


@pytest.fixture
def sent(monkeypatch):
    """The delivery tasks enqueued after commit (the engine's task, by name)."""
    calls = []
    monkeypatch.setattr("partners.services.deliveries.task_send",
                        lambda name, *, kwargs=None, countdown=None: calls.append((name, kwargs)))
    return calls


def test_a_supplier_creates_an_endpoint_and_gets_its_secret_once():
    partner = supplier_partner()
    response = create(partner, event_types=["offer.price_changed_batch", "offer.price_changed"], description="ERP")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"] == HOOK and body["state"] == "active" and body["description"] == "ERP"
    assert body["event_types"] == ["offer.price_changed", "offer.price_changed_batch"]
    secret = body["secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64
    assert WebhookSecret.objects.get(endpoint_id=body["id"]).secret == secret
    # Never again: not in the detail, not in the list.
    detail = api(partner.raw_key).get(f"{BASE}{body['id']}/")
    listing = api(partner.raw_key).get(BASE)
    assert detail.status_code == 200 and listing.status_code == 200
    assert "secret" not in detail.json() and secret not in detail.content.decode()
    assert [e["id"] for e in listing.json()["results"]] == [body["id"]]
    assert secret not in listing.content.decode()


def test_the_client_lists_what_it_may_subscribe_to():
    supplier = supplier_partner()
    types = api(supplier.raw_key).get("/api/v1/webhooks/event-types/").json()["event_types"]
    assert "offer.price_changed" in types and not [t for t in types if t.startswith(("order.", "part."))]
    catalog = issue_api_key(scopes=[Scope.CATALOG_READ, Scope.WEBHOOKS_MANAGE])
    types = api(catalog.raw_key).get("/api/v1/webhooks/event-types/").json()["event_types"]
    assert types and all(t.startswith("part.") for t in types)


def test_change_pause_resume_and_delete():
    partner = supplier_partner()
    endpoint_id = create(partner).json()["id"]
    client = api(partner.raw_key)
    changed = client.patch(f"{BASE}{endpoint_id}/", {"url": "http://127.0.0.1:8/new", "is_active": False,
                                                     "event_types": ["stock.changed_batch"]}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["state"] == "paused" and changed.json()["url"] == "http://127.0.0.1:8/new"
    assert changed.json()["event_types"] == ["stock.changed_batch"]
    resumed = client.patch(f"{BASE}{endpoint_id}/", {"is_active": True}, format="json")
    assert resumed.json()["state"] == "active" and resumed.json()["event_types"] == ["stock.changed_batch"]
    assert client.delete(f"{BASE}{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint_id).exists()
    assert_problem(client.get(f"{BASE}{endpoint_id}/"), 404, "webhook_endpoint_not_found")


def test_another_clients_endpoint_is_invisible_and_untouched():
    owner, other = supplier_partner(), supplier_partner()
    endpoint_id = create(owner).json()["id"]
    stranger = api(other.raw_key)
    for response in (stranger.get(f"{BASE}{endpoint_id}/"),
                     stranger.patch(f"{BASE}{endpoint_id}/", {"url": "http://127.0.0.1:7/x"}, format="json"),
                     stranger.delete(f"{BASE}{endpoint_id}/"),
                     stranger.post(f"{BASE}{endpoint_id}/rotate-secret/", {}, format="json"),
                     stranger.post(f"{BASE}{endpoint_id}/test/", {}, format="json"),
                     stranger.get(f"{BASE}{endpoint_id}/deliveries/"),
                     stranger.post(f"{BASE}{endpoint_id}/replay-failed/", {"since": "2026-01-01T00:00:00Z"},
                                   format="json")):
        assert_problem(response, 404, "webhook_endpoint_not_found")
    assert stranger.get(BASE).json()["results"] == []
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    assert endpoint.url == HOOK and endpoint.secrets.count() == 1


def test_another_clients_delivery_is_invisible_through_ones_own_endpoint(sent):
    owner, other = supplier_partner(), supplier_partner()
    theirs = WebhookEndpoint.objects.get(pk=create(owner).json()["id"])
    delivery = services.endpoint_test_send(endpoint=theirs)
    mine = create(other).json()["id"]
    client = api(other.raw_key)
    assert_problem(client.get(f"{BASE}{mine}/deliveries/{delivery.pk}/"), 404, "webhook_delivery_not_found")
    assert_problem(client.post(f"{BASE}{mine}/deliveries/{delivery.pk}/replay/"), 404, "webhook_delivery_not_found")


def test_the_scope_is_needed_and_a_browser_session_has_no_endpoints():
    without = issue_api_key(scopes=[Scope.STOCK_WRITE])
    body = assert_problem(api(without.raw_key).get(BASE), 403, "insufficient_scope")
    assert "webhooks:manage" in body["detail"]
    browser = APIClient()
    browser.force_login(OperatorFactory())
    assert_problem(browser.get(BASE), 403, "no_api_client")


@pytest.mark.parametrize(("body", "code", "topics"), [
    ({"event_types": ["offer.price_changed", "no.such"]}, "webhook_event_type_unknown", ["no.such"]),
    # order.* is the workshops' audience: a supplier's client may not receive it.
    ({"event_types": ["offer.price_changed", "order.placed"]}, "webhook_event_type_not_visible", ["order.placed"]),
    # part.* needs catalog:read, which this client's keys lack.
    ({"event_types": ["part.updated"]}, "webhook_event_type_not_visible", ["part.updated"]),
])
def test_event_types_the_client_may_not_receive_are_refused_by_name(body, code, topics):
    partner = supplier_partner()
    problem = assert_problem(create(partner, **body), 400, code)
    assert problem["topics"] == topics
    assert not WebhookEndpoint.objects.exists()


def test_a_workshop_may_subscribe_to_its_orders_and_not_to_stock():
    partner = workshop_partner()
    assert create(partner, event_types=["order.placed"]).status_code == 201
    assert_problem(create(partner, event_types=["offer.price_changed"]), 400, "webhook_event_type_not_visible")


def test_catalog_changes_need_catalog_read():
    partner = supplier_partner(Scope.CATALOG_READ)
    assert create(partner, event_types=["part.updated", "offer.price_changed"]).status_code == 201


def test_no_event_types_is_a_validation_error():
    response = create(supplier_partner(), event_types=[])
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"][0]["field"] == "event_types"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hooks", "http://no-such-host.invalid/hooks", "not a url",
                                 "http://user:pw@127.0.0.1/hooks"])
def test_a_bad_url_is_refused(url):
    assert_problem(create(supplier_partner(), url=url), 400, "webhook_url_not_allowed")
    assert not WebhookEndpoint.objects.exists()


def test_a_url_over_the_length_cap_is_refused():
    long_url = "http://127.0.0.1/" + "a" * 2000
    assert_problem(create(supplier_partner(), url=long_url), 400, "validation_error")


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False, WEBHOOK_REQUIRE_HTTPS=True)
@pytest.mark.parametrize("url", ["https://127.0.0.1/hooks", "https://169.254.169.254/latest/meta-data/",
                                 "https://10.1.2.3/hooks", "https://[::1]/hooks", "http://93.184.215.14/hooks"])
def test_the_production_profile_refuses_private_addresses_and_plain_http(url):
    partner = supplier_partner()
    assert_problem(create(partner, url=url), 400, "webhook_url_not_allowed")
    endpoint_id = WebhookEndpoint.objects.create(api_client=partner.api_key.client, url="https://93.184.215.14/",
                                                 event_types=["offer.price_changed"]).pk
    response = api(partner.raw_key).patch(f"{BASE}{endpoint_id}/", {"url": url}, format="json")
    assert_problem(response, 400, "webhook_url_not_allowed")
    assert WebhookEndpoint.objects.get(pk=endpoint_id).url == "https://93.184.215.14/"


@override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=False, WEBHOOK_REQUIRE_HTTPS=True)
def test_the_production_profile_refuses_a_name_that_resolves_to_the_metadata_address(monkeypatch):
    def resolve(host, port, *args, **kwargs):
        address = {"hooks.partner.example": "93.184.215.14", "sneaky.partner.example": "169.254.169.254"}[host]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    partner = supplier_partner()
    assert create(partner, url="https://hooks.partner.example/okto88").status_code == 201
    body = assert_problem(create(partner, url="https://sneaky.partner.example/"), 400, "webhook_url_not_allowed")
    assert body["address"] == "169.254.169.254"


@override_settings(WEBHOOK_ENDPOINTS_PER_CLIENT=2)
def test_a_client_has_at_most_the_configured_number_of_endpoints():
    partner = supplier_partner()
    assert [create(partner).status_code for _ in range(2)] == [201, 201]
    body = assert_problem(create(partner), 409, "webhook_endpoint_limit_reached")
    assert body["limit"] == 2
    assert WebhookEndpoint.objects.count() == 2


def test_rotating_gives_a_new_secret_once_and_says_when_the_old_one_stops():
    partner = supplier_partner()
    created = create(partner).json()
    before = timezone.now()
    response = api(partner.raw_key).post(f"{BASE}{created['id']}/rotate-secret/", {"overlap_hours": 2},
                                         format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != created["secret"]
    expires = timezone.datetime.fromisoformat(body["previous_secret_expires_at"])
    assert before + timedelta(hours=2) <= expires <= timezone.now() + timedelta(hours=2)
    live = [s.secret for s in WebhookSecret.objects.filter(endpoint_id=created["id"])]
    assert sorted(live) == sorted([body["secret"], created["secret"]])
    assert body["secret"] not in api(partner.raw_key).get(f"{BASE}{created['id']}/").content.decode()


def test_a_test_message_is_queued_after_commit_and_logged(sent, django_capture_on_commit_callbacks):
    partner = supplier_partner()
    endpoint_id = create(partner).json()["id"]
    client = api(partner.raw_key)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{BASE}{endpoint_id}/test/", {"message": "halo"}, format="json")
        assert sent == []  # not before the delivery row is committed
    assert response.status_code == 202, response.content
    delivery = WebhookDelivery.objects.get(pk=response.json()["delivery"])
    assert delivery.message_id == response.json()["message_id"] and delivery.message_id.startswith("msg_")
    assert (delivery.topic, delivery.event_id, delivery.status) == ("webhook.test", None, DeliveryStatus.PENDING)
    assert delivery.test_payload == {"endpoint": endpoint_id, "message": "halo"}
    assert sent == [("partners.webhook_deliver", {"delivery_id": delivery.pk, "attempt": 0})]
    log = client.get(f"{BASE}{endpoint_id}/deliveries/").json()["results"]
    assert [(d["id"], d["event_type"], d["status"]) for d in log] == [(delivery.pk, "webhook.test", "pending")]


def test_a_paused_endpoint_gets_no_test_message(sent):
    partner = supplier_partner()
    endpoint_id = create(partner).json()["id"]
    client = api(partner.raw_key)
    client.patch(f"{BASE}{endpoint_id}/", {"is_active": False}, format="json")
    assert_problem(client.post(f"{BASE}{endpoint_id}/test/", {}, format="json"), 409, "webhook_endpoint_not_live")
    assert not WebhookDelivery.objects.exists() and sent == []


def _failed_delivery(endpoint: WebhookEndpoint, *, attempts: int = 2) -> WebhookDelivery:
    delivery = services.endpoint_test_send(endpoint=endpoint)
    for number in range(1, attempts + 1):
        WebhookAttempt.objects.create(delivery=delivery, number=number, started_at=timezone.now(), duration_ms=120,
                                      outcome="error", status_code=503, response_excerpt="down for maintenance")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=attempts,
                                                          next_attempt_at=None, last_status_code=503)
    delivery.refresh_from_db()
    return delivery


def test_the_delivery_log_shows_every_attempt_and_filters_by_status(sent):
    partner = supplier_partner()
    endpoint = WebhookEndpoint.objects.get(pk=create(partner).json()["id"])
    failed = _failed_delivery(endpoint)
    pending = services.endpoint_test_send(endpoint=endpoint)
    client = api(partner.raw_key)
    log = client.get(f"{BASE}{endpoint.pk}/deliveries/").json()["results"]
    assert [d["id"] for d in log] == [pending.pk, failed.pk]  # newest first
    only_failed = client.get(f"{BASE}{endpoint.pk}/deliveries/", {"status": "failed"}).json()["results"]
    assert [d["id"] for d in only_failed] == [failed.pk]
    assert_problem(client.get(f"{BASE}{endpoint.pk}/deliveries/", {"status": "lost"}), 400, "validation_error")
    detail = client.get(f"{BASE}{endpoint.pk}/deliveries/{failed.pk}/").json()
    assert detail["message_id"] == failed.message_id and detail["last_status_code"] == 503
    assert [(a["number"], a["outcome"], a["status_code"], a["duration_ms"], a["response_excerpt"])
            for a in detail["attempt_log"]] == [(1, "error", 503, 120, "down for maintenance"),
                                                 (2, "error", 503, 120, "down for maintenance")]


def test_a_replay_resets_the_same_delivery_and_keeps_its_history(sent, django_capture_on_commit_callbacks):
    partner = supplier_partner()
    endpoint = WebhookEndpoint.objects.get(pk=create(partner).json()["id"])
    failed = _failed_delivery(endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(partner.raw_key).post(f"{BASE}{endpoint.pk}/deliveries/{failed.pk}/replay/")
    assert response.status_code == 202, response.content
    failed.refresh_from_db()
    # Due now, the retry schedule from its start, the same webhook-id, the attempts so far kept.
    assert (failed.status, failed.attempts) == (DeliveryStatus.PENDING, 0)
    assert response.json()["message_id"] == failed.message_id
    assert failed.attempt_log.count() == 2 and WebhookDelivery.objects.count() == 1
    assert sent == [("partners.webhook_deliver", {"delivery_id": failed.pk, "attempt": 0})]


def test_a_discarded_delivery_is_not_replayed(sent):
    partner = supplier_partner()
    endpoint = WebhookEndpoint.objects.get(pk=create(partner).json()["id"])
    delivery = _failed_delivery(endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DISCARDED)
    response = api(partner.raw_key).post(f"{BASE}{endpoint.pk}/deliveries/{delivery.pk}/replay/")
    assert_problem(response, 409, "webhook_delivery_not_replayable")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DISCARDED


def test_replay_failed_since_a_time_replays_only_those(sent):
    partner = supplier_partner()
    endpoint = WebhookEndpoint.objects.get(pk=create(partner).json()["id"])
    old, recent, newer = (_failed_delivery(endpoint) for _ in range(3))
    succeeded = services.endpoint_test_send(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=succeeded.pk).update(status=DeliveryStatus.SUCCEEDED)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    response = api(partner.raw_key).post(f"{BASE}{endpoint.pk}/replay-failed/", {"since": since}, format="json")
    assert response.status_code == 202 and response.json() == {"replayed": 2}
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "failed", recent.pk: "pending", newer.pk: "pending", succeeded.pk: "succeeded"}
    # Due now, from the start of the schedule: the engine's sweep sends them.
    for delivery in WebhookDelivery.objects.filter(pk__in=[recent.pk, newer.pk]):
        assert delivery.attempts == 0 and delivery.next_attempt_at <= timezone.now()
    body = assert_problem(api(partner.raw_key).post(f"{BASE}{endpoint.pk}/replay-failed/", {"since": "yesterday"},
                                                    format="json"), 400, "validation_error")
    assert body["errors"][0]["field"] == "since"


def test_endpoints_of_one_client_do_not_mix_with_an_unbound_clients_list():
    partner = supplier_partner()
    create(partner)
    unbound = issue_api_key(client=ApiClientFactory(), scopes=[Scope.WEBHOOKS_MANAGE])
    assert api(unbound.raw_key).get(BASE).json()["results"] == []


def test_the_schema_documents_the_secret_only_where_it_is_shown():
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "secret" in components["EndpointCreatedOut"]["properties"]
    assert "secret" in components["SecretRotateOut"]["properties"]
    assert "secret" not in components["EndpointOut"]["properties"]
    operations = {(path, method) for path, item in schema["paths"].items() if path.startswith("/api/v1/webhooks/")
                  for method in item}
    assert len(operations) == 12
    for path, method in operations:
        operation = schema["paths"][path][method]
        assert operation["security"] and {"401", "403"} <= set(operation["responses"]), (path, method)
