"""The load section of the operations view."""

from __future__ import annotations

from analytics.figures import Figure
from analytics.periods import Period


def load_figures(*, period: Period, route: str | None = None) -> list[Figure]:
    # route: one route (as recorded: "orders:detail", "/api/v1/orders/{number}/") or None for all
    return []
