"""Row locks for orders and carts. Must run inside a transaction.

Lock order across the whole placement: workshop row (workshops.lock_objects) → cart → stock
rows in pk order (suppliers.lock_objects, inside stock_reserve). Everything after placement
locks the order row first, then stock rows in pk order. Nothing locks in the other direction.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from orders.models import Cart, Order, SupplierOrder
from workshops.lock_objects import workshop_lock
from workshops.models import Workshop


def order_lock(*, order_id: int, **annotations: Any) -> Order:
    """Lock one order row (FOR UPDATE) and return it fresh, with `annotations` read in the same
    query (e.g. whether a workflow step already succeeded)."""
    orders = Order.objects.select_for_update(of=("self",))
    return (orders.annotate(**annotations) if annotations else orders).get(pk=order_id)


def supplier_order_lock(*, supplier_order_id: int) -> SupplierOrder:
    """Lock one supplier order row (FOR UPDATE) and return it fresh; after its order's lock."""
    return SupplierOrder.objects.select_for_update().get(pk=supplier_order_id)


def supplier_order_lock_with(*, supplier_order_id: int, **annotations: Any) -> SupplierOrder:
    """Lock one supplier order row (after its order's lock) and return it fresh with its supplier,
    with `annotations` read in the same query (whether a step of it already succeeded)."""
    return (SupplierOrder.objects.select_for_update(of=("self",)).annotate(**annotations)
            .select_related("supplier").get(pk=supplier_order_id))


def supplier_orders_lock(*, supplier_orders: QuerySet[SupplierOrder]) -> list[SupplierOrder]:
    """Lock the rows of `supplier_orders` (FOR UPDATE of the supplier order rows only, in pk
    order, after their order's lock) and return them fresh, with the queryset's annotations."""
    return list(supplier_orders.select_for_update(of=("self",)).order_by("pk"))


def workshop_cart_lock(*, workshop_id: int) -> tuple[Workshop, Cart]:
    """The workshop row and then its cart (the placement's lock order), locked in one statement
    and returned fresh; the cart is created first if missing."""
    workshop = (Workshop.objects.select_for_update(of=("self", "cart")).select_related("cart")
                .filter(pk=workshop_id, cart__isnull=False).first())
    if workshop is None:
        return workshop_lock(workshop_id=workshop_id), cart_lock(workshop_id=workshop_id)
    return workshop, workshop.cart


def cart_lock(*, workshop_id: int) -> Cart:
    """The workshop's cart, created if missing, locked (FOR UPDATE)."""
    cart = Cart.objects.select_for_update(of=("self",)).filter(workshop_id=workshop_id).first()
    if cart is None:
        Cart.objects.get_or_create(workshop_id=workshop_id)
        cart = Cart.objects.select_for_update(of=("self",)).get(workshop_id=workshop_id)
    return cart
