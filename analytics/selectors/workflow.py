"""The workflow section of the operations view."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from analytics.figures import Column, Figure
from analytics.periods import Period
from orders.models import Order


def workflow_figures(*, period: Period) -> list[Figure]:
    return []


# PLACEHOLDERS until the "flow" branch merges: its stalled_orders_figure and
# order_timeline_figures replace these two (same names and arguments). The pages and the API
# (analytics/views.py, analytics/api.py) call them as they are; the stalled rows must carry
# the order's "number" (the re-drive button posts it) and may say in "redrive" what a re-drive
# would do ("" for nothing: no button).
def stalled_orders_figure(*, now: dt.datetime | None = None, limit: int = 200) -> Figure:
    return Figure(
        key="stalled", title=_("Stalled orders"),
        columns=(Column("number", pgettext_lazy("purchase order", "Order"), "text"),
                 Column("status", _("Status"), "text"), Column("since", _("In this state since"), "datetime")),
        rows=[],
    )


def order_timeline_figures(*, order_number: str) -> list[Figure] | None:
    if not Order.objects.filter(number=order_number).exists():
        return None
    return [Figure(
        key="timeline", title=_("Step attempts"), chart="timeline",
        columns=(Column("lane", _("Step"), "text"), Column("start_ms", _("Start (ms)"), "ms"),
                 Column("end_ms", _("End (ms)"), "ms"), Column("kind", _("Part"), "text")),
        rows=[],
    )]
