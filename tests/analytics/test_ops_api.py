"""The operations API (/api/v1/ops/): scope ops:read, never for a key acting for a supplier or a
workshop, problem+json for a bad period, the same figure JSON the pages chart."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from analytics.pages import SECTIONS
from okto88.models import ApiKey, Scope
from orders import services
from orders.errors import ScopeNotForPartner
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place
from tests.platform.factories import ApiClientFactory, OperatorFactory, issue_api_key
from tests.problems import assert_problem
from tests.suppliers.factories import SupplierApiClientFactory, SupplierFactory, SupplierMemberFactory
from tests.workshops.factories import WorkshopFactory, WorkshopMemberFactory
from workshops.services import workshop_api_client_bind

pytestmark = pytest.mark.django_db
OPS_PATHS = [*[f"/api/v1/ops/{section.slug}/" for section in SECTIONS], "/api/v1/ops/stalled/",
             "/api/v1/ops/security/alerts/"]


def api(raw_key: str | None = None) -> APIClient:
    client = APIClient()
    if raw_key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client



@pytest.mark.parametrize("path", OPS_PATHS)
def test_a_key_without_ops_read_is_refused_and_one_with_it_answers(path):
    without = issue_api_key(scopes=[Scope.CATALOG_READ, Scope.ORDERS_READ]).raw_key
    body = assert_problem(api(without).get(path), 403, "insufficient_scope")
    assert "ops:read" in body["detail"]
    assert api(issue_api_key(scopes=[Scope.OPS_READ]).raw_key).get(path).status_code == 200


def test_a_section_answers_its_period_and_figures_as_json():
    key = issue_api_key(scopes=[Scope.OPS_READ]).raw_key
    body = api(key).get("/api/v1/ops/workflow/?period=7d").json()
    assert body["section"] == "workflow" and isinstance(body["figures"], list)
    assert body["period"]["name"] == "7d" and body["period"]["bucket_seconds"] == 86400
    ranged = api(key).get("/api/v1/ops/business/?start=2026-11-01&end=2026-11-30").json()
    assert ranged["period"]["name"] == "range"
    assert ranged["period"]["start"] == "2026-11-01T00:00:00+07:00"
    assert ranged["period"]["end"] == "2026-12-01T00:00:00+07:00"
    assert api(key).get("/api/v1/ops/load/?route=orders:detail").status_code == 200


@pytest.mark.parametrize("query", ["period=2w", "start=2026-12-01", "start=2026-12-05&end=2026-12-01",
                                   "start=2026-01-01&end=2026-12-01", "start=yesterday&end=today",
                                   "start=0468-12-23&end=0468-12-24", "start=9999-12-31&end=9999-12-31",
                                   "start=&end=", "period=", "start=20261201&end=20261202",
                                   "start=2026-W49-1&end=2026-12-07", "start=2026-12-01T00:00&end=2026-12-02"])
def test_a_bad_period_is_a_400_problem_invalid_period(query):
    key = issue_api_key(scopes=[Scope.OPS_READ]).raw_key
    assert_problem(api(key).get(f"/api/v1/ops/workflow/?{query}"), 400, "invalid_period")


def test_a_route_too_long_is_a_400_problem_invalid_parameter():
    key = issue_api_key(scopes=[Scope.OPS_READ]).raw_key
    assert_problem(api(key).get("/api/v1/ops/load/?route=" + "r" * 201), 400, "invalid_parameter")


def test_an_unknown_section_is_404():
    key = issue_api_key(scopes=[Scope.OPS_READ]).raw_key
    assert_problem(api(key).get("/api/v1/ops/nothing/"), 404, "not_found")


def test_the_timeline_of_an_order_and_of_none():
    carriers_ensure()
    buyer = buyer_make()
    offer, _stock = offer_in_stock()
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    order = place(buyer=buyer)
    key = issue_api_key(scopes=[Scope.OPS_READ]).raw_key
    body = api(key).get(f"/api/v1/ops/orders/{order.number}/timeline/").json()
    assert body["order_number"] == order.number and isinstance(body["figures"], list)
    assert_problem(api(key).get("/api/v1/ops/orders/NO-SUCH/timeline/"), 404, "order_not_found")


def test_the_stalled_list_is_paged_and_its_page_size_and_offset_are_checked():
    key = issue_api_key(scopes=[Scope.OPS_READ]).raw_key
    body = api(key).get("/api/v1/ops/stalled/?page_size=10").json()
    assert body["previous"] is None and body["next"] is None
    assert body["figure"]["key"] and len(body["figure"]["rows"]) <= 10
    assert "number" in {column["key"] for column in body["figure"]["columns"]}
    assert_problem(api(key).get("/api/v1/ops/stalled/?offset=-1"), 400, "validation_error")
    assert_problem(api(key).get("/api/v1/ops/stalled/?offset=10001"), 400, "validation_error")
    assert_problem(api(key).get("/api/v1/ops/stalled/?page_size=0"), 400, "validation_error")
    assert api(key).get("/api/v1/ops/stalled/?offset=50").json()["previous"].endswith("offset=0&page_size=50")


def test_an_operator_session_reads_and_member_sessions_are_refused():
    operator = APIClient()
    operator.force_login(OperatorFactory())
    assert operator.get("/api/v1/ops/workflow/").status_code == 200
    for user in (WorkshopMemberFactory().user, SupplierMemberFactory().user):
        member = APIClient()
        member.force_login(user)
        assert_problem(member.get("/api/v1/ops/workflow/"), 403, "insufficient_scope")


def test_a_key_acting_for_a_supplier_or_workshop_is_refused_even_with_ops_read():
    # Keys issued with every scope before the client was bound (admin, or an old script).
    supplier_key = issue_api_key(scopes=list(Scope.values))
    SupplierApiClientFactory(api_client=supplier_key.api_key.client)
    workshop_key = issue_api_key(scopes=list(Scope.values))
    workshop_api_client_bind(workshop_id=WorkshopFactory().pk, api_client=workshop_key.api_key.client)
    for issued in (supplier_key, workshop_key):
        assert_problem(api(issued.raw_key).get("/api/v1/ops/workflow/"), 403, "insufficient_scope")


def test_the_command_refuses_ops_read_for_a_client_acting_for_a_supplier_or_workshop():
    supplier, workshop = SupplierFactory(), WorkshopFactory()
    with pytest.raises(CommandError, match="scope_not_for_partner"):
        call_command("api_key_issue", "--client", "ERP", "--scopes", "ops:read", "--supplier", str(supplier.pk))
    with pytest.raises(CommandError, match="ops:read"):
        call_command("api_key_issue", "--client", "Fleet", "--scopes", "orders:read,ops:read",
                     "--workshop", str(workshop.pk))
    assert not ApiKey.objects.exists()
    call_command("api_key_issue", "--client", "Fleet", "--scopes", "all", "--workshop", str(workshop.pk))
    assert Scope.OPS_READ not in ApiKey.objects.get(client__name="Fleet").scopes
    call_command("api_key_issue", "--client", "Ops dashboard", "--scopes", "ops:read")
    assert ApiKey.objects.get(client__name="Ops dashboard").scopes == ["ops:read"]


def test_a_client_holding_an_ops_read_key_is_not_bound_to_a_supplier():
    client = ApiClientFactory()
    issued = issue_api_key(client=client, scopes=[Scope.OPS_READ])
    with pytest.raises(ScopeNotForPartner):
        services.api_client_bind(api_client=client, supplier_id=SupplierFactory().pk)
    issued.api_key.revoked_at = issued.api_key.created_at
    issued.api_key.save()
    services.api_client_bind(api_client=client, supplier_id=SupplierFactory().pk)
