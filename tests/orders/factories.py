"""Order helpers: a workshop member with a default address, offers in stock, a cart, a placement.

Carts and orders are built through the services (rules, ledger and events as in production)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from rest_framework.test import APIClient

from catalog.models import Part
from logistics.models import Carrier
from okto88.models import User
from orders import services
from orders.models import Order
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
