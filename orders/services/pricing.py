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
