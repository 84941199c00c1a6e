"""API keys, scopes, throttling and problem+json errors, seen from the outside."""

from __future__ import annotations

import base64
import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from okto88 import services
from okto88.errors import UnknownScope
from okto88.models import ApiKey, Scope
from okto88.redis_connection import redis_client
from tests.orders.factories import buyer_make
from tests.platform.factories import ApiClientFactory, OperatorFactory, UserFactory, issue_api_key

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def api(raw_key: str | None = None) -> APIClient:
    client = APIClient()
    if raw_key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith(code) and body["title"] and body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    return body


def test_a_valid_key_identifies_its_client_and_scopes():
    issued = issue_api_key(scopes=[Scope.CATALOG_READ, Scope.ORDERS_READ])
    response = api(issued.raw_key).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "kind": "api_client", "name": issued.api_key.client.name, "role": None,
        "scopes": ["catalog:read", "orders:read"],
    }


def test_keys_are_stored_only_as_a_digest():
    issued = issue_api_key()
    row = ApiKey.objects.values().get(pk=issued.api_key.pk)
    assert issued.raw_key not in str(row.values())
    assert len(row["digest"]) == 64 and row["prefix"] in issued.raw_key


def test_no_credentials_gives_401_with_a_challenge():
    response = api().get("/api/v1/me/")
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Api-Key")


@pytest.mark.parametrize("raw_key", ["okto_deadbeef_wrong", "nonsense", "okto__", "Bearer abc"])
def test_a_wrong_key_gives_401(raw_key):
    issue_api_key()  # a real key exists; the wrong one must still fail
    assert_problem(api(raw_key).get("/api/v1/me/"), 401, "invalid_api_key")


def test_a_key_with_the_right_prefix_but_wrong_secret_gives_401():
    issued = issue_api_key()
    forged = issued.raw_key[:-4] + ("AAAA" if not issued.raw_key.endswith("AAAA") else "BBBB")
    assert_problem(api(forged).get("/api/v1/me/"), 401, "invalid_api_key")


def test_a_revoked_key_gives_401():
    issued = issue_api_key()
    services.api_key_revoke(api_key=issued.api_key)
    assert_problem(api(issued.raw_key).get("/api/v1/me/"), 401, "revoked_api_key")


def test_an_expired_key_gives_401():
    issued = issue_api_key(expires_at=timezone.now() - timedelta(minutes=1))
    assert_problem(api(issued.raw_key).get("/api/v1/me/"), 401, "revoked_api_key")


def test_a_key_of_a_deactivated_client_gives_401():
    issued = issue_api_key()
    issued.api_key.client.is_active = False
    issued.api_key.client.save()
    assert_problem(api(issued.raw_key).get("/api/v1/me/"), 401, "revoked_api_key")


def test_the_key_also_works_in_the_x_api_key_header():
    issued = issue_api_key()
    response = APIClient().get("/api/v1/me/", HTTP_X_API_KEY=issued.raw_key)
    assert response.status_code == 200


def test_unknown_scopes_cannot_be_issued():
    with pytest.raises(UnknownScope):
        issue_api_key(scopes=["catalog:read", "everything:write"])


class StockWriteProbeApi(APIView):
    required_scopes = {"GET": [Scope.CATALOG_READ], "PUT": [Scope.STOCK_WRITE]}

    def get(self, request):
        return Response({"ok": True})

    def put(self, request):
        return Response({"ok": True})


