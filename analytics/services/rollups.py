"""Writes of the analytics app: recorded minutes from Redis into rollups, system gauges sampled,
old rows compacted and deleted. Celery beat runs rollups_maintain every minute
(analytics.rollups_flush); every step is safe to run twice or side by side."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction

from analytics.selectors.rollups import SUMS_GENERATION_KEY
from okto88.metrics import celery_queue_depths, db_connections_in_use
from okto88.recording import recorded_minutes_claim

logger = logging.getLogger(__name__)

# A minute is complete when every process has flushed it: flushers write every
# RECORDING_FLUSH_SECONDS; this much more allows for a slow one. A later write to a claimed
# minute is not lost: it lands in a new hash and the next run adds it to the same row.
FLUSH_GRACE_SECONDS = 5
COMPACT_BATCH_ROWS = 5000
PRUNE_BATCH_ROWS = 5000
MAX_BATCHES_PER_RUN = 20

# Adds two histograms bucket by bucket (a shorter one counts as zeros past its end).
_HISTOGRAM_ADD = """ARRAY(SELECT coalesce(a, 0) + coalesce(b, 0)
    FROM unnest(analytics_rollup.histogram, EXCLUDED.histogram) WITH ORDINALITY AS h(a, b, i) ORDER BY i)"""
_ON_CONFLICT_ADD = f"""ON CONFLICT ON CONSTRAINT rollup_unique_series DO UPDATE SET
    count = analytics_rollup.count + EXCLUDED.count,
    sum_ms = analytics_rollup.sum_ms + EXCLUDED.sum_ms,
    histogram = {_HISTOGRAM_ADD}"""
_INSERT_ADD = f"""INSERT INTO analytics_rollup
    (kind, bucket_seconds, bucket_start, labels, outcome, count, sum_ms, histogram)
    VALUES (%s, %s, %s, %s::text[], %s, %s, %s, %s::bigint[])
    {_ON_CONFLICT_ADD}"""  # noqa: S608 - fixed fragments only; every value is a parameter


@dataclass(frozen=True)
class RollupRow:
    kind: str
    bucket_seconds: int
    bucket_start: dt.datetime
    labels: tuple[str, ...]
    outcome: str
    count: int
    sum_ms: float
    histogram: tuple[int, ...]


def _minute_start(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)


def rollups_add(*, rows: list[RollupRow]) -> None:
    """Adds each row's counts to its rollup row (created if new): two writers of one minute add up."""
    if not rows:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_INSERT_ADD, [
            (row.kind, row.bucket_seconds, row.bucket_start, list(row.labels), row.outcome, row.count, row.sum_ms,
             list(row.histogram)) for row in rows
        ])


