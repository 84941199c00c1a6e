"""The order an operator re-drives from the stalled orders page, looked up by its number."""

from __future__ import annotations

from orders.models import Order

ORDER_NUMBER_MAX_LENGTH = Order._meta.get_field("number").max_length


def order_for_redrive(*, number: str) -> Order | None:
    if not number or len(number) > ORDER_NUMBER_MAX_LENGTH:
        return None
    return Order.objects.filter(number=number).first()
