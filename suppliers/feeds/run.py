"""Running one import to its end: claim it, stage, validate, merge, record the outcome."""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from okto88.errors import UploadRefused
from suppliers.errors import FeedFileError
from suppliers.feeds.merge import _merge
from suppliers.feeds.report import _save_report
from suppliers.feeds.session import _client_check, _connection_discard, _drop_temp_tables, _Phases, _temp_buffers
from suppliers.feeds.staging import _stage
from suppliers.feeds.validation import _validate
from suppliers.models import FeedImport, FeedStatus

logger = logging.getLogger(__package__)

# Serialises the merges of one supplier's feeds (key 2 is the supplier id).
FEED_MERGE_LOCK_NS = 0x0C7F
# Held by the worker running an import: a second delivery of the task finds it taken.
FEED_RUN_LOCK_NS = 0x0C7E


def feed_import_run(*, feed_import: FeedImport, time_limit_seconds: float | None = None) -> FeedImport:
    """Run one import to its end. A second delivery while it runs, or after it ended, does nothing.
    `time_limit_seconds` is the caller's soft time limit, named in the error when it strikes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [FEED_RUN_LOCK_NS, feed_import.pk])
        if not cursor.fetchone()[0]:
            return feed_import  # another worker is running it right now
    try:
        # Pending, or running with nobody holding the lock (a worker died mid-run: the merge
        # is one transaction, so nothing of it was committed and it can start over).
        claimed = FeedImport.objects.filter(
            pk=feed_import.pk, status__in=[FeedStatus.PENDING, FeedStatus.RUNNING]
        ).update(status=FeedStatus.RUNNING, started_at=timezone.now(), finished_at=None, rows_done=0,
                 error="")
        feed_import.refresh_from_db()
        if not claimed:
            return feed_import
        try:
            _run(feed_import)
        except (FeedFileError, UploadRefused) as exc:
            _fail(feed_import, exc.message)
        except SoftTimeLimitExceeded:
            # Raised wherever the task was, possibly inside a query: the session may be mid-statement.
            _connection_discard()
            _fail(feed_import, _time_out_message(time_limit_seconds or settings.IMPORT_SOFT_TIME_LIMIT_SECONDS))
        except Exception as exc:
            logger.exception("feed import failed", extra={"feed_import_id": feed_import.pk})
            _fail(feed_import, _("The import stopped on an unexpected error (%(error)s); nothing was "
                                 "changed. Try again, or contact okto88 support.")
                  % {"error": type(exc).__name__})
        feed_import.refresh_from_db()
        return feed_import
    finally:
        _drop_temp_tables()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [FEED_RUN_LOCK_NS, feed_import.pk])


def feed_import_time_out(*, feed_import_id: int | None, time_limit_seconds: float | None = None) -> None:
    """The run was killed at its hard time limit (its process is gone, and with it its session,
    so its merge was rolled back): a running import ends as failed instead of running forever."""
    if feed_import_id is None:
        return
    message = _time_out_message(time_limit_seconds or settings.IMPORT_TIME_LIMIT_SECONDS)
    FeedImport.objects.filter(pk=feed_import_id, status=FeedStatus.RUNNING).update(
        status=FeedStatus.FAILED, error=message, finished_at=timezone.now(), offers_changed=0, stock_changed=0)


def _time_out_message(seconds: float) -> str:
    return _("The import took longer than %(limit)s and was stopped; nothing was changed. Split the file "
             "into smaller files and upload them one by one.") % {"limit": _duration(seconds)}


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return _("%(n)d minutes") % {"n": round(seconds / 60)}
    return _("%(n)d seconds") % {"n": max(1, round(seconds))}


def _fail(feed_import: FeedImport, message: str) -> None:
    FeedImport.objects.filter(pk=feed_import.pk).update(
        status=FeedStatus.FAILED, error=message, finished_at=timezone.now(), offers_changed=0,
        stock_changed=0,
    )


def _run(feed_import: FeedImport) -> None:
    phases = _Phases()
    with connection.cursor() as cursor:
        # Hash joins, hash aggregates and sorts over a million rows stay in memory (per
        # operation; one import runs per worker process). RESET in feed_import_run's cleanup.
        cursor.execute("SET work_mem = '256MB'")
        _temp_buffers(cursor)
        _client_check(cursor)
    supplier_id = feed_import.supplier_id
    rows_total = _stage(feed_import)
    phases.mark("stage")
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [FEED_MERGE_LOCK_NS, supplier_id])
        phases.mark("merge lock")
        # Validation pairs the rows with the stored offers and stock: under the lock, so that
        # another import of the supplier cannot change them between that and the merge.
        _validate(cursor, supplier_id=supplier_id)
        phases.mark("validate")
        counts = _merge(cursor, feed_import=feed_import, phases=phases)
        cursor.execute("SELECT count(DISTINCT row_no) FROM feed_error")
        rejected = cursor.fetchone()[0]
        if rejected:
            _save_report(cursor, feed_import)
        feed_import.status, feed_import.error = _outcome(rows_total=rows_total, rejected=rejected)
        feed_import.rows_total = rows_total
        feed_import.rows_done = rows_total
        feed_import.rows_rejected = rejected
        feed_import.offers_changed = counts["offers"]
        feed_import.stock_changed = counts["stock"]
        feed_import.finished_at = timezone.now()
        feed_import.save(update_fields=["status", "error", "rows_total", "rows_done", "rows_rejected", "offers_changed",
                                        "stock_changed", "finished_at", "errors_report"])
        phases.mark("report and status")
    phases.mark("commit")  # the deferred foreign-key checks run here
    logger.info(
        "feed import",
        extra={"feed_import_id": feed_import.pk, "supplier_id": supplier_id, "rows": rows_total,
               "rows_rejected": rejected, "offers_changed": counts["offers"], "stock_changed": counts["stock"],
               "events": counts["events"], "phases": phases.seconds},
    )


def _outcome(*, rows_total: int, rejected: int) -> tuple[str, str]:
    """Succeeded only when every row was applied; a feed whose rows were all rejected failed,
    even though the file itself could be read."""
    if not rejected:
        return FeedStatus.SUCCEEDED, ""
    if rejected >= rows_total:
        return FeedStatus.FAILED, _("None of the %(rows)d rows could be applied, so nothing was changed. The "
                                    "error report lists the problem of every row.") % {"rows": rows_total}
    return FeedStatus.PARTIAL, ""
