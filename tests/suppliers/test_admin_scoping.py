"""Supplier admin seen from the outside: a member of supplier A trying supplier B's objects."""

from __future__ import annotations

import pytest
from django.test import Client

from suppliers.models import Offer, Stock, StockMovement, Warehouse
from tests.platform.factories import OperatorFactory, UserFactory
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierMemberFactory

pytestmark = pytest.mark.django_db

SITE = "/supplier-admin"


@pytest.fixture
def world():
    a_offer, b_offer = OfferFactory(sku="A-SKU", price=10_000), OfferFactory(sku="B-SKU", price=20_000)
    a_stock, b_stock = StockFactory(offer=a_offer, on_hand=5), StockFactory(offer=b_offer, on_hand=7)
    member = SupplierMemberFactory(supplier=a_offer.supplier).user
    client = Client()
    client.force_login(member)
    return {"a": a_offer, "b": b_offer, "a_stock": a_stock, "b_stock": b_stock, "member": member, "client": client}


def state():
    return (list(Offer.objects.order_by("pk").values_list("pk", "price", "is_active", "sku")),
            list(Stock.objects.order_by("pk").values_list("pk", "on_hand", "reserved")),
            list(Warehouse.objects.order_by("pk").values_list("pk", "code", "name")),
            StockMovement.objects.count())


def foreign_urls(world):
    b, b_stock = world["b"], world["b_stock"]
    movement = StockMovement.objects.filter(stock=b_stock).first()
    urls = []
    for model, pk in [("offer", b.pk), ("stock", b_stock.pk), ("warehouse", b_stock.warehouse_id),
                      ("stockmovement", movement.pk)]:
        for suffix in ("change/", "delete/", "history/"):
            urls.append(f"{SITE}/suppliers/{model}/{pk}/{suffix}")
    return urls


def test_a_member_reaches_the_supplier_admin_but_not_the_operator_admin(world):
    client = world["client"]
    assert client.get(f"{SITE}/").status_code == 200
    assert client.get("/admin/").status_code == 302  # members are not staff
    outsider = Client()
    outsider.force_login(UserFactory())
    assert outsider.get(f"{SITE}/").status_code == 302  # to the login page


def test_changelists_show_only_the_members_supplier(world):
    client = world["client"]
    for model in ("offer", "stock", "warehouse", "stockmovement"):
        response = client.get(f"{SITE}/suppliers/{model}/")
        assert response.status_code == 200, model
        ids = {obj.pk for obj in response.context["cl"].result_list}
        assert ids, model
    offers = client.get(f"{SITE}/suppliers/offer/").content.decode()
    assert "A-SKU" in offers and "B-SKU" not in offers


def test_every_foreign_object_url_is_a_404_and_changes_nothing(world):
    client, before = world["client"], state()
    for url in foreign_urls(world):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"post": "yes", "price": 1, "sku": "HACK", "set_on_hand": 0, "name": "x",
                                 "code": "X"}).status_code == 404, url
    assert state() == before


def test_bulk_actions_with_foreign_ids_change_nothing(world):
    client, b, before = world["client"], world["b"], state()
    url = f"{SITE}/suppliers/offer/"
    for action in ("deactivate_selected", "activate_selected"):
        client.post(url, {"action": action, "_selected_action": [b.pk]})
    client.post(url, {"action": "change_prices", "_selected_action": [b.pk], "apply": "1", "percent": "50"})
    client.post(url, {"action": "export_admin_action", "_selected_action": [b.pk], "format": "0"})
    assert state() == before


EXPORT_FIELDS = {"offer": ("offerresource", ["id", "sku", "price"]),
                 "stock": ("stockresource", ["id", "sku", "warehouse", "on_hand"])}


def test_exports_contain_only_the_members_rows(world):
    client = world["client"]
    for model in ("offer", "stock"):
        prefix, names = EXPORT_FIELDS[model]
        data = {"format": "0", "resource": "0", **{f"{prefix}_{name}": "on" for name in names}}
        foreign_id = world["b"].pk if model == "offer" else world["b_stock"].pk
        response = client.post(f"{SITE}/suppliers/{model}/export/", {**data, "export_items": [foreign_id]})
        assert "B-SKU" not in response.content.decode()
        response = client.post(f"{SITE}/suppliers/{model}/export/", data)
        assert response["Content-Type"].startswith("text/csv"), response.content[:300]
        body = response.content.decode()
        assert "A-SKU" in body and "B-SKU" not in body, body


def test_foreign_key_choices_and_autocomplete_are_scoped(world):
    client = world["client"]
    response = client.get(f"{SITE}/suppliers/stock/add/")
    assert response.status_code == 200
    warehouses = response.context["adminform"].form.fields["warehouse"].queryset
    assert set(warehouses) == {world["a_stock"].warehouse}
    response = client.get(f"{SITE}/autocomplete/", {"app_label": "suppliers", "model_name": "stock",
                                                     "field_name": "offer", "term": "SKU"})
    assert response.status_code == 200
    assert {r["id"] for r in response.json()["results"]} == {str(world["a"].pk)}


def test_bulk_price_change_through_the_intermediate_form(world):
    client, a = world["client"], world["a"]
    url = f"{SITE}/suppliers/offer/"
    response = client.post(url, {"action": "change_prices", "_selected_action": [a.pk]})
    assert response.status_code == 200 and b"percent" in response.content
    client.post(url, {"action": "change_prices", "_selected_action": [a.pk], "apply": "1", "percent": "12.5"})
    a.refresh_from_db()
    assert a.price == 11_250


