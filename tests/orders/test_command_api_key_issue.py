"""`manage.py api_key_issue`: the key it prints is the only thing on stdout and works against the
API within its scopes; every refusal is a CommandError that names what is wrong."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from okto88.models import ApiClient, ApiKey, Scope
from suppliers.models import SupplierApiClient
from tests.suppliers.factories import SupplierFactory
from tests.workshops.factories import WorkshopFactory

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
        [["stock:write"], sorted(Scope.values)])


@pytest.mark.parametrize(("args", "message"), [
    (["--scopes", "catalog:read"], "--client"),
    (["--client", "X"], "--scopes"),
    (["--client", "X", "--scopes", "catalog:read,stock:wrte,orders:delete"], "orders:delete, stock:wrte"),
    (["--client", "X", "--scopes", "catalog:read", "--supplier", "999999"], "999999"),
    (["--client", "X", "--scopes", "catalog:read", "--supplier", "abc"], "abc"),
    (["--client", "X", "--scopes", "catalog:read", "--workshop", "999999"], "No workshop with id 999999"),
    (["--client", "X", "--scopes", "catalog:read", "--supplier", "1", "--workshop", "1"], "not both"),
])
def test_refusals_name_what_is_wrong_and_leave_nothing_behind(args, message):
    with pytest.raises(CommandError, match=message) as caught:
        issue(*args)
    assert caught.value.returncode != 0
    assert not ApiClient.objects.filter(name="X").exists() and not ApiKey.objects.exists()


def test_a_workshop_key_is_refused_since_api_clients_act_for_no_workshop():
    workshop = WorkshopFactory()
    with pytest.raises(CommandError, match="cannot act for a workshop"):
        issue("--client", "X", "--scopes", "orders:read", "--workshop", str(workshop.pk))
    assert not ApiKey.objects.exists()


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
