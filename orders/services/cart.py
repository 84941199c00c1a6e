"""Cart lines: add, change and remove, with the offer's quantity rules checked as they are written."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from okto88.errors import InvalidQuantity
from orders import selectors
from orders.errors import CartLineNotFound, OfferUnavailable, OutOfStock, QuantityBelowMinimum, QuantityNotPackMultiple
from orders.lock_objects import cart_lock
from orders.models import Cart, CartLine
from suppliers.models import Offer
from workshops.models import Workshop


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def buyable_offer(offer_id: Any) -> Offer:
    try:
        offer = Offer.objects.select_related("supplier", "part").get(pk=int(offer_id))
    except (Offer.DoesNotExist, TypeError, ValueError) as exc:
        raise OfferUnavailable(extra={"offer": str(offer_id)[:20]}) from exc
    if not selectors.offer_is_buyable(offer=offer):
        raise OfferUnavailable(extra={"offer": offer.pk})
    return offer


def quantity_check(*, offer: Offer, quantity: Any) -> int:
    if not _is_int(quantity) or quantity <= 0:
        raise InvalidQuantity(extra={"field": "quantity", "offer": offer.pk})
    if quantity < offer.min_order_qty:
        raise QuantityBelowMinimum(
            f"At least {offer.min_order_qty} of {offer.sku}.",
            extra={"field": "quantity", "offer": offer.pk, "min_order_qty": offer.min_order_qty})
    if quantity % offer.pack_size:
        raise QuantityNotPackMultiple(
            f"{offer.sku} comes in packs of {offer.pack_size}.",
            extra={"field": "quantity", "offer": offer.pk, "pack_size": offer.pack_size})
    available = selectors.offer_available(offer_ids=[offer.pk]).get(offer.pk, 0)
    if quantity > available:
        raise OutOfStock(f"Only {available} of {offer.sku} available.",
                         extra={"field": "quantity", "offer": offer.pk, "available": available})
    return quantity


@transaction.atomic
def cart_line_add(*, workshop: Workshop, offer_id: int, quantity: int) -> CartLine:
    """Add `quantity` of an offer (added to the line if there is one). The line remembers the
    price the workshop saw now; checkout shows any change since."""
    offer = buyable_offer(offer_id)
    cart = cart_lock(workshop_id=workshop.pk)
    line = CartLine.objects.filter(cart=cart, offer=offer).first()
    total = (line.quantity if line else 0) + quantity if _is_int(quantity) else quantity
    total = quantity_check(offer=offer, quantity=total)
    if line is None:
        line = CartLine(cart=cart, offer=offer)
    line.quantity, line.price_seen = total, offer.price
    line.save()
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return line


@transaction.atomic
def cart_line_update(*, workshop: Workshop, line_id: int, quantity: int) -> CartLine:
    """Set a line's quantity. price_seen is kept: a price change stays visible until accepted."""
    cart = cart_lock(workshop_id=workshop.pk)
    line = CartLine.objects.filter(cart=cart, pk=line_id).select_related("offer", "offer__supplier").first()
    if line is None:
        raise CartLineNotFound(extra={"line": line_id})
    if not selectors.offer_is_buyable(offer=line.offer):
        raise OfferUnavailable(extra={"offer": line.offer_id})
    line.quantity = quantity_check(offer=line.offer, quantity=quantity)
    line.save(update_fields=["quantity"])
    return line


@transaction.atomic
def cart_line_remove(*, workshop: Workshop, line_id: int) -> None:
    cart = cart_lock(workshop_id=workshop.pk)
    deleted, _ = CartLine.objects.filter(cart=cart, pk=line_id).delete()
    if not deleted:
        raise CartLineNotFound(extra={"line": line_id})


@transaction.atomic
def cart_line_lock_set(*, workshop: Workshop, line_id: int, locked: bool) -> CartLine:
    """Lock a line (the cart optimiser keeps its offer and quantity) or unlock it."""
    cart = cart_lock(workshop_id=workshop.pk)
    line = CartLine.objects.filter(cart=cart, pk=line_id).first()
    if line is None:
        raise CartLineNotFound(extra={"line": line_id})
    line.locked = bool(locked)
    line.save(update_fields=["locked"])
    return line
