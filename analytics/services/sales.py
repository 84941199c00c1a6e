"""Writes of the analytics app: the refresh of the business figures' read model (SalesDay) and
of the order funnel's (FunnelHour), day by day of placement together.

The rule of its rows is analytics.read_models.SALES_DAY_ROWS_SQL; a day's rows are replaced as a
whole (delete, then insert the recomputation) in one transaction, a few days per statement, so a
refresh is exact for the days it touches and never holds a large transaction. Which days: those
of orders changed since the last run (analytics.tasks runs it every few minutes from beat).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone

from analytics.models import SalesRefresh
from analytics.periods import JAKARTA
from analytics.read_models import SALES_DAY_KEY, SALES_DAY_MEASURES, SALES_DAY_ROWS_SQL, SALES_DAYS_WHERE_SQL
from analytics.selectors.workflow import FUNNEL_HOUR_ROWS_SQL

logger = logging.getLogger(__name__)

# Days per statement: ~35,000 orders a day at the benchmark's scale (1,000,000 over 30 days).
DAYS_PER_BATCH = 2
# An order saved this long before the last run started is looked at again: a transaction that
# stamped updated_at before the run and committed after it is not lost (clocks of web and worker
# hosts may differ by a little too).
UPDATED_AT_OVERLAP = dt.timedelta(minutes=10)
# pg_advisory lock key of the refresh: one run at a time, across hosts.
_REFRESH_LOCK = 0x0088_5A1E

_COLUMNS = ", ".join(SALES_DAY_KEY + SALES_DAY_MEASURES)
# Fixed fragments only; every value is a parameter.
_INSERT_SQL = (f"INSERT INTO analytics_salesday ({_COLUMNS}) SELECT {_COLUMNS} FROM ("  # noqa: S608
               + SALES_DAY_ROWS_SQL.format(where=SALES_DAYS_WHERE_SQL) + ") AS rows")
_FUNNEL_INSERT_SQL = ("INSERT INTO analytics_funnelhour (hour, level, status, failed_step, error_code, orders) "
                      + FUNNEL_HOUR_ROWS_SQL.format(where=SALES_DAYS_WHERE_SQL))
_FUNNEL_DELETE_SQL = """DELETE FROM analytics_funnelhour WHERE hour >= %(start)s AND hour < %(end)s
    AND (hour AT TIME ZONE 'Asia/Jakarta')::date = ANY (%(days)s::date[])"""

_CHANGED_DAYS_SQL = """
SELECT DISTINCT (o.created_at AT TIME ZONE 'Asia/Jakarta')::date AS day
FROM orders_order o
WHERE o.updated_at >= %(since)s
   OR o.id IN (SELECT e.order_id FROM orders_orderevent e WHERE e.id > %(event_id)s)
ORDER BY 1
"""
_ALL_DAYS_SQL = "SELECT DISTINCT (created_at AT TIME ZONE 'Asia/Jakarta')::date FROM orders_order ORDER BY 1"


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=JAKARTA)


def sales_days_refresh(*, days: Iterable[dt.date]) -> int:
    """Recompute the figures of `days` from the orders placed on them, DAYS_PER_BATCH days per
    transaction. Returns the number of days written."""
    ordered = sorted(set(days))
    for first in range(0, len(ordered), DAYS_PER_BATCH):
        batch = ordered[first:first + DAYS_PER_BATCH]
        params = {"days": batch, "start": _midnight(batch[0]), "end": _midnight(batch[-1] + dt.timedelta(days=1))}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM analytics_salesday WHERE day = ANY (%(days)s::date[])", params)
            cursor.execute(_INSERT_SQL, params)
            cursor.execute(_FUNNEL_DELETE_SQL, params)
            cursor.execute(_FUNNEL_INSERT_SQL, params)
    return len(ordered)


def _days(sql: str, params: dict | None = None) -> list[dt.date]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return [row[0] for row in cursor.fetchall()]


def _max_event_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM orders_orderevent")
        return cursor.fetchone()[0]


def _locked() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_REFRESH_LOCK])
        return cursor.fetchone()[0]


def _unlock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_REFRESH_LOCK])


def sales_days_refresh_changed(*, now: dt.datetime | None = None) -> int | None:
    """Beat: recompute the days of orders changed since the last run (saved since it started,
    less UPDATED_AT_OVERLAP, or with a timeline event newer than the one the run before it had
    seen), then move the watermark. The first run recomputes every day. Returns the number of
    days written, or None when another run holds the lock."""
    if not _locked():
        return None
    try:
        started = now or timezone.now()
        event_id = _max_event_id()  # read before the scan: events after it are the next run's
        state = SalesRefresh.objects.order_by("pk").first() or SalesRefresh()
        from_scratch = state.scanned_at is None
        if from_scratch:
            days = _days(_ALL_DAYS_SQL)
        else:
            days = _days(_CHANGED_DAYS_SQL, {"since": state.scanned_at - UPDATED_AT_OVERLAP,
                                             "event_id": state.previous_event_id})
        written = sales_days_refresh(days=days)
        # The next run looks again at the events this one may have missed (previous_event_id);
        # after a run from scratch that is none older than the events it saw.
        state.previous_event_id = event_id if from_scratch else state.event_id
        state.event_id, state.scanned_at = event_id, started
        state.save()
        if written:
            logger.info("sales figures refreshed", extra={"days": written})
        return written
    finally:
        _unlock()


def sales_days_rebuild() -> int:
    """Every day recomputed from scratch and the watermark set to now: for bulk paths that write
    orders around the services (the benchmark's generator, a data repair). Days without orders
    lose their rows."""
    SalesRefresh.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM analytics_salesday")
        cursor.execute("DELETE FROM analytics_funnelhour")
    return sales_days_refresh_changed() or 0


__all__ = ["DAYS_PER_BATCH", "UPDATED_AT_OVERLAP", "sales_days_rebuild", "sales_days_refresh",
           "sales_days_refresh_changed"]
