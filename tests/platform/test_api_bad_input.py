"""Bad input from the outside answers 4xx with a reason, never 500, and changes nothing:
integers past the column, NUL characters, JSON nested too deep, bodies over the limit,
paths no API view matches (DEBUG on or off), and credentials on the DEBUG error page."""

from __future__ import annotations

import json
import secrets
import sys

import pytest
from django.test import Client, RequestFactory
from django.urls import path
from django.views.debug import technical_500_response
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from okto88.bounds import INTEGER_MAX, JSON_MAX_DEPTH
from okto88.models import Scope
from suppliers.models import Stock, StockMovement
from tests.orders.factories import buyer_make
from tests.platform.factories import issue_api_key
from tests.problems import PROBLEM, assert_problem
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierApiClientFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
STOCK_URL = "/api/v1/suppliers/me/stock/"



@pytest.fixture
def stock():
    offer = OfferFactory(sku="A-1")
    return StockFactory(offer=offer, warehouse=WarehouseFactory(supplier=offer.supplier, code="JKT1"), on_hand=5)


@pytest.fixture
def supplier_api(stock) -> APIClient:
    issued = issue_api_key(scopes=[Scope.STOCK_WRITE])
    SupplierApiClientFactory(api_client=issued.api_key.client, supplier=stock.offer.supplier)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    return client


def _unchanged(stock) -> None:
    stock.refresh_from_db()
    assert stock.on_hand == 5
    assert StockMovement.objects.filter(stock=stock).count() == 1  # the factory's own entry


# --- Integers past the column -------------------------------------------------------------

@pytest.mark.parametrize("on_hand", [INTEGER_MAX + 1, 2**63, 2**64])
def test_an_on_hand_past_the_integer_column_is_a_400_for_its_row(supplier_api, stock, on_hand):
    response = supplier_api.put(STOCK_URL, {"rows": [{"sku": "A-1", "warehouse": "JKT1", "on_hand": on_hand}]},
                                format="json")
    body = assert_problem(response, 400, "invalid_stock_rows")
    assert {(e["field"], e["code"]) for e in body["errors"]} == {("rows.0.on_hand", "too_large")}
    assert str(INTEGER_MAX) in body["errors"][0]["detail"]
    _unchanged(stock)


def test_the_largest_on_hand_the_column_holds_is_accepted(supplier_api, stock):
    response = supplier_api.put(STOCK_URL, {"rows": [{"sku": "A-1", "warehouse": "JKT1", "on_hand": INTEGER_MAX}]},
                                format="json")
    assert response.status_code == 200, response.content
    assert Stock.objects.get(pk=stock.pk).on_hand == INTEGER_MAX


def test_the_schema_documents_the_bounds_of_a_stock_row():
    schema = APIClient().get("/api/v1/schema/?format=json")
    row = schema.json()["components"]["schemas"]["StockRowInRequest"]
    assert row["properties"]["on_hand"]["maximum"] == INTEGER_MAX
    assert row["properties"]["on_hand"]["minimum"] == 0
    assert set(row["required"]) == {"sku", "warehouse", "on_hand"}


# --- NUL characters -------------------------------------------------------------------------

@pytest.mark.parametrize(("row", "field"), [
    ({"sku": "A-\x001", "warehouse": "JKT1", "on_hand": 1}, "rows.0.sku"),
    ({"sku": "A-1", "warehouse": "JKT\x00", "on_hand": 1}, "rows.0.warehouse"),
])
def test_a_nul_in_a_stock_row_is_a_400_for_its_row(supplier_api, stock, row, field):
    body = assert_problem(supplier_api.put(STOCK_URL, {"rows": [row]}, format="json"), 400, "invalid_stock_rows")
    assert {(e["field"], e["code"]) for e in body["errors"]} == {(field, "nul_character")}
    _unchanged(stock)


def test_a_nul_in_a_property_the_api_ignores_changes_nothing(supplier_api, stock):
    response = supplier_api.put(STOCK_URL, {"rows": [{"sku": "A-1", "warehouse": "JKT1", "on_hand": 6,
                                                      "note\x00": "\x00"}]}, format="json")
    assert response.status_code == 200, response.content
    assert Stock.objects.get(pk=stock.pk).on_hand == 6


