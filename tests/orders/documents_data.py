"""A supplier order ready for its documents: placed through the services, then moved to the
status a test needs by writing the rows directly (these tests are about the documents, not the
workflow that gets a supplier order there)."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from logistics.models import Carrier, Shipment, ShipmentStatus
from orders import services
from orders.models import Order, OrderLine, RejectionReason, SupplierOrder, SupplierOrderStatus
from suppliers.models import Supplier
from tests.orders.factories import Buyer, carriers_ensure, offer_in_stock, place
from tests.suppliers.factories import SupplierFactory, WarehouseFactory

JAKARTA = ZoneInfo("Asia/Jakarta")
ACCEPTED_AT = datetime(2026, 12, 4, 10, 30, tzinfo=JAKARTA)
# (unit price, quantity ordered, quantity rejected)
LINES = ((150_000, 2, 0), (45_500, 3, 1), (99_000, 1, 1))


def supplier_with_warehouse(*, legal_name: str = "PT Sumber Suku Cadang", npwp: str = "0123456789012000") -> Supplier:
    supplier = SupplierFactory(legal_name=legal_name, npwp=npwp, contact_phone="+62215550123")
    WarehouseFactory(supplier=supplier, code="JKT1", name="Gudang Jakarta Selatan")
    return supplier


def order_with_supplier_order(*, buyer: Buyer, supplier: Supplier, lines=LINES) -> tuple[Order, SupplierOrder]:
    """One order with one supplier order of `lines` (price, quantity, of which rejected), placed
    through the services, the rejections written on its lines."""
    carriers_ensure()
    warehouse = supplier.warehouses.first()
    offers = []
    for price, quantity, _ in lines:
        offer, _ = offer_in_stock(on_hand=20, price=price, supplier=supplier, warehouse=warehouse)
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
        offers.append(offer)
    order = place(buyer=buyer)
    supplier_order = SupplierOrder.objects.get(order=order, supplier=supplier)
    by_offer = {line.offer_id: line for line in supplier_order.lines.all()}
    for offer, (_, _, rejected) in zip(offers, lines, strict=True):
        if rejected:
            OrderLine.objects.filter(pk=by_offer[offer.pk].pk).update(
                rejected_quantity=rejected, rejection_reason=RejectionReason.OUT_OF_STOCK)
    return order, supplier_order


def supplier_order_set(supplier_order: SupplierOrder, *, status: str, parcels: int = 2,
                       waybill: str | None = None) -> SupplierOrder:
    """Puts the supplier order in `status`, accepted at ACCEPTED_AT in `parcels` parcels; with a
    booked shipment carrying `waybill` for the statuses from confirmed on."""
    fields = {"status": status, "parcel_count": parcels}
    if status not in (SupplierOrderStatus.PENDING,):
        fields["decided_at"] = ACCEPTED_AT
    if status in (SupplierOrderStatus.CONFIRMED, SupplierOrderStatus.SHIPPED, SupplierOrderStatus.DELIVERED):
        shipment = Shipment.objects.create(
            reference=f"SO-{uuid.uuid4().hex[:12]}", carrier=Carrier.objects.get(code=supplier_order.carrier_code),
            service_level=supplier_order.service_level, origin={}, destination={}, weight_g=supplier_order.weight_g,
            cost=supplier_order.shipping_cost, waybill=waybill or f"JX{uuid.uuid4().int % 10**10:010d}",
            status=ShipmentStatus.BOOKED)
        fields["shipment"] = shipment
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(**fields)
    return (SupplierOrder.objects.select_related("order", "order__workshop", "supplier", "warehouse", "shipment",
                                                 "shipment__carrier").get(pk=supplier_order.pk))
