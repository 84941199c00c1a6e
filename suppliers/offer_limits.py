"""What an offer and its stock may hold: one definition for the services, the feed import,
the admin forms and the API serializers, so each of them refuses the same values."""

from __future__ import annotations

from okto88.bounds import INTEGER_MAX

# A supplier's own SKU (Offer.sku's column is this long).
SKU_MAX_LENGTH = 60

# Whole rupiah, more than nothing. The upper bound is the most a feed's price cell can spell
# (15 digits, or 1–3 digits and four dot-separated groups of three): Rp 999 trillion.
PRICE_MIN = 1
PRICE_MAX_DIGITS = 15
PRICE_MAX = 10**PRICE_MAX_DIGITS - 1

# Days from order to dispatch; 0 is the same day. A year is the longest a supplier may quote.
LEAD_TIME_MIN_DAYS = 0
LEAD_TIME_MAX_DAYS = 365

MIN_ORDER_QTY_MIN = 1
PACK_SIZE_MIN = 1

# Units on hand in one warehouse (Stock.on_hand is a PostgreSQL integer).
STOCK_MAX = INTEGER_MAX

__all__ = [
    "LEAD_TIME_MAX_DAYS", "LEAD_TIME_MIN_DAYS", "MIN_ORDER_QTY_MIN", "PACK_SIZE_MIN", "PRICE_MAX", "PRICE_MAX_DIGITS",
    "PRICE_MIN", "SKU_MAX_LENGTH", "STOCK_MAX",
]
