"""The imports an actor may see, and how fast one runs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from suppliers.errors import FeedImportNotFound
from suppliers.models import FeedImport
from suppliers.selectors import supplier_for_actor


def feed_import_list(*, actor: Any) -> QuerySet[FeedImport]:
    """Imports the actor may see: its supplier's, or all for operators."""
    supplier = supplier_for_actor(actor=actor)
    qs = FeedImport.objects.select_related("supplier").order_by("-created_at", "-pk")
    return qs if supplier is None else qs.filter(supplier=supplier)


def feed_import_get(*, actor: Any, feed_import_id: int) -> FeedImport:
    """One import the actor may see; another supplier's looks exactly like a missing one."""
    feed_import = feed_import_list(actor=actor).filter(pk=feed_import_id).first()
    if feed_import is None:
        raise FeedImportNotFound()
    return feed_import


def feed_import_rate(*, feed_import: FeedImport) -> float | None:
    """Rows per second: so far while running, overall once finished."""
    if feed_import.started_at is None:
        return None
    end = feed_import.finished_at or timezone.now()
    seconds = (end - feed_import.started_at).total_seconds()
    done = feed_import.rows_total if feed_import.finished_at else feed_import.rows_done
    if seconds <= 0 or not done:
        return None
    return round(done / seconds, 1)
