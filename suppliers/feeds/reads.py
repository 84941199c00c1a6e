"""How fast an import runs."""

from __future__ import annotations

from django.utils import timezone

from suppliers.models import FeedImport


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
