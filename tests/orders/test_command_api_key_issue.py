"""`manage.py api_key_issue`: the key it prints is the only thing on stdout and works against the
API within its scopes; every refusal is a CommandError that names what is wrong."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from okto88.models import ApiClient, ApiKey, Scope
from orders import services
from suppliers.models import SupplierApiClient
from tests.orders.factories import buyer_make, offer_in_stock, place
from tests.suppliers.factories import SupplierFactory
from tests.workshops.factories import WorkshopFactory
from workshops.models import WorkshopApiClient

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out, err = StringIO(), StringIO()
    call_command("api_key_issue", *args, stdout=out, stderr=err)
    return out.getvalue()


def get(client, path: str, key: str):
    return client.get(path, HTTP_AUTHORIZATION=f"Api-Key {key}")


def test_list_scopes_prints_every_scope_the_api_knows_one_a_line():
    assert issue("--list-scopes").splitlines() == list(Scope.values)


def test_the_printed_key_is_all_of_stdout_and_answers_within_its_scopes_only(client):
    printed = issue("--client", "Fleet ERP", "--scopes", "catalog:read")
    key = printed.strip()
    assert printed == key + "\n" and key.startswith("okto_")
    assert get(client, "/api/v1/categories/", key).status_code == 200
    refused = get(client, "/api/v1/orders/", key)
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert ApiKey.objects.get(client__name="Fleet ERP").scopes == ["catalog:read"]


def test_a_supplier_key_sees_its_suppliers_offers_and_a_second_run_reuses_the_client(client):
    supplier = SupplierFactory()
    key = issue("--client", "Supplier ERP", "--scopes", "stock:write", "--supplier", str(supplier.pk)).strip()
    assert get(client, "/api/v1/suppliers/me/offers/", key).status_code == 200
    assert get(client, "/api/v1/categories/", key).status_code == 403

    second = issue("--client", "Supplier ERP", "--scopes", "all", "--supplier", str(supplier.pk)).strip()
    assert second != key and get(client, "/api/v1/categories/", second).status_code == 200
    assert ApiClient.objects.filter(name="Supplier ERP").count() == 1
    assert SupplierApiClient.objects.get(api_client__name="Supplier ERP").supplier == supplier
    assert sorted(ApiKey.objects.filter(client__name="Supplier ERP").values_list("scopes", flat=True)) == sorted(
        [["stock:write"], sorted(set(Scope.values) - {Scope.OPS_READ})])  # all but the operators' scope


@pytest.mark.parametrize(("args", "message"), [
    (["--scopes", "catalog:read"], "--client"),
    (["--client", "X"], "--scopes"),
    (["--client", "X", "--scopes", "catalog:read,stock:wrte,orders:delete"], "orders:delete, stock:wrte"),
    (["--client", "X", "--scopes", "catalog:read", "--supplier", "999999"], "999999"),
    (["--client", "X", "--scopes", "catalog:read", "--supplier", "abc"], "abc"),
    (["--client", "X", "--scopes", "catalog:read", "--workshop", "999999"], "No workshop with id 999999"),
    (["--client", "X", "--scopes", "catalog:read", "--workshop", "abc"], "No workshop with id abc"),
    (["--client", "X", "--scopes", "catalog:read", "--supplier", "1", "--workshop", "1"], "not both"),
])
def test_refusals_name_what_is_wrong_and_leave_nothing_behind(args, message):
    with pytest.raises(CommandError, match=message) as caught:
        issue(*args)
    assert caught.value.returncode != 0
    assert not ApiClient.objects.filter(name="X").exists() and not ApiKey.objects.exists()


def test_a_workshop_key_orders_for_its_workshop_within_its_scopes(client):
    mine, other = buyer_make(), buyer_make()
    offer, _ = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=other.workshop, offer_id=offer.pk, quantity=1)
    theirs = place(buyer=other)
    reader = issue("--client", "Fleet", "--scopes", "orders:read", "--workshop", str(mine.workshop.pk)).strip()
    assert WorkshopApiClient.objects.get(api_client__name="Fleet").workshop == mine.workshop

    listed = get(client, "/api/v1/orders/", reader)
    assert listed.status_code == 200 and listed.json()["results"] == []
    assert get(client, f"/api/v1/orders/{theirs.number}/", reader).status_code == 404
    refused = client.post("/api/v1/cart/lines/", {"offer": offer.pk, "quantity": 1}, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Api-Key {reader}")
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert get(client, "/api/v1/categories/", reader).status_code == 403

    writer = issue("--client", "Fleet", "--scopes", "orders:read,orders:write",
                   "--workshop", str(mine.workshop.pk)).strip()
    added = client.post("/api/v1/cart/lines/", {"offer": offer.pk, "quantity": 1}, content_type="application/json",
                        HTTP_AUTHORIZATION=f"Api-Key {writer}")
    assert added.status_code == 201, added.content
    assert [line["offer"] for line in get(client, "/api/v1/cart/lines/", writer).json()] == [offer.pk]
    assert ApiClient.objects.filter(name="Fleet").count() == 1


def test_a_client_acting_for_one_workshop_is_not_moved_to_another_nor_bound_to_a_supplier():
    first, second, supplier = WorkshopFactory(), WorkshopFactory(), SupplierFactory()
    issue("--client", "Fleet", "--scopes", "orders:read", "--workshop", str(first.pk))
    with pytest.raises(CommandError, match="api_client_bound_elsewhere"):
        issue("--client", "Fleet", "--scopes", "orders:read", "--workshop", str(second.pk))
    with pytest.raises(CommandError, match=f"already acts for workshop {first.pk}"):
        issue("--client", "Fleet", "--scopes", "stock:write", "--supplier", str(supplier.pk))
    assert WorkshopApiClient.objects.get(api_client__name="Fleet").workshop == first
    assert not SupplierApiClient.objects.exists()
    assert ApiKey.objects.filter(client__name="Fleet").count() == 1


def test_a_client_acting_for_a_supplier_is_not_bound_to_a_workshop():
    supplier, workshop = SupplierFactory(), WorkshopFactory()
    issue("--client", "ERP", "--scopes", "stock:write", "--supplier", str(supplier.pk))
    with pytest.raises(CommandError, match=f"already acts for supplier {supplier.pk}"):
        issue("--client", "ERP", "--scopes", "orders:read", "--workshop", str(workshop.pk))
    assert not WorkshopApiClient.objects.exists()
    assert ApiKey.objects.filter(client__name="ERP").count() == 1


def test_a_client_acting_for_one_supplier_is_not_moved_to_another():
    first, second = SupplierFactory(), SupplierFactory()
    issue("--client", "ERP", "--scopes", "stock:write", "--supplier", str(first.pk))
    with pytest.raises(CommandError, match="api_client_bound_elsewhere"):
        issue("--client", "ERP", "--scopes", "stock:write", "--supplier", str(second.pk))
    assert SupplierApiClient.objects.get(api_client__name="ERP").supplier == first
    assert ApiKey.objects.filter(client__name="ERP").count() == 1


def test_the_command_exits_non_zero_from_the_shell(capsys):
    with pytest.raises(SystemExit) as exited:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", "api_key_issue", "--client", "X", "--scopes", "nope"])
    assert exited.value.code == 1
    assert "Unknown scope(s): nope" in capsys.readouterr().err
