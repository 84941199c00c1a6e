"""Prometheus gauges the operations view computes at scrape: okto88_orders_stalled.

Registered from AnalyticsConfig.ready through okto88.metrics.scrape_collector_register (the
platform may not import analytics). A scrape never fails because of them: a database that
blinks or answers slowly (the count is bounded by a statement timeout) leaves the gauge out
of that scrape.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from prometheus_client.core import GaugeMetricFamily

from okto88.metrics import scrape_collector_register
from orders.workflow import orders_stalled_count

logger = logging.getLogger(__name__)

STALLED_NAME = "okto88_orders_stalled"
STALLED_HELP = "Orders past their state's deadline (orders.workflow.orders_stalled)"
SCRAPE_STATEMENT_TIMEOUT_MS = 2000


class StalledOrdersCollector:
    def describe(self):
        # Named up front so registering never reaches the database (e.g. during `manage.py check`).
        yield GaugeMetricFamily(STALLED_NAME, STALLED_HELP)

    def collect(self):
        family = GaugeMetricFamily(STALLED_NAME, STALLED_HELP)
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)",
                                   [str(SCRAPE_STATEMENT_TIMEOUT_MS)])
                family.add_metric([], orders_stalled_count())
        except Exception:  # a scrape must not fail because the database blinked
            logger.warning("stalled orders not counted for this scrape", exc_info=True)
        yield family


def metrics_register() -> None:
    scrape_collector_register(StalledOrdersCollector())
