"""The partners' circuit breakers as they are now (okto88/circuit_breaker.py), for the
integrations section: one table, read from Redis (the breakers' only home)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from analytics.figures import Column, Figure
from okto88.circuit_breaker import CLOSED, HALF_OPEN, OPEN, breaker_states

PARTNER_LABELS = {
    "courier": pgettext_lazy("circuit breaker", "Courier"),
    "gateway": pgettext_lazy("circuit breaker", "Payment gateway"),
}
STATE_LABELS = {
    CLOSED: pgettext_lazy("circuit breaker", "Closed (calls go through)"),
    HALF_OPEN: pgettext_lazy("circuit breaker", "Half-open (probing)"),
    OPEN: pgettext_lazy("circuit breaker", "Open (calls paused)"),
}


def breaker_figures() -> list[Figure]:
    """A row per partner: its breaker's state, since when, until when calls are paused (open
    only), and the failure rate and calls over the breaker's window."""
    rows = [
        {
            "partner": str(PARTNER_LABELS.get(partner, partner)),
            "state": str(STATE_LABELS[breaker["state"]]),
            "since": breaker["since"],
            "paused_until": breaker["until"],
            "failure_rate": round(breaker["failure_rate"] * 100, 1),
            "calls": breaker["calls"],
        }
        for partner, breaker in breaker_states().items()
    ]
    return [Figure(
        key="partner_breakers",
        title=pgettext_lazy("circuit breaker", "Circuit breakers"),
        columns=(
            Column("partner", pgettext_lazy("circuit breaker", "Partner")),
            Column("state", pgettext_lazy("circuit breaker", "State")),
            Column("since", pgettext_lazy("circuit breaker", "Since"), "datetime"),
            Column("paused_until", pgettext_lazy("circuit breaker", "Paused until"), "datetime"),
            Column("failure_rate", pgettext_lazy("circuit breaker", "Failure rate"), "percent"),
            Column("calls", pgettext_lazy("circuit breaker", "Calls in window"), "int"),
        ),
        rows=rows,
        note=_("Now, not over the period: a partner's calls pause when most of its recent calls fail, "
               "and resume after successful probes."),
    )]
