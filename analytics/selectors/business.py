"""The business section of the operations view."""

from __future__ import annotations

from analytics.figures import Figure
from analytics.periods import Period


def business_figures(*, period: Period) -> list[Figure]:
    return []