def test_a_nul_in_a_serializer_string_is_a_400():
    buyer = buyer_make()
    client = APIClient()
    client.force_login(buyer.user)
    body = {"address": buyer.address.pk, "payment_method": "terms",
            "shipping": [{"supplier": 1, "carrier_code": "JNE\x00", "service_level": "REG"}]}
    response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    problem = assert_problem(response, 400, "validation_error")
    assert problem["errors"][0]["field"] == "shipping.0.carrier_code"


@pytest.mark.parametrize("path", ["/api/v1/orders/%00/", "/api/v1/orders/A%00B/", "/api/v1/parts/?q=a%00b",
                                  "/api/v1/orders/?status=%00"])
def test_a_nul_in_an_api_url_is_a_400_problem(path):
    buyer = buyer_make()
    client = APIClient()
    client.force_login(buyer.user)
    body = assert_problem(client.get(path), 400, "nul_character")
    assert "NUL" in body["detail"]


def test_a_nul_in_a_browser_url_is_the_400_page():
    buyer = buyer_make()
    client = Client()
    client.force_login(buyer.user)
    response = client.get("/bengkel/orders/%00/")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "NUL" in response.content.decode()


# --- JSON nested too deep, bodies too large -------------------------------------------------

@pytest.mark.parametrize("depth", [JSON_MAX_DEPTH + 1, 100_000])
def test_json_nested_too_deep_is_a_400(supplier_api, stock, depth):
    body = "[" * depth + "]" * depth
    response = supplier_api.generic("PUT", STOCK_URL, body, content_type="application/json")
    assert_problem(response, 400, "json_too_deep")
    _unchanged(stock)


def test_json_as_deep_as_the_bound_is_parsed(supplier_api, stock):
    nested = {"rows": [{"sku": "A-1", "warehouse": "JKT1", "on_hand": 7}]}
    for _ in range(JSON_MAX_DEPTH - 3):  # rows, the row and its values already take three levels
        nested = {"wrap": nested}
    response = supplier_api.put(STOCK_URL, nested, format="json")
    assert response.status_code == 400 and response.json()["code"] != "json_too_deep", response.content


def test_a_json_body_over_the_limit_is_a_413(settings, supplier_api, stock):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    rows = [{"sku": "A-1", "warehouse": "JKT1", "on_hand": 9}] * 500
    body = assert_problem(supplier_api.put(STOCK_URL, {"rows": rows}, format="json"), 413, "payload_too_large")
    assert "10,000 bytes" in body["detail"]
    _unchanged(stock)


class _RawBodyApi(APIView):
    """Reads request.body, as the signed notifications do (to verify the exact bytes)."""

    permission_classes: list = []

    def post(self, request):
        return Response({"length": len(request.body)})


def test_a_raw_body_over_the_limit_is_a_413_problem(settings):
    # Django's own check (RequestDataTooBig), raised inside an API view.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    request = APIRequestFactory().post("/api/v1/raw/", json.dumps({"pad": "x" * 2_000}),
                                       content_type="application/json")
    response = _RawBodyApi.as_view()(request).render()
    assert response.status_code == 413 and response.data["code"] == "payload_too_large"
    assert response["Content-Type"].startswith(PROBLEM)


@pytest.mark.parametrize("debug", [False, True])
def test_a_browser_form_over_the_limit_is_the_413_page(settings, debug):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = Client().post("/accounts/login/", {"username": "x" * 2_000, "password": "y"},
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    # Our page, not any page that mentions 413 (the debug page would).
    assert response["Content-Type"].startswith("text/html") and "<h1>413</h1>" in response.content.decode()


def test_a_multipart_form_over_the_limit_is_the_413_page(settings):
    # Multipart bodies pass the middleware (files do not count); Django's own check answers.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = Client().post("/accounts/login/", {"username": "x" * 2_000, "password": "y"})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", [False, True])
def test_an_api_body_declared_over_the_limit_is_a_413_unread(settings, supplier_api, stock, debug):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = supplier_api.generic("PUT", STOCK_URL, "x" * 2_000, content_type="text/plain")
    assert_problem(response, 413, "payload_too_large")


# --- Every answer under /api/ is problem+json ------------------------------------------------

@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/parts/abc/", "/api/v1/parts/1/nope/", "/api/v1/parts",
                                  "/api/v2/parts/", "/api/v1/vehicles/vin/"])
