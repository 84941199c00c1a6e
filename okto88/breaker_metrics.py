"""okto88_partner_breaker_state{partner}: each partner's circuit breaker, read from Redis at
scrape (the state is shared by every process, so any web process reports it whole)."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from okto88.circuit_breaker import CLOSED, HALF_OPEN, OPEN, breaker_states

STATE_VALUES = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
NAME = "okto88_partner_breaker_state"
HELP = "Partner circuit breaker state (0 closed, 1 half-open, 2 open)"


class BreakerStateCollector:
    def describe(self):
        # Named up front so registering never reaches Redis (e.g. during `manage.py check`).
        yield GaugeMetricFamily(NAME, HELP, labels=["partner"])

    def collect(self):
        family = GaugeMetricFamily(NAME, HELP, labels=["partner"])
        for partner, breaker in breaker_states().items():  # {} when Redis is down
            family.add_metric([partner], STATE_VALUES[breaker["state"]])
        yield family