def call_probe(method: str, raw_key: str):
    request = getattr(APIRequestFactory(), method)("/api/v1/probe/", {}, format="json",
                                                   HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return StockWriteProbeApi.as_view()(request)


def test_a_key_beyond_its_scopes_gets_403_naming_the_missing_scope():
    issued = issue_api_key(scopes=[Scope.CATALOG_READ])
    assert call_probe("get", issued.raw_key).status_code == 200
    response = call_probe("put", issued.raw_key)
    assert response.status_code == 403
    assert response.data["code"] == "insufficient_scope"
    assert "stock:write" in response.data["detail"]


def test_browser_users_get_scopes_from_their_role():
    operator, nobody = OperatorFactory(), UserFactory()
    client = APIClient()
    client.force_login(operator)
    assert client.get("/api/v1/me/").json()["scopes"] == sorted(Scope.values)
    client.force_login(nobody)
    assert client.get("/api/v1/me/").json() == {
        "kind": "user", "name": nobody.email, "role": "none", "scopes": ["catalog:read"],
    }


def test_throttling_answers_429_with_retry_after():
    client_row = ApiClientFactory(rate_limit="3/min")
    issued = issue_api_key(client=client_row)
    partner = api(issued.raw_key)
    statuses = [partner.get("/api/v1/me/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = partner.get("/api/v1/me/")
    body = assert_problem(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert body["retry_after"] == int(response["Retry-After"])


def test_a_throttle_window_counter_expires_with_its_window():
    client_row = ApiClientFactory(rate_limit="5/min")
    partner = api(issue_api_key(client=client_row).raw_key)
    partner.get("/api/v1/me/")
    partner.get("/api/v1/me/")
    [key] = redis_client().keys(f"throttle:client:client:{client_row.pk}:*")
    assert int(redis_client().get(key)) == 2
    assert 0 < redis_client().ttl(key) <= 61  # never a counter without an end


def redis_calls(command: str) -> int:
    return int(redis_client().info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def test_a_partners_request_is_counted_in_the_round_trip_that_looks_its_key_up():
    client_row = ApiClientFactory(rate_limit="5/min")
    partner = api(issue_api_key(client=client_row).raw_key)
    assert partner.get("/api/v1/me/").status_code == 200  # first sight of the key: the throttle counts
    scripts_before = redis_calls("evalsha") + redis_calls("eval")
    assert partner.get("/api/v1/me/").status_code == 200
    assert redis_calls("evalsha") + redis_calls("eval") == scripts_before  # counted with the key's lookup
    [key] = redis_client().keys(f"throttle:client:client:{client_row.pk}:*")
    assert int(redis_client().get(key)) == 2


def test_made_up_or_revoked_keys_do_not_spend_a_partners_quota():
    client_row = ApiClientFactory(rate_limit="3/min")
    first, second = issue_api_key(client=client_row), issue_api_key(client=client_row)
    assert api(first.raw_key).get("/api/v1/me/").status_code == 200  # 1
    brand, prefix, secret = first.raw_key.split("_", 2)
    made_up = f"{brand}_{prefix}_{'x' * len(secret)}"  # the public prefix of a real key
    assert {api(made_up).get("/api/v1/me/").status_code for _ in range(5)} == {401}
    services.api_key_revoke(api_key=first.api_key)
    assert {api(first.raw_key).get("/api/v1/me/").status_code for _ in range(5)} == {401}  # 2: the first one

    assert api(second.raw_key).get("/api/v1/me/").status_code == 200  # 3
    assert api(second.raw_key).get("/api/v1/me/").status_code == 429


def test_a_changed_contract_rate_counts_in_the_new_window_at_once(settings):
    settings.API_KEY_CACHE_SECONDS = 0  # the operator's change is read on the next request
    client_row = ApiClientFactory(rate_limit="2/min")
    partner = api(issue_api_key(client=client_row).raw_key)
    assert partner.get("/api/v1/me/").status_code == 200
    client_row.rate_limit = "2/hour"
    client_row.save()

    statuses = [partner.get("/api/v1/me/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]  # the hourly window's own count, not the minute's
    hourly = [k for k in redis_client().keys(f"throttle:client:client:{client_row.pk}:*")
              if int(k.rsplit(b":", 1)[1]) < 10_000_000]  # hour numbers since 1970 are below minute numbers
    assert [int(redis_client().get(k)) for k in hourly] == [3]


def test_throttling_is_per_client():
    limited = issue_api_key(client=ApiClientFactory(rate_limit="1/min"))
    other = issue_api_key(client=ApiClientFactory(rate_limit="1/min"))
    assert api(limited.raw_key).get("/api/v1/me/").status_code == 200
    assert api(limited.raw_key).get("/api/v1/me/").status_code == 429
    assert api(other.raw_key).get("/api/v1/me/").status_code == 200


def test_the_api_answers_json_whatever_the_client_accepts():
    partner = api(issue_api_key().raw_key)
    for accept in ("text/html", "application/xml", "*/*"):
        response = partner.get("/api/v1/me/", HTTP_ACCEPT=accept)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert response.json()["kind"] == "api_client"
    # The schema has several representations: it still negotiates.
    schema = partner.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema["Content-Type"].startswith("application/vnd.oai.openapi+json")


def test_an_unknown_api_url_is_a_problem_not_an_html_page():
    issued = issue_api_key()
    assert_problem(api(issued.raw_key).get("/api/v1/no-such-thing/"), 404, "not_found")


def test_a_wrong_method_is_405_problem():
    issued = issue_api_key()
    assert_problem(api(issued.raw_key).post("/api/v1/me/", {}, format="json"), 405, "method_not_allowed")


def test_session_writes_without_csrf_are_refused_as_a_problem():
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    response = client.post("/api/v1/me/", {}, format="json")
    assert_problem(response, 403, "permission_denied")


def test_the_openapi_schema_documents_failure_responses():
    response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json() if response["Content-Type"].startswith("application/vnd.oai.openapi+json") else None
    if schema is None:
        import yaml

        schema = yaml.safe_load(response.content)
    assert "Problem" in schema["components"]["schemas"]
    me = schema["paths"]["/api/v1/me/"]["get"]["responses"]
    assert {"200", "401", "403", "429"} <= set(me)
    assert PROBLEM in me["401"]["content"]


def test_the_interactive_docs_page_is_served():
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.parametrize("cursor", [
    "%25%25not-base64%25%25", "supplier_delete", "%C2%8C%F2%81%8F%80",
    base64.b64encode(b"o=1&r=1&p=%00").decode(),
])
@pytest.mark.parametrize("url", ["/api/v1/vehicles/makes/", "/api/v1/vehicles/models/", "/api/v1/brands/"])
def test_a_cursor_we_never_issued_is_a_404_with_its_own_code(url, cursor):
    # A 404, not a 400: the schema's cursor is any string (no schema can tell ours from
    # others), and a request the schema allows is not refused as malformed.
    issued = issue_api_key()
    body = assert_problem(api(issued.raw_key).get(f"{url}?cursor={cursor}"), 404, "invalid_cursor")
    assert "cursor" in body["detail"]


@pytest.mark.parametrize("url", ["/api/v1/vehicles/models/", "/api/v1/brands/", "/api/v1/orders/"])
def test_a_cursor_whose_position_is_not_an_id_is_a_404_not_a_500(url):
    issued = issue_api_key()
    cursor = base64.b64encode(b"p=not-an-id").decode()
    client = api(issued.raw_key)
    if url == "/api/v1/orders/":
        client = APIClient()
        client.force_login(buyer_make().user)
    assert_problem(client.get(url, {"cursor": cursor}), 404, "invalid_cursor")


def test_an_empty_cursor_is_the_first_page():
    issued = issue_api_key()
    response = api(issued.raw_key).get("/api/v1/vehicles/makes/?cursor=")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("page_size", ["0", "-1", "null", "abc", "", "1.5"])
@pytest.mark.parametrize("url", ["/api/v1/vehicles/makes/", "/api/v1/brands/", "/api/v1/categories/",
                                 "/api/v1/parts/", "/api/v1/parts/?q=busi"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_a_400(url, page_size):
    issued = issue_api_key()
    joiner = "&" if "?" in url else "?"
    body = assert_problem(api(issued.raw_key).get(f"{url}{joiner}page_size={page_size}"), 400, "validation_error")
    assert body["errors"][0]["field"] == "page_size"


def _schema() -> dict:
    return APIClient().get("/api/v1/schema/?format=json").json()


def _parameters(schema: dict, path: str, method: str = "get") -> dict:
    return {p["name"]: p for p in schema["paths"][path][method].get("parameters", [])}


def test_the_schema_gives_every_paging_parameter_its_bounds():
    schema = _schema()
    for path in ("/api/v1/vehicles/makes/", "/api/v1/brands/", "/api/v1/orders/", "/api/v1/parts/"):
        assert _parameters(schema, path)["page_size"]["schema"]["minimum"] == 1, path
        assert "404" in schema["paths"][path]["get"]["responses"], path  # a cursor that points to no page
    parts = _parameters(schema, "/api/v1/parts/")
    assert (parts["limit"]["schema"]["minimum"], parts["limit"]["schema"]["maximum"]) == (1, 100)
    assert (parts["offset"]["schema"]["minimum"], parts["offset"]["schema"]["maximum"]) == (0, 1000)
    for name in ("vehicle", "category", "brand"):
        assert parts[name]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


def test_the_schema_says_no_input_string_holds_a_nul():
    schema = _schema()
    assert _parameters(schema, "/api/v1/parts/")["q"]["schema"]["pattern"] == "^[^\\x00]*$"
    assert _parameters(schema, "/api/v1/orders/{number}/")["number"]["schema"]["pattern"] == "^[^\\x00]*$"
    row = schema["components"]["schemas"]["StockRowInRequest"]
    assert re.search(row["properties"]["sku"]["pattern"], "A-1")  # its own pattern: not blank, no NUL
    assert not re.search(row["properties"]["sku"]["pattern"], "A-\x001")
    cancel = schema["components"]["schemas"]["OrderCancelInRequest"]
    assert cancel["properties"]["reason"]["pattern"] == "^[^\\x00]*$"


@pytest.mark.parametrize("params", [{"root": "null"}, {"root": "1"}, {"root": ""}, {"parent": ""}, {"parent": "0"}])
def test_category_filters_take_only_what_the_schema_says(params):
    issued = issue_api_key()
    body = assert_problem(api(issued.raw_key).get("/api/v1/categories/", params), 400, "validation_error")
    assert body["errors"][0]["field"] in params


@pytest.mark.parametrize("url", ["/api/v1/brands/?kind=", "/api/v1/vehicles/makes/?vehicle_type=",
                                 "/api/v1/vehicles/models/?make=", "/api/v1/vehicles/variants/?year="])
def test_an_empty_filter_value_is_a_400_not_no_filter(url):
    issued = issue_api_key()
    assert_problem(api(issued.raw_key).get(url), 400, "validation_error")


# --- The short cache of verified keys (okto88.services.api_key_authenticate) ----------------

def _key_queries(queries) -> int:
    return sum('"platform_apikey"' in q["sql"] for q in queries.captured_queries)


def test_a_verified_key_is_cached_briefly_so_requests_skip_the_key_query():
    issued = issue_api_key()
    client = api(issued.raw_key)
    assert client.get("/api/v1/me/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me/").status_code == 200
    assert _key_queries(queries) == 0


def test_a_revoked_key_is_refused_at_once_even_when_cached():
    issued = issue_api_key()
    client = api(issued.raw_key)
    assert client.get("/api/v1/me/").status_code == 200  # now cached
    services.api_key_revoke(api_key=issued.api_key)
    assert_problem(client.get("/api/v1/me/"), 401, "revoked_api_key")


def test_a_wrong_secret_is_refused_while_the_right_key_is_cached():
    issued = issue_api_key()
    assert api(issued.raw_key).get("/api/v1/me/").status_code == 200
    forged = issued.raw_key[:-4] + ("AAAA" if not issued.raw_key.endswith("AAAA") else "BBBB")
    assert_problem(api(forged).get("/api/v1/me/"), 401, "invalid_api_key")


def test_an_expiry_is_checked_on_every_request_even_when_cached():
    issued = issue_api_key(expires_at=timezone.now() + timedelta(seconds=1))
    client = api(issued.raw_key)
    assert client.get("/api/v1/me/").status_code == 200
    time.sleep(1.1)
    assert_problem(client.get("/api/v1/me/"), 401, "revoked_api_key")


def test_the_key_cache_can_be_switched_off(settings):
    settings.API_KEY_CACHE_SECONDS = 0
    issued = issue_api_key()
    client = api(issued.raw_key)
    assert client.get("/api/v1/me/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me/").status_code == 200
    assert _key_queries(queries) == 1
