"""Supplier orders in the supplier admin: read-only, each supplier sees only its own."""

from __future__ import annotations

import pytest

from orders import services
from orders.models import SupplierOrder
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place
from tests.platform.factories import OperatorFactory
from tests.suppliers.factories import SupplierMemberFactory

pytestmark = pytest.mark.django_db


def test_supplier_members_see_their_own_supplier_orders_read_only(client):
    carriers_ensure()
    buyer = buyer_make()
    mine, _ = offer_in_stock()
    theirs, _ = offer_in_stock()
    for offer in (mine, theirs):
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    place(buyer=buyer)
    own = SupplierOrder.objects.get(supplier=mine.supplier)
    other = SupplierOrder.objects.get(supplier=theirs.supplier)
    client.force_login(SupplierMemberFactory(supplier=mine.supplier).user)

    listing = client.get("/supplier-admin/orders/supplierorder/")
    assert listing.status_code == 200
    assert own.number in listing.content.decode() and other.number not in listing.content.decode()
    detail = client.get(f"/supplier-admin/orders/supplierorder/{own.pk}/change/")
    assert detail.status_code == 200 and mine.sku in detail.content.decode()  # the lines inline
    assert 'name="_save"' not in detail.content.decode()
    assert client.get(f"/supplier-admin/orders/supplierorder/{other.pk}/change/").status_code == 404
    assert client.get("/supplier-admin/orders/supplierorder/add/").status_code == 403


def test_operators_see_orders_in_admin(client):
    carriers_ensure()
    buyer = buyer_make()
    offer, _ = offer_in_stock()
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    order = place(buyer=buyer)
    client.force_login(OperatorFactory())
    for url in ("/admin/orders/order/", f"/admin/orders/order/{order.pk}/change/", "/admin/orders/supplierorder/",
                "/admin/orders/steprun/", "/admin/orders/orderevent/", "/admin/workshops/workshop/"):
        assert client.get(url).status_code == 200, url