def rollups_flush(*, now: float | None = None) -> int:
    """Moves every complete recorded minute from Redis into minute rollups; returns the rows written.
    Each minute hash is claimed atomically (okto88.recording), so two flushers never count it
    twice, and given back if the database write fails."""
    now = time.time() if now is None else now
    before_minute = int((now - settings.RECORDING_FLUSH_SECONDS - FLUSH_GRACE_SECONDS) // 60)
    with recorded_minutes_claim(before_minute=before_minute) as minutes:
        rows = [
            RollupRow(kind=series.kind, bucket_seconds=60, bucket_start=_minute_start(minute), labels=series.labels,
                      outcome=series.outcome, count=series.count, sum_ms=series.sum_ms,
                      histogram=tuple(series.histogram) if any(series.histogram) else ())  # counted kinds: none
            for minute, recorded in minutes for series in recorded
        ]
        rollups_add(rows=rows)
    return len(rows)


def system_gauges_sample(*, now: float | None = None) -> int:
    """Samples database connections in use and each Celery queue's depth into this minute's
    "system" rollups (count: samples, sum_ms: the sum of the values). A source that does not
    answer is skipped for this minute."""
    now = time.time() if now is None else now
    values: dict[tuple[str, ...], int] = {}
    try:
        values[("db_connections_in_use",)] = db_connections_in_use()
    except DatabaseError:
        logger.warning("database connections not sampled", exc_info=True)
    try:
        for queue, depth in celery_queue_depths().items():
            values[("celery_queue_depth", queue)] = depth
    except Exception:  # the broker away: this minute has no queue sample
        logger.warning("queue depth not sampled", exc_info=True)
    start = _minute_start(int(now // 60))
    rollups_add(rows=[
        RollupRow(kind="system", bucket_seconds=60, bucket_start=start, labels=labels, outcome="ok", count=1,
                  sum_ms=float(value), histogram=())
        for labels, value in values.items()
    ])
    return len(values)


# Two compactions side by side count nothing twice: a row the other one deleted first is skipped
# by this DELETE (READ COMMITTED re-checks it) and so is not in `moved`.
_COMPACT = f"""
WITH moved AS (
    DELETE FROM analytics_rollup WHERE id IN (
        SELECT id FROM analytics_rollup WHERE bucket_seconds = 60 AND bucket_start < %(cutoff)s
        ORDER BY bucket_start LIMIT %(batch)s)
    RETURNING kind, date_trunc('hour', bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS hour,
        labels, outcome, count, sum_ms, histogram
), totals AS (
    SELECT kind, hour, labels, outcome, sum(count)::bigint AS count, sum(sum_ms) AS sum_ms
    FROM moved GROUP BY kind, hour, labels, outcome
), slots AS (
    SELECT kind, hour, labels, outcome, array_agg(n ORDER BY i)::bigint[] AS histogram FROM (
        SELECT m.kind, m.hour, m.labels, m.outcome, h.i, sum(h.n) AS n
        FROM moved m, unnest(m.histogram) WITH ORDINALITY AS h(n, i)
        GROUP BY m.kind, m.hour, m.labels, m.outcome, h.i
    ) per_slot GROUP BY kind, hour, labels, outcome
), written AS (
    INSERT INTO analytics_rollup (kind, bucket_seconds, bucket_start, labels, outcome, count, sum_ms, histogram)
    SELECT t.kind, 3600, t.hour, t.labels, t.outcome, t.count, t.sum_ms, coalesce(s.histogram, '{{}}')
    FROM totals t LEFT JOIN slots s USING (kind, hour, labels, outcome)
    {_ON_CONFLICT_ADD}
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM written)
"""  # noqa: S608 - fixed fragments only; every value is a parameter


def rollups_compact(*, now: dt.datetime | None = None) -> int:
    """Folds minute rows older than ROLLUP_MINUTE_RETENTION_HOURS into hour rows, a bounded batch
    per transaction and a bounded number of batches per run; returns the minute rows folded."""
    now = now or dt.datetime.now(tz=dt.UTC)
    cutoff = now - dt.timedelta(hours=settings.ROLLUP_MINUTE_RETENTION_HOURS)
    # Whole hours only: an hour is folded once all of its minutes are past the cutoff.
    cutoff = cutoff.replace(minute=0, second=0, microsecond=0)
    folded = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_COMPACT, {"cutoff": cutoff, "batch": COMPACT_BATCH_ROWS})
            moved, _written = cursor.fetchone()
        folded += moved
        if moved < COMPACT_BATCH_ROWS:
            break
    return folded


def rollups_prune(*, now: dt.datetime | None = None) -> int:
    """Deletes hour rows older than ROLLUP_HOUR_RETENTION_DAYS in bounded batches; returns the count."""
    now = now or dt.datetime.now(tz=dt.UTC)
    cutoff = now - dt.timedelta(days=settings.ROLLUP_HOUR_RETENTION_DAYS)
    deleted = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM analytics_rollup WHERE id IN (SELECT id FROM analytics_rollup"
                " WHERE bucket_seconds = 3600 AND bucket_start < %s LIMIT %s)",
                [cutoff, PRUNE_BATCH_ROWS],
            )
            batch = cursor.rowcount
        deleted += batch
        if batch < PRUNE_BATCH_ROWS:
            break
    return deleted


def rollup_sums_forget() -> None:
    """Makes every cached sum of settled hours and days stale (analytics.selectors.rollups), for a
    writer of past minutes: the demo history records into hours a page may have summed already."""
    cache.add(SUMS_GENERATION_KEY, 0, timeout=None)
    cache.incr(SUMS_GENERATION_KEY)


def rollups_maintain() -> dict[str, int]:
    """The minute's work: flush, sample, compact, prune (what analytics.rollups_flush runs)."""
    return {
        "flushed": rollups_flush(),
        "sampled": system_gauges_sample(),
        "compacted": rollups_compact(),
        "pruned": rollups_prune(),
    }