def test_an_unknown_api_path_is_a_404_problem(settings, debug, path):
    settings.DEBUG = debug
    issued = issue_api_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    assert_problem(client.get(path), 404, "not_found")
    assert_problem(client.post(path, {}, format="json"), 404, "not_found")


@pytest.mark.parametrize("debug", [False, True])
def test_a_method_an_api_path_does_not_take_is_a_405_problem(settings, debug):
    settings.DEBUG = debug
    issued = issue_api_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    assert_problem(client.delete("/api/v1/me/"), 405, "method_not_allowed")


def test_an_unknown_browser_path_is_still_the_html_404():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


# --- The DEBUG page masks credentials -------------------------------------------------------

def _debug_page(request, *, connection_string: str) -> str:
    """The technical 500 page of an error raised in a frame holding a connection URL."""
    try:
        raise RuntimeError(f"could not connect ({len(connection_string)})")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_the_debug_error_page_masks_every_credential(settings):
    # Random passwords: the page also shows this test's source lines, which must not match.
    pw = {name: f"{name}-{secrets.token_hex(6)}" for name in ("db", "redis", "broker", "location", "dsn", "meta")}
    settings.DEBUG = True
    settings.DATABASE_URL = f"postgres://okto:{pw['db']}@db.internal:5432/okto88"
    settings.REDIS_URL = f"redis://:{pw['redis']}@cache.internal:6379/0"
    settings.CELERY_BROKER_URL = f"redis://:{pw['broker']}@cache.internal:6379/1"
    settings.CACHES = {"default": {**settings.CACHES["default"],
                                   "LOCATION": f"redis://:{pw['location']}@cache.internal:6379/0"}}
    settings.SENTRY_DSN = f"https://{pw['dsn']}@sentry.example/1"
    request = RequestFactory().get("/bengkel/", DATABASE_URL=settings.DATABASE_URL,
                                   OTHER_SERVICE=f"amqp://user:{pw['meta']}@mq.internal/")
    html = _debug_page(request, connection_string=settings.DATABASE_URL)
    for password in pw.values():
        assert password not in html, password
    assert "db.internal" in html  # the rest of the URL still helps whoever debugs


DEBUG_PAGE = (
    "import sys, django; django.setup(); from django.test import RequestFactory; "
    "from django.views.debug import technical_500_response\n"
    "try:\n    raise RuntimeError('boom')\n"
    "except RuntimeError:\n"
    "    html = technical_500_response(RequestFactory(SERVER_NAME='okto88.id').get('/'), *sys.exc_info())"
    ".content.decode()\n"
    "print('LEAKED' if 'Pa55-' in html else 'MASKED')"
)


@pytest.mark.parametrize("profile", ["development", "production"])
def test_every_profile_masks_credentials_on_the_debug_page(profile):
    from tests.platform.test_settings import PRODUCTION_ENV, run_python

    env = {**(PRODUCTION_ENV if profile == "production" else {}), "DEBUG": "true",
           "DATABASE_URL": "postgres://okto:db-Pa55-word@127.0.0.1:5432/okto88",
           "REDIS_URL": "redis://:redis-Pa55-word@127.0.0.1:6379/0", "ALLOWED_HOSTS": "okto88.id"}
    result = run_python(DEBUG_PAGE, env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "MASKED"


def _plain_django_view_that_fails(request):
    raise RuntimeError("a bug outside DRF")


urlpatterns = [  # this module doubles as a URLconf for the next test
    path("api/v1/plain-failure/", _plain_django_view_that_fails),
    path("plain-failure/", _plain_django_view_that_fails),
]


@pytest.mark.parametrize("debug", [False, True])
def test_an_error_outside_drf_under_the_api_is_still_a_problem(settings, debug):
    settings.DEBUG = debug
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    body = assert_problem(client.get("/api/v1/plain-failure/"), 500, "server_error")
    assert "bug" not in body["detail"]
    browser = client.get("/plain-failure/")
    assert browser.status_code == 500 and browser["Content-Type"].startswith("text/html")
