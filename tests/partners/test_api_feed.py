"""The events feed (GET /api/v1/events/): the events an API client may see, by the webhooks'
rule (partners.selectors), in publication order, with a cursor that works across pages."""

from __future__ import annotations

import base64
import itertools
import uuid
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from okto88 import services as platform_services
from okto88.events import event_topic
from okto88.models import ApiClient, ApiKey, OutboxEvent, Scope
from okto88.redis_connection import redis_client
from partners.api_feed import feed_cursor
from partners.selectors import event_visible, partner_view
from payments.models import PaymentMethod
from suppliers import services as supplier_services
from tests.platform.factories import ApiClientFactory, OperatorFactory, issue_api_key
from tests.problems import assert_problem
from tests.suppliers.factories import StockFactory, SupplierApiClientFactory
from tests.workshops.factories import WorkshopFactory
from workshops.services import workshop_api_client_bind

pytestmark = pytest.mark.django_db
URL = "/api/v1/events/"


@pytest.fixture(autouse=True)
def _own_stream(settings):
    # The relay appends every event to this Redis stream; a test's own keeps others' clean.
    settings.OUTBOX_STREAM = f"test:feed:{uuid.uuid4().hex}"
    yield
    redis_client().delete(settings.OUTBOX_STREAM)


def api(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client



@dataclass
class Partner:
    client: ApiClient
    key: ApiKey
    raw_key: str

    def get(self, **params):
        return api(self.raw_key).get(URL, params)

    def feed(self, **params) -> dict:
        response = self.get(**params)
        assert response.status_code == 200, response.content
        return response.json()

    def everything(self, *, limit: int = 2, **params) -> tuple[list[dict], str]:
        """Every page from the start (or `after`), `limit` at a time: the events and the last cursor."""
        events, cursor = [], params.pop("after", "")
        while True:
            page = self.feed(after=cursor, limit=limit, **params)
            events += page["data"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return events, cursor


def partner(*, scopes: list[str], supplier=None, workshop=None) -> Partner:
    client = ApiClientFactory()
    if supplier is not None:
        SupplierApiClientFactory(api_client=client, supplier=supplier)
    if workshop is not None:
        workshop_api_client_bind(workshop_id=workshop.pk, api_client=client)
    issued = issue_api_key(client=client, scopes=scopes)
    return Partner(client=client, key=issued.api_key, raw_key=issued.raw_key)


_order_ids = itertools.count(1)


def order_event(*, workshop, number: str, topic: str = "order.placed") -> None:
    payload = {"order_id": next(_order_ids), "number": number, "workshop": workshop.pk,
               "status": "pending_payment", "payment_method": PaymentMethod.values[0], "grand_total": 100_000}
    with transaction.atomic():
        platform_services.outbox_event_write(topic=topic, aggregate_type="order", aggregate_id=payload["order_id"],
                                             payload=payload)


def part_event(n: int) -> None:
    payload = {"id": n, "brand_id": 1, "number": f"P-{n}", "number_key": f"P{n}", "category_id": 1,
               "name_id": "Kampas rem", "name_en": "Brake pad", "status": "active", "superseded_by_id": None,
               "version": 1, "source": "service", "actor_id": None}
    with transaction.atomic():
        platform_services.outbox_event_write(topic="part.created", aggregate_type="part", aggregate_id=n,
                                             payload=payload, version=1)


def publish() -> None:
    platform_services.outbox_relay()


@pytest.fixture
def world():
    """Two suppliers with stock and two workshops, each with its ERP's client; a catalog reader."""
    a, b = StockFactory(on_hand=10), StockFactory(on_hand=10)
    w1, w2 = WorkshopFactory(), WorkshopFactory()
    return {
        "stock_a": a, "stock_b": b, "w1": w1, "w2": w2,
        "supplier_a": partner(scopes=[Scope.STOCK_WRITE], supplier=a.offer.supplier),
        "supplier_b": partner(scopes=[Scope.STOCK_WRITE], supplier=b.offer.supplier),
        "workshop_1": partner(scopes=[Scope.ORDERS_READ], workshop=w1),
        "workshop_2": partner(scopes=[Scope.ORDERS_READ], workshop=w2),
        "catalog": partner(scopes=[Scope.CATALOG_READ]),
    }


def events_written(world) -> None:
    for delta in (1, 2, 3):
        supplier_services.stock_adjust(stock=world["stock_a"], delta=delta)
        supplier_services.stock_adjust(stock=world["stock_b"], delta=-delta)
    order_event(workshop=world["w1"], number="OK-1")
    order_event(workshop=world["w2"], number="OK-2")
    part_event(7)
    publish()


def the_rule(client: ApiClient, topics: set[str] | None = None) -> list[int]:
    """What the webhooks' rule (partners.selectors.event_visible) lets `client` see, in order."""
    view = partner_view(api_client=client)
    published = OutboxEvent.objects.filter(position__isnull=False).order_by("position")
    return [e.pk for e in published if (topics is None or e.topic in topics)
            and event_visible(view=view, topic=event_topic(e.topic), payload=e.payload)]


def test_each_client_reads_exactly_what_its_webhooks_would_receive(world):
    events_written(world)
    for name in ("supplier_a", "supplier_b", "workshop_1", "workshop_2", "catalog"):
        seen, _ = world[name].everything()
        assert [e["id"] for e in seen] == the_rule(world[name].client), name
        assert seen, name
    positions = [e["position"] for e in world["supplier_a"].everything()[0]]
    assert positions == sorted(positions)


def test_a_supplier_sees_only_its_own_stock_and_a_workshop_only_its_own_orders(world):
    events_written(world)
    a_events, _ = world["supplier_a"].everything(limit=100)
    assert {e["type"] for e in a_events} == {"stock.changed"}
    assert {e["payload"]["supplier"] for e in a_events} == {world["stock_a"].offer.supplier_id}
    assert [e["payload"]["on_hand"] for e in a_events] == [11, 13, 16]
    first = a_events[0]
    assert first["schema_version"] == 2 and first["aggregate_type"] == "stock"
    assert first["aggregate_id"] == str(world["stock_a"].pk) and first["created_at"].endswith("Z")
    b_events, _ = world["supplier_b"].everything(limit=100)
    assert {e["payload"]["supplier"] for e in b_events} == {world["stock_b"].offer.supplier_id}
    assert not {e["id"] for e in a_events} & {e["id"] for e in b_events}

    w1_events, _ = world["workshop_1"].everything(limit=100)
    assert [(e["type"], e["payload"]["number"]) for e in w1_events] == [("order.placed", "OK-1")]
    assert [e["payload"]["number"] for e in world["workshop_2"].everything(limit=100)[0]] == ["OK-2"]
    catalog_events, _ = world["catalog"].everything(limit=100)
    assert catalog_events and {e["type"] for e in catalog_events} <= {"part.created", "part.updated"}


def test_catalog_topics_need_catalog_read_and_a_supplier_key_without_it_sees_none(world):
    events_written(world)
    assert_problem(world["supplier_a"].get(type="part.created"), 403, "event_topic_not_visible")
    # The same client with a catalog:read key as well: now it sees the catalog too.
    issue_api_key(client=world["supplier_a"].client, scopes=[Scope.CATALOG_READ])
    seen = world["supplier_a"].feed(type="part.created", limit=500)["data"]
    assert 7 in {e["payload"]["id"] for e in seen}


def test_the_cursor_goes_on_across_pages_and_finds_events_written_between_them(world):
    events_written(world)
    a = world["supplier_a"]
    page = a.feed(limit=2)
    assert [e["payload"]["on_hand"] for e in page["data"]] == [11, 13] and page["has_more"] is True
    supplier_services.stock_adjust(stock=world["stock_a"], delta=100)  # written between the pages
    publish()
    rest, cursor = a.everything(after=page["next_cursor"])
    assert [e["payload"]["on_hand"] for e in rest] == [16, 116]
    # Nothing new: the same cursor comes back empty, and an event published later is on it.
    again = a.feed(after=cursor)
    assert (again["data"], again["has_more"]) == ([], False)
    supplier_services.stock_adjust(stock=world["stock_a"], delta=-6)
    publish()
    assert [e["payload"]["on_hand"] for e in a.feed(after=again["next_cursor"])["data"]] == [110]


def test_the_cursor_moves_past_events_the_client_may_not_see(world):
    events_written(world)
    _, cursor = world["supplier_a"].everything()
    for _ in range(3):
        supplier_services.stock_adjust(stock=world["stock_b"], delta=1)  # another supplier's
    publish()
    page = world["supplier_a"].feed(after=cursor)
    assert page["data"] == [] and page["has_more"] is False
    newest = OutboxEvent.objects.order_by("-position").values_list("position", flat=True).first()
    assert page["next_cursor"] == feed_cursor(newest)


def test_unpublished_events_are_not_in_the_feed(world):
    supplier_services.stock_adjust(stock=world["stock_a"], delta=1)  # not relayed yet
    assert world["supplier_a"].feed()["data"] == []
    publish()
    assert len(world["supplier_a"].feed()["data"]) == 1


def test_the_type_filter_takes_only_the_named_types(world):
    events_written(world)
    issue_api_key(client=world["supplier_a"].client, scopes=[Scope.CATALOG_READ])
    both, _ = world["supplier_a"].everything(type="stock.changed,part.created")
    assert {e["type"] for e in both} == {"stock.changed", "part.created"}
    assert [e["id"] for e in both] == the_rule(world["supplier_a"].client, {"stock.changed", "part.created"})
    batches = world["supplier_a"].feed(type="stock.changed_batch")
    assert batches["data"] == [] and batches["has_more"] is False


@pytest.mark.parametrize("value", ["no.such_topic", "stock.changed,bogus", "", "stock.changed,",
                                   "payment.settled"])
def test_an_unknown_type_or_a_platform_only_topic_is_a_400(world, value):
    body = assert_problem(world["supplier_a"].get(type=value), 400, "validation_error")
    assert body["errors"][0]["field"] == "type"


def test_a_supplier_topic_needs_a_client_bound_to_a_supplier(world):
    unbound = partner(scopes=[Scope.STOCK_WRITE, Scope.ORDERS_READ])
    body = assert_problem(unbound.get(type="stock.changed"), 403, "event_topic_not_visible")
    assert body["types"] == ["stock.changed"]
    assert_problem(world["workshop_1"].get(type="stock.changed"), 403, "event_topic_not_visible")
    events_written(world)
    assert unbound.everything()[0] == []  # without a filter: nothing it may not see


@pytest.mark.parametrize("cursor", ["%%not-base64%%", "cDo=x", base64.b64encode(b"p:abc").decode(),
                                    base64.b64encode(b"o=1&p=3").decode(), "cDotMQ", "\u00e9"])
def test_a_cursor_we_never_issued_is_a_404_with_its_own_code(world, cursor):
    assert_problem(world["supplier_a"].get(after=cursor), 404, "invalid_cursor")


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5"])
def test_a_limit_that_is_not_a_whole_number_from_1_is_a_400(world, limit):
    body = assert_problem(world["supplier_a"].get(limit=limit), 400, "validation_error")
    assert body["errors"][0]["field"] == "limit"


def test_the_limit_defaults_to_100_and_counts_at_most_500(world):
    supplier_services.stock_bulk_set(
        supplier=world["stock_a"].offer.supplier,
        rows=[{"sku": world["stock_a"].offer.sku, "warehouse": world["stock_a"].warehouse.code, "on_hand": 1}])
    for n in range(1, 601):
        order_event(workshop=world["w1"], number=f"OK-{n}")
    publish()
    w1 = world["workshop_1"]
    assert len(w1.feed()["data"]) == 100
    page = w1.feed(limit=10_000)
    assert len(page["data"]) == 500 and page["has_more"] is True
    assert len(w1.feed(after=page["next_cursor"], limit=500)["data"]) == 100


def test_a_key_is_needed_and_a_browser_session_is_not_one(world):
    assert_problem(APIClient().get(URL), 401, "not_authenticated")
    events_written(world)
    browser = APIClient()
    browser.force_login(OperatorFactory())
    assert_problem(browser.get(URL), 403, "no_api_client")


def test_a_revoked_key_no_longer_opens_what_only_it_covered(world):
    events_written(world)
    a = world["supplier_a"]
    orders_key = issue_api_key(client=a.client, scopes=[Scope.ORDERS_READ])
    platform_services.api_key_revoke(api_key=a.key)
    # The client's remaining key lacks stock:write: its own stock events are not shown any more.
    response = api(orders_key.raw_key).get(URL)
    assert response.status_code == 200 and response.json()["data"] == []


def test_a_page_costs_a_few_queries_whatever_its_size(world):
    events_written(world)
    for n in range(50):
        order_event(workshop=world["w1"], number=f"OQ-{n}")
    publish()
    with CaptureQueriesContext(connection) as queries:
        page = world["workshop_1"].feed(limit=500)
    assert len(page["data"]) == 51
    assert len(queries.captured_queries) <= 8, [q["sql"][:120] for q in queries.captured_queries]
