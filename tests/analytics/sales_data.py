"""A known set of orders for the business figures, built through the order services.

Supplier A sells part PA (Rp 100.000, category CA), supplier B part PB (Rp 50.000, category CB).
PPN is 11 %, on each line rounded half up. Buyer 1 delivers to Jawa Barat, buyer 2 to DKI Jakarta.

    o1 (buyer 1, terms)  2 × PA + 3 × PB   in fulfilment; A's supplier order accepted and shipped, B's not
    o2 (buyer 1, terms)  1 × PA            paid, then cancelled by the workshop
    o3 (buyer 1, terms)  1 × PB            paid, then failed (its open_for_acceptance step compensated)
    o4 (buyer 1, VA)     1 × PA            never paid, expired
    o5 (buyer 2, terms)  2 × PB            paid
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from orders import services, workflow
from orders.models import Order, SupplierOrder
from suppliers.models import Offer, Supplier
from tests.orders.factories import Buyer, buyer_make, carriers_ensure, offer_in_stock, place
from tests.workshops.factories import AddressFactory


@dataclass
class SalesData:
    a: Supplier
    b: Supplier
    pa: Offer
    pb: Offer
    buyer1: Buyer
    buyer2: Buyer
    orders: dict[str, Order]


def order_with(buyer: Buyer, lines: list[tuple[Offer, int]], *, payment_method: str = "terms") -> Order:
    for offer, quantity in lines:
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
    return place(buyer=buyer, payment_method=payment_method)


def supplier_order_ship(order: Order, supplier: Supplier) -> None:
    """The order's step opens it, the supplier accepts and packs, the courier picks it up (the
    booking itself is left out: no courier here)."""
    if not order.step_runs.filter(step="open_for_acceptance").exists():
        workflow.step_run(order_id=order.pk, step="open_for_acceptance", task_id="sales-data")
    supplier_order = SupplierOrder.objects.get(order=order, supplier=supplier)
    services.supplier_order_accept(supplier_order=supplier_order)
    services.supplier_order_mark_ready(supplier_order=supplier_order)
    workflow.on_shipment_event(topic="shipment.picked_up", payload={"reference": supplier_order.number})


def sales_data_make() -> SalesData:
    carriers_ensure()
    pa, _ = offer_in_stock(on_hand=50, price=100_000)
    pb, _ = offer_in_stock(on_hand=50, price=50_000)
    buyer1 = buyer_make()
    buyer2 = buyer_make()
    buyer2.address.delete()
    buyer2.address = AddressFactory(workshop=buyer2.workshop, province="DKI Jakarta", city="Kota Jakarta Selatan",
                                    district="Kebayoran Baru", postal_code="12110", region_code="31.71.07")
    orders = {
        "o1": order_with(buyer1, [(pa, 2), (pb, 3)]),
        "o2": order_with(buyer1, [(pa, 1)]),
        "o3": order_with(buyer1, [(pb, 1)]),
        "o4": order_with(buyer1, [(pa, 1)], payment_method="virtual_account"),
        "o5": order_with(buyer2, [(pb, 2)]),
    }
    supplier_order_ship(orders["o1"], pa.supplier)
    services.order_cancel(order=orders["o2"], actor=buyer1.user)
    workflow.workflow_compensate(order_id=orders["o3"].pk, step="open_for_acceptance", reason="suppliers unreachable")
    services.order_expire(order=orders["o4"], now=timezone.now() + dt.timedelta(days=1))
    for order in orders.values():
        order.refresh_from_db()
    return SalesData(a=pa.supplier, b=pb.supplier, pa=pa, pb=pb, buyer1=buyer1, buyer2=buyer2, orders=orders)
