"""The headline numbers on the operations dashboard: a few counts, each over an index."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.figures import Column, Figure
from orders.models import Order, OrderStatus

RECENT = dt.timedelta(hours=24)


def dashboard_headlines(*, stalled_count: int, stalled_limit: int, now: dt.datetime | None = None) -> Figure:
    """Orders waiting for payment, in fulfilment, failed in the last 24 hours, and stalled now
    (counted by the caller from the stalled orders figure, which stops at `stalled_limit`)."""
    now = now or timezone.now()
    # Three index-only range counts over order_status_age (status, updated_at): the failed ones
    # of the last 24 hours only, not every failed order ever.
    orders = Order.objects.all()
    counts = {
        "waiting": orders.filter(status=OrderStatus.PENDING_PAYMENT).count(),
        "fulfilling": orders.filter(status__in=[OrderStatus.PAID, OrderStatus.IN_FULFILMENT]).count(),
        "failed": orders.filter(status=OrderStatus.FAILED, updated_at__gte=now - RECENT).count(),
    }
    return Figure(
        key="headlines", title=_("Now"), chart="hbar", x="measure", series=("value",),
        note=_("Stalled orders are counted up to %(limit)d.") % {"limit": stalled_limit},
        columns=(Column("measure", _("Measure"), "text"), Column("value", _("Orders"), "int")),
        rows=[
            {"measure": _("Waiting for payment"), "value": counts["waiting"]},
            {"measure": _("Paid or being prepared"), "value": counts["fulfilling"]},
            {"measure": _("Failed in the last 24 hours"), "value": counts["failed"]},
            {"measure": _("Stalled (past their step's deadline)"), "value": min(stalled_count, stalled_limit)},
        ],
    )
