"""What every step of a run shares: the session's settings and temp tables, and the time per phase."""

from __future__ import annotations

import logging
import time

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__package__)

_TEMP_TABLES = ("feed_stage", "feed_column", "feed_brand", "feed_dup", "feed_row", "feed_cell", "feed_error",
                "feed_ok", "feed_stock", "feed_new_offer", "feed_offer_changed", "feed_stock_changed",
                "feed_offer_diff", "feed_stock_diff", "feed_refused", "feed_touched", "feed_best_before",
                "feed_best_after")


# The row says something else than its stored offer (an empty lead time keeps the stored one).
# Alias r: a row of feed_row (validation) with a stored offer.
OFFER_DIFFERS_SQL = ("((r.offer_part_id, r.offer_price, r.offer_lead_time) IS DISTINCT FROM "
                     "(r.part_id, r.price, coalesce(r.lead_time, r.offer_lead_time)))")

TEMP_BUFFERS = "256MB"


def _temp_buffers(cursor) -> None:
    """Keep the staging tables (session temp tables, ~100 MB at a million rows) in the
    backend's local buffers instead of going through the kernel: the default 8 MB evicts on
    every pass. It can only be set before the session's first temp table, so every import sets
    the same value; a session that already used temp tables with another keeps that one."""
    try:
        with transaction.atomic():
            cursor.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    except DatabaseError:
        logger.info("temp_buffers not raised: this session already used temp tables")


def _client_check(cursor) -> None:
    """A run stopped by its time limit closes its session, possibly mid-statement (a merge
    waiting on a lock): the server then ends that statement within seconds instead of running
    it, or waiting, for a client that is gone. Linux only; elsewhere the setting stays 0."""
    try:
        with transaction.atomic():
            cursor.execute("SET client_connection_check_interval = '2s'")
    except DatabaseError:
        logger.info("client_connection_check_interval not supported here")


def _drop_temp_tables() -> None:
    if connection.connection is None:
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS " + ", ".join(f"pg_temp.{t}" for t in _TEMP_TABLES))
        cursor.execute("RESET work_mem")
        cursor.execute("RESET client_connection_check_interval")


class _Phases:
    """Wall time per phase of one import, logged with its summary (bench/feed_bench.py prints it)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def mark(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._last, 3)
        self._last = now


def _connection_discard() -> None:
    """Cancel the statement the session may still be running (a server blocked on a lock would not
    notice a closed socket), then close it; the next query opens a new session. The temp tables
    and the session's run lock go with the old one."""
    raw = connection.connection
    if raw is not None:
        try:
            raw.cancel()
        except Exception:  # already broken: closing is all that is left
            logger.info("feed import statement not cancelled", extra={"connection": "broken"})
    try:
        connection.close()
    except DatabaseError:
        logger.info("feed import connection closed after an interruption")


def _stock_column_count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM feed_column")
    return cursor.fetchone()[0]


def _blank_condition(cursor) -> str:
    values = ["c_sku", "c_brand", "c_part_number", "c_price", "c_lead_time_days"]
    values += [f"w{i}" for i in range(_stock_column_count(cursor))]
    # Every cell empty or spaces; a row with a SKU (nearly all) is told apart by the first test.
    return "(" + " AND ".join(f"btrim(coalesce({v}, '')) = ''" for v in values) + ")"


def _analyze(cursor, *tables: str) -> None:
    for table in tables:
        cursor.execute(f"ANALYZE {table}")
