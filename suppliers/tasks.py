"""Celery entry points for suppliers: thin wrappers around the services."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from django.conf import settings

from suppliers import feeds
from suppliers.models import FeedImport

logger = logging.getLogger(__name__)


class FeedImportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # A hard time limit kills the pool process: nothing of the run can report it, so the
        # worker's main process (which calls this) marks the import failed.
        if isinstance(exc, TimeLimitExceeded):
            seconds = exc.args[0] if exc.args and isinstance(exc.args[0], int | float) else None
            feeds.feed_import_time_out(feed_import_id=(kwargs or {}).get("feed_import_id"),
                                       time_limit_seconds=seconds)


# A 1,000,000-row feed takes well under a minute; the limits (settings IMPORT_*) leave room for
# a slow disk and stay below the broker's visibility_timeout (3600 s), so acks_late never
# redelivers a live run. The soft limit ends the run with a clear error in its report
# (feeds.feed_import_run); the hard one, the last resort, kills the process (on_failure above
# reports it). The task runs on the imports queue (okto88.celery.route_task).
@shared_task(name="suppliers.feed_import_run", ignore_result=True, base=FeedImportTask,
             soft_time_limit=settings.IMPORT_SOFT_TIME_LIMIT_SECONDS, time_limit=settings.IMPORT_TIME_LIMIT_SECONDS)
def feed_import_run_task(feed_import_id: int, **kwargs) -> None:
    feed_import = FeedImport.objects.filter(pk=feed_import_id).first()
    if feed_import is None:
        logger.warning("feed import not found", extra={"feed_import_id": feed_import_id})
        return
    # feed_import_run re-checks the status under a lock: a second delivery does nothing.
    _hard, soft = feed_import_run_task.request.timelimit or (None, None)
    feeds.feed_import_run(feed_import=feed_import, time_limit_seconds=soft)
