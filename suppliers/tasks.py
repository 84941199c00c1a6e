"""Celery entry points for suppliers: thin wrappers around the services."""

from __future__ import annotations

import logging

from celery import shared_task

from suppliers import feeds
from suppliers.models import FeedImport

logger = logging.getLogger(__name__)


# A 1,000,000-row feed takes well under a minute; the limits leave room for a slow disk and
# stay below the broker's visibility_timeout (3600 s), so acks_late never redelivers a live run.
@shared_task(name="suppliers.feed_import_run", ignore_result=True, time_limit=1800, soft_time_limit=1700)
def feed_import_run_task(feed_import_id: int, **kwargs) -> None:
    feed_import = FeedImport.objects.filter(pk=feed_import_id).first()
    if feed_import is None:
        logger.warning("feed import not found", extra={"feed_import_id": feed_import_id})
        return
    # feed_import_run re-checks the status under a lock: a second delivery does nothing.
    feeds.feed_import_run(feed_import=feed_import)
