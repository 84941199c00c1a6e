"""Row locks for supplier data, always taken in primary-key order.

Two transactions that lock the same stock rows lock them in the same order, so they wait
for each other instead of deadlocking (an order reserving A then B and a feed setting B then
A would otherwise deadlock). Every helper must run inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from suppliers.models import Offer, Stock


def stock_lock(*, stock_ids: Iterable[int]) -> dict[int, Stock]:
    """Lock these stock rows (FOR UPDATE, pk order) and return them fresh, by id."""
    ids = sorted(set(stock_ids))
    if not ids:
        return {}
    rows = Stock.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}


def stock_lock_queryset(queryset: QuerySet[Stock]) -> list[Stock]:
    """Lock the stock rows of a queryset in pk order."""
    return list(queryset.select_for_update(of=("self",)).order_by("pk"))


def offer_lock(*, offer_ids: Iterable[int]) -> dict[int, Offer]:
    """Lock these offer rows (FOR UPDATE, pk order) and return them fresh, by id."""
    ids = sorted(set(offer_ids))
    if not ids:
        return {}
    rows = Offer.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}
