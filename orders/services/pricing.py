"""Order money: goods, shipping and PPN in whole rupiah, once per order."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class OrderTotals:
    subtotal: int
    shipping: int
    tax: int
    grand_total: int
    rate_bp: int


def order_totals(*, subtotal: int, shipping: int, rate_bp: int | None = None) -> OrderTotals:
    """PPN on goods and shipping, once per order, rounded half up to whole rupiah:
    tax = round_half_up((subtotal + shipping) × rate_bp / 10,000), in integers only.
    E.g. 100 + 50 at 11 % = 16.5 → 17; 123,457 + 18,000 at 11 % = 15,560.27 → 15,560."""
    rate = settings.PPN_RATE_BP if rate_bp is None else rate_bp
    if subtotal < 0 or shipping < 0 or rate < 0:
        raise ValueError("amounts and rate must be ≥ 0")
    base = subtotal + shipping
    tax = (2 * base * rate + 10_000) // 20_000  # floor(x + ½) with x = base × rate / 10,000
    return OrderTotals(subtotal=subtotal, shipping=shipping, tax=tax, grand_total=base + tax, rate_bp=rate)


def order_refund_due(*, grand_total: int, refunded_total: int, remaining_subtotal: int, remaining_shipping: int,
                     rate_bp: int) -> int:
    """What goes back to the workshop when parts of an order will not ship: what it paid and has
    not had back, less what the parts still coming cost (goods, their shipping and PPN on both,
    rounded as order_totals rounds). One rule for every partial refund, whatever its cause (a
    rejected line, a rejected or failed supplier order): PPN is never rounded per share, so the
    refunds of an order add up to its grand total to the rupiah when nothing ships, and a
    refund can never be paid twice (what was given back is subtracted)."""
    still_owed = order_totals(subtotal=remaining_subtotal, shipping=remaining_shipping, rate_bp=rate_bp).grand_total
    return max(0, grand_total - refunded_total - still_owed)
