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
        if feed.status in (FeedStatus.SUCCEEDED, FeedStatus.PARTIAL, FeedStatus.FAILED):
            break
        time.sleep(0.2)
    assert feed.status == FeedStatus.PARTIAL, (feed.error, celery_worker.log_text()[-3000:])
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


def _queued(queue: str) -> int:
    from okto88.celery import app

    with app.connection_for_read() as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def _wait_status(feed, statuses, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        feed.refresh_from_db()
        if feed.status in statuses:
            return feed
        time.sleep(0.2)
    return feed


@pytest.mark.django_db(transaction=True)
def test_imports_queue_apart_and_never_hold_the_main_worker(world, _shared_media_root, monkeypatch, tmp_path):
    """The main worker never takes an import: tasks of the order workflow run while an import
    waits on its own queue, which only the imports worker consumes."""
    from okto88.celery import app, imports_queue
    from okto88.models import OutboxEvent
    from tests.celery_worker import CeleryWorkerProcess

    monkeypatch.setattr(FeedImport._meta.get_field("file"), "upload_to", "feeds/tests-feeds/")
    (tmp_path / "main").mkdir()
    (tmp_path / "imports").mkdir()
    main = CeleryWorkerProcess(log_dir=tmp_path / "main", concurrency=1, queues=("main",))
    main.start()
    imports = None
    try:
        with main.routed():
            feed = feeds.feed_import_create(
                supplier=world.supplier, file=csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\n"))
            assert _queued(imports_queue(main.queue)) == 1
            # An order-side task behind it is served at once by the main worker.
            app.send_task("platform.outbox_relay")
            main.wait_for_log(lambda r: "platform.outbox_relay" in str(r.get("message", ""))
                              and "succeeded" in str(r.get("message", "")))
            feed.refresh_from_db()
            assert feed.status == FeedStatus.PENDING and _queued(imports_queue(main.queue)) == 1
            assert "suppliers.feed_import_run[" not in main.log_text()  # never received

            imports = CeleryWorkerProcess(log_dir=tmp_path / "imports", concurrency=1, queues=("imports",),
                                          queue=main.queue)
            imports.start()
            feed = _wait_status(feed, (FeedStatus.SUCCEEDED, FeedStatus.FAILED))
            assert feed.status == FeedStatus.SUCCEEDED, (feed.error, imports.log_text()[-3000:])
            assert "suppliers.feed_import_run[" in imports.log_text()
            assert OutboxEvent.objects.filter(topic="offer.price_changed_batch").exists()
    finally:
        main.stop()
        if imports is not None:
            imports.stop()


@pytest.mark.django_db(transaction=True)
def test_an_import_past_its_soft_time_limit_fails_with_a_clear_error(world, celery_worker, _shared_media_root,
                                                                    monkeypatch):
    import psycopg
    from django.db import connection

    from okto88.celery import app
    from tests.celery_worker import database_url

    monkeypatch.setattr(FeedImport._meta.get_field("file"), "upload_to", "feeds/tests-feeds/")
    with celery_worker.paused():  # created without starting: the task is sent below, with a short limit
        feed = feeds.feed_import_create(
            supplier=world.supplier, file=csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\n"))
    # Another session holds the supplier's merge lock: the import waits inside a statement.
    with psycopg.connect(database_url(connection.settings_dict), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", [feeds.FEED_MERGE_LOCK_NS, world.supplier.pk])
        started = time.monotonic()
        app.send_task("suppliers.feed_import_run", kwargs={"feed_import_id": feed.pk}, soft_time_limit=2,
                      time_limit=30)
        feed = _wait_status(feed, (FeedStatus.SUCCEEDED, FeedStatus.FAILED, FeedStatus.PARTIAL), timeout=25)
        assert feed.status == FeedStatus.FAILED, celery_worker.log_text()[-3000:]
        assert time.monotonic() - started < 20
        # The worker writes in the default language, Indonesian.
        assert "lebih dari 2 detik dan dihentikan; tidak ada yang diubah" in feed.error
        # The stopped statement was ended on the server too: nobody else waits on the lock.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            waiting = holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                                     ).fetchone()[0]
            if not waiting:
                break
            time.sleep(0.2)
        assert not waiting
    assert not Offer.objects.exists()


def test_an_import_killed_at_its_hard_time_limit_does_not_stay_running(world):
    # The worker's main process calls on_failure when it kills a pool process at the hard limit
    # (celery.worker.request.Request.on_timeout); the killed run itself can report nothing. (A
    # real worker arms the hard timer only after the soft one, so it cannot be driven from here
    # without a run that survives its soft limit.)
    from celery.exceptions import TimeLimitExceeded

    from suppliers.tasks import feed_import_run_task

    feed = feeds.feed_import_create(supplier=world.supplier, file=csv_upload(f"{HEADER}\n"))
    FeedImport.objects.filter(pk=feed.pk).update(status=FeedStatus.RUNNING)
    done = FeedImport.objects.create(supplier=world.supplier, original_name="done.csv", status=FeedStatus.SUCCEEDED)

    for feed_import_id in (feed.pk, done.pk, None):
        feed_import_run_task.on_failure(TimeLimitExceeded(960), "task-id", (), {"feed_import_id": feed_import_id},
                                        None)

    feed.refresh_from_db()
    done.refresh_from_db()
    assert feed.status == FeedStatus.FAILED and "took longer than 16 minutes" in feed.error
    assert feed.finished_at is not None
    assert done.status == FeedStatus.SUCCEEDED and not done.error  # a finished import is left alone
