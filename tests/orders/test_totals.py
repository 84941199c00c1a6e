"""PPN and totals: integer rupiah, rounded half up once per order."""

from __future__ import annotations

import pytest

from orders.services import order_totals


@pytest.mark.parametrize("subtotal,shipping,rate,tax", [
    (123_457, 18_000, 1100, 15_560),  # 15,560.27 → 15,560
    (100, 50, 1100, 17),              # 16.5 → 17 (half up, not to even)
    (50, 0, 1100, 6),                 # 5.5 → 6
    (123_455, 0, 1100, 13_580),       # 13,580.05 → 13,580
    (123_459, 0, 1100, 13_580),       # 13,580.49 → 13,580
    (0, 0, 1100, 0),
    (1_000_000, 0, 1200, 120_000),    # another rate
])
def test_ppn_rounded_half_up_to_whole_rupiah(subtotal, shipping, rate, tax):
    totals = order_totals(subtotal=subtotal, shipping=shipping, rate_bp=rate)
    assert totals.tax == tax
    assert totals.grand_total == subtotal + shipping + tax


def test_default_rate_comes_from_settings(settings):
    settings.PPN_RATE_BP = 1100
    assert order_totals(subtotal=10_000, shipping=0).tax == 1_100