def test_a_member_adds_an_offer_and_a_warehouse_for_their_own_supplier(world):
    client, a = world["client"], world["a"]
    response = client.post(f"{SITE}/suppliers/offer/add/", {
        "part": a.part_id, "sku": "NEW-1", "price": 5000, "min_order_qty": 1, "pack_size": 1,
        "lead_time_days": 2, "is_active": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Offer.objects.get(sku="NEW-1").supplier == a.supplier
    response = client.post(f"{SITE}/suppliers/warehouse/add/", {
        "code": "bdg1", "name": "Bandung", "province": "Jawa Barat", "city": "Bandung", "district": "Coblong",
        "postal_code": "40131", "is_active": "on"})
    assert response.status_code == 200  # "Bandung" is ambiguous: Kota or Kabupaten
    assert "ambiguous" in str(response.context["adminform"].form.errors)
    response = client.post(f"{SITE}/suppliers/warehouse/add/", {
        "code": "bdg1", "name": "Bandung", "province": "Jawa Barat", "city": "Kota Bandung", "district": "Coblong",
        "postal_code": "40131", "is_active": "on"})
    assert response.status_code == 302
    assert Warehouse.objects.get(code="BDG1").supplier == a.supplier


def test_stock_edits_in_admin_go_through_the_ledger(world):
    client, stock = world["client"], world["a_stock"]
    url = f"{SITE}/suppliers/stock/{stock.pk}/change/"
    assert client.post(url, {"set_on_hand": 9, "note": "stock opname"}).status_code == 302
    assert client.post(url, {"adjust_by": -2, "note": "broken"}).status_code == 302
    stock.refresh_from_db()
    assert stock.on_hand == 7
    movements = list(StockMovement.objects.filter(stock=stock).order_by("pk").values_list(
        "on_hand_delta", "reason", "actor_id"))
    assert movements[1:] == [(4, "adjustment", world["member"].pk), (-2, "adjustment", world["member"].pk)]
    response = client.post(url, {"set_on_hand": -1})
    assert response.status_code == 200  # form error, nothing written
    assert StockMovement.objects.filter(stock=stock).count() == 3


def test_ledger_is_read_only_for_everybody(world):
    client = world["client"]
    movement = StockMovement.objects.filter(stock=world["a_stock"]).first()
    assert client.get(f"{SITE}/suppliers/stockmovement/{movement.pk}/change/").status_code == 200
    assert client.get(f"{SITE}/suppliers/stockmovement/add/").status_code == 403
    assert client.post(f"{SITE}/suppliers/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403


def test_operators_see_both_suppliers(world):
    client = Client()
    client.force_login(OperatorFactory())
    for site in ("/admin", SITE):
        response = client.get(f"{site}/suppliers/offer/")
        assert {o.pk for o in response.context["cl"].result_list} == {world["a"].pk, world["b"].pk}
        assert client.get(f"{site}/suppliers/offer/{world['b'].pk}/change/").status_code == 200
    assert client.get("/admin/suppliers/supplier/").status_code == 200


# --- Logging in at /supplier-admin/login/ (issue 11 item 13) ---------------------------------

PASSWORD = "s3cret-Passw0rd"  # tests.platform.factories.UserFactory


def test_an_anonymous_visit_goes_to_the_supplier_admin_login():
    response = Client().get(f"{SITE}/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{SITE}/login/")
    assert Client().get(f"{SITE}/login/").status_code == 200


def test_a_supplier_member_logs_in_at_the_supplier_admin_and_lands_on_it():
    member = SupplierMemberFactory().user
    client = Client()
    response = client.post(f"{SITE}/login/?next={SITE}/", {"username": member.email, "password": PASSWORD,
                                                           "next": f"{SITE}/"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"{SITE}/"
    assert client.get(f"{SITE}/").status_code == 200
    assert client.get(f"{SITE}/suppliers/offer/").status_code == 200


def test_a_workshop_member_is_refused_at_the_supplier_admin_login_with_a_clear_message():
    from tests.workshops.factories import WorkshopMemberFactory

    user = WorkshopMemberFactory().user
    client = Client()
    response = client.post(f"{SITE}/login/", {"username": user.email, "password": PASSWORD, "next": f"{SITE}/"})
    assert response.status_code == 200  # the form again, not a redirect
    assert "_auth_user_id" not in client.session
    text = response.content.decode()
    assert "Akun ini bukan anggota pemasok" in text  # Indonesian first
    client.cookies["django_language"] = "en"
    response = client.post(f"{SITE}/login/", {"username": user.email, "password": PASSWORD, "next": f"{SITE}/"})
    assert "This account is not a member of a supplier" in response.content.decode()


def test_a_member_of_a_suspended_supplier_is_refused_at_the_login():
    from suppliers.models import SupplierStatus

    membership = SupplierMemberFactory()
    membership.supplier.status = SupplierStatus.SUSPENDED
    membership.supplier.save(update_fields=["status"])
    client = Client()
    response = client.post(f"{SITE}/login/", {"username": membership.user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_an_operator_still_logs_in_at_the_supplier_admin():
    operator = OperatorFactory()
    client = Client()
    response = client.post(f"{SITE}/login/", {"username": operator.email, "password": PASSWORD, "next": f"{SITE}/"})
    assert response.status_code == 302 and response["Location"] == f"{SITE}/"
