"""Order helpers: a workshop member with a default address, offers in stock, a cart, a placement.

Carts and orders are built through the services (rules, ledger and events as in production)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Part
from logistics.models import Carrier
from okto88.models import User
from orders import services
from orders.models import Order, OrderEvent, StepRun
from orders.timeline import order_event_write
from suppliers.models import Offer, Stock, Supplier, Warehouse
from tests.catalog.factories import PartFactory
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierFactory, WarehouseFactory
from tests.workshops.factories import AddressFactory, WorkshopFactory, WorkshopMemberFactory
from workshops.models import Address, Workshop

CARRIERS = [("jne", "JNE"), ("sicepat", "SiCepat"), ("jnt", "J&T Express"), ("anteraja", "AnterAja")]


def carriers_ensure() -> None:
    """Migration-seeded carriers vanish when a transactional test flushes the tables."""
    for code, name in CARRIERS:
        Carrier.objects.get_or_create(code=code, defaults={"name": name})


@dataclass
class Buyer:
    workshop: Workshop
    user: User
    address: Address


def buyer_make(*, credit_limit: int = 50_000_000) -> Buyer:
    member = WorkshopMemberFactory(workshop=WorkshopFactory(credit_limit=credit_limit))
    return Buyer(workshop=member.workshop, user=member.user, address=AddressFactory(workshop=member.workshop))


def offer_in_stock(*, on_hand: int = 10, price: int = 150_000, supplier: Supplier | None = None,
                   warehouse: Warehouse | None = None, weight_g: int = 500, **offer_fields) -> tuple[Offer, Stock]:
    supplier = supplier or (warehouse.supplier if warehouse else SupplierFactory())
    part: Part = PartFactory(weight_g=weight_g)
    offer = OfferFactory(supplier=supplier, part=part, price=price, **offer_fields)
    stock = StockFactory(offer=offer, warehouse=warehouse or WarehouseFactory(supplier=supplier), on_hand=on_hand)
    return offer, stock


def two_supplier_cart(*, buyer: Buyer) -> tuple[Offer, Offer, Offer]:
    """Part 1 in the cart from supplier A (100,000, 2 units); supplier B sells it for 98,000 and
    ships part 2 (in the cart, 50,000) anyway: one parcel instead of two is cheaper. The cart
    optimiser's tests start here. Returns (part 1 from A, part 1 from B, part 2 from B)."""
    a_wh, b_wh = WarehouseFactory(), WarehouseFactory()
    p1_a, _ = offer_in_stock(price=100_000, warehouse=a_wh, on_hand=10)
    p1_b = OfferFactory(supplier=b_wh.supplier, part=p1_a.part, price=98_000)
    StockFactory(offer=p1_b, warehouse=b_wh, on_hand=10)
    p2_b, _ = offer_in_stock(price=50_000, warehouse=b_wh, on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=p1_a.pk, quantity=2)
    services.cart_line_add(workshop=buyer.workshop, offer_id=p2_b.pk, quantity=1)
    return p1_a, p1_b, p2_b


def cart_with_a_cheaper_substitute(*, buyer: Buyer) -> tuple[Offer, Offer]:
    """One line in the cart (90,000); another brand's part, whose cross reference is that part's
    number (it interchanges), sells for 60,000. Returns (the cart's offer, the substitute's)."""
    from tests.catalog.factories import CrossReferenceFactory

    wh = WarehouseFactory()
    wanted, _ = offer_in_stock(price=90_000, on_hand=5)
    other_part = PartFactory(weight_g=500)
    CrossReferenceFactory(part=other_part, brand_name=wanted.part.brand.name, number=wanted.part.number)
    substitute = OfferFactory(supplier=wh.supplier, part=other_part, price=60_000)
    StockFactory(offer=substitute, warehouse=wh, on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=wanted.pk, quantity=1)
    return wanted, substitute


def cheapest_shipping(*, buyer: Buyer) -> dict[int, tuple[str, str]]:
    preview = services.cart_checkout_preview(workshop=buyer.workshop, address=buyer.address)
    return {g.supplier_id: (g.choice.carrier_code, g.choice.service_level) for g in preview.groups}


def place(*, buyer: Buyer, payment_method: str = "terms", key: str | None = None,
          shipping: dict[int, tuple[str, str]] | None = None, accept_changes: bool = False) -> Order:
    return services.order_place(
        workshop=buyer.workshop, actor=buyer.user, address=buyer.address, payment_method=payment_method,
        shipping_choices=shipping if shipping is not None else cheapest_shipping(buyer=buyer),
        idempotency_key=key or uuid.uuid4().hex, accept_changes=accept_changes)


def client_for(user) -> APIClient:
    """An API client logged in as `user` (a workshop member's browser session)."""
    client = APIClient()
    client.force_login(user)
    return client


# --- Rows for the workflow figures: orders and step runs at chosen times --------------------
#
# Written straight to the tables (a known data set for hand-computed figures), except the
# timeline, which goes through its one writer, orders.timeline.

_ORDER_NUMBERS = iter(range(1, 10**9))


def order_row_make(*, workshop_member=None, status: str = "paid", created_at=None, updated_at=None,
                   expires_at=None) -> Order:
    """An order row in `status`, placed at `created_at`, with no lines (the figures read only
    statuses, timelines and step runs)."""
    member = workshop_member or WorkshopMemberFactory()
    order = Order.objects.create(
        number=f"OKT-{next(_ORDER_NUMBERS):08d}-{uuid.uuid4().hex[:4]}", workshop=member.workshop,
        placed_by=member.user, status=status, payment_method="terms", idempotency_key=uuid.uuid4().hex,
        request_hash="0" * 64, delivery_address={"city": "Bandung"}, subtotal=100_000, shipping_total=10_000,
        tax_rate_bp=1100, tax_total=12_100, grand_total=122_100, expires_at=expires_at)
    created_at = created_at or timezone.now()
    Order.objects.filter(pk=order.pk).update(created_at=created_at, updated_at=updated_at or created_at)
    order.refresh_from_db()
    return order


def order_event_add(*, order: Order, kind: str, step: str = "", data: dict | None = None, at=None) -> None:
    event = order_event_write(order=order, kind=kind, step=step, data=data)
    if at is not None:
        OrderEvent.objects.filter(pk=event.pk).update(created_at=at)


def step_run_make(*, order: Order, step: str, attempt: int = 1, status: str = "succeeded", started_at,
                  wait_ms: float | None = 0.0, run_ms: float | None = None, error_code: str = "") -> StepRun:
    """One attempt that started at `started_at`, due `wait_ms` before it (None: no enqueue time)
    and finished `run_ms` after it (None: still running)."""
    return StepRun.objects.create(
        order=order, step=step, attempt=attempt, status=status, task_id=uuid.uuid4().hex, started_at=started_at,
        enqueued_at=None if wait_ms is None else started_at - timedelta(milliseconds=wait_ms),
        finished_at=None if run_ms is None else started_at + timedelta(milliseconds=run_ms),
        error_code=error_code, error=error_code)
