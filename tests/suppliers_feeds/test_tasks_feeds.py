"""The import task in a real Celery worker process."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from suppliers import feeds
from suppliers.models import FeedImport, FeedStatus, Offer, StockMovement
from tests.suppliers_feeds.conftest import HEADER, csv_upload


@pytest.fixture
def _shared_media_root(settings, _celery_worker_process):
    # The worker is another process started with the session's environment: it reads uploads
    # from the default MEDIA_ROOT, so this test writes there (and cleans up after itself).
    import os

    root = Path(os.environ.get("MEDIA_ROOT") or Path(django_settings.BASE_DIR) / ".local" / "media")
    settings.MEDIA_ROOT = str(root)
    yield root
    shutil.rmtree(root / "feeds" / "tests-feeds", ignore_errors=True)


@pytest.mark.django_db(transaction=True)
def test_the_task_runs_the_import_in_a_real_worker(world, celery_worker, _shared_media_root, monkeypatch):
    # Keep this test's files in a folder of its own under the worker's media root.
    monkeypatch.setattr(FeedImport._meta.get_field("file"), "upload_to", "feeds/tests-feeds/")
    monkeypatch.setattr(FeedImport._meta.get_field("errors_report"), "upload_to", "feeds/tests-feeds/")
    feed = feeds.feed_import_create(
        supplier=world.supplier, actor=world.member,
        file=csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\nBR-2,Toyota,nope,1,1,1,1\n"),
    )  # autocommit: the on-commit enqueue fires at once

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        feed.refresh_from_db()
        if feed.status in (FeedStatus.SUCCEEDED, FeedStatus.FAILED):
            break
        time.sleep(0.2)
    assert feed.status == FeedStatus.SUCCEEDED, (feed.error, celery_worker.log_text()[-3000:])
    assert (feed.rows_total, feed.rows_rejected, feed.offers_changed, feed.stock_changed) == (2, 1, 1, 1)
    assert Offer.objects.get().sku == "BR-1"
    assert StockMovement.objects.get().reference == f"feed:{feed.pk}"
    # A second delivery of the same task does nothing.
    from okto88.celery import app

    def runs() -> int:
        messages = [str(r.get("message", "")) for r in celery_worker.log_records()]
        return sum(1 for m in messages if "suppliers.feed_import_run" in m and "succeeded" in m)

    before = runs()
    app.send_task("suppliers.feed_import_run", kwargs={"feed_import_id": feed.pk})
    deadline = time.monotonic() + 30
    while runs() <= before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runs() > before, celery_worker.log_text()[-3000:]
    finished_at = feed.finished_at
    feed.refresh_from_db()
    assert feed.finished_at == finished_at and StockMovement.objects.count() == 1
