"""okto88.recording: buffer → Redis → rollups, its bounds, its fork safety, and what Prometheus reads."""

from __future__ import annotations

import os
import time

import pytest

from analytics.models import Rollup
from analytics.services import rollups_flush
from okto88 import recording
from okto88.recording import record, recorded_minutes_claim, recording_flush
from okto88.redis_connection import redis_client

LATER = 600  # seconds: a "now" at which every minute recorded in a test is complete


def minute_series(kind: str) -> list[recording.RecordedSeries]:
    found = []
    for key in redis_client().scan_iter(match="okto88:rec:m:*"):
        found += [s for s in recording.recorded_hash_parse(redis_client().hgetall(key)) if s.kind == kind]
    return found


def totals(kind: str, **filters) -> tuple[int, float, list[int]]:
    rows = Rollup.objects.filter(kind=kind, **filters)
    histogram = [0] * recording.SLOT_COUNT
    for row in rows:
        histogram = [a + b for a, b in zip(histogram, row.histogram, strict=True)]
    return sum(r.count for r in rows), sum(r.sum_ms for r in rows), histogram


@pytest.mark.django_db
def test_recorded_events_reach_minute_rollups_with_their_histogram():
    record("partner", ("courier", "book"), 0.003)  # 3 ms: the (2, 5] bucket, slot 2
    record("partner", ("courier", "book"), 0.020)  # (10, 25], slot 4
    record("partner", ("courier", "book"), 0.020)
    record("partner", ("courier", "book"), 120.0, "timeout")  # past 60 s: +Inf, slot 15
    recording.count("demand", ("no_offer", "filters", "Aspira", "ab-123"), 2)
    recording_flush()

    assert rollups_flush(now=time.time() + LATER) >= 3

    count, sum_ms, histogram = totals("partner", outcome="ok", labels=["courier", "book"])
    assert (count, round(sum_ms, 6)) == (3, 43.0)
    assert histogram[2] == 1 and histogram[4] == 2 and sum(histogram) == 3
    timeout = Rollup.objects.get(kind="partner", outcome="timeout")
    assert timeout.histogram[15] == 1 and timeout.bucket_seconds == 60
    assert timeout.bucket_start.second == 0
    demand = Rollup.objects.get(kind="demand")
    assert (demand.count, demand.histogram, demand.labels) == (2, [], ["no_offer", "filters", "Aspira", "ab-123"])


@pytest.mark.django_db
def test_a_minute_recorded_long_ago_is_still_flushed(monkeypatch):
    # The demo history records under a shifted clock: its minutes are weeks old when the
    # beat's flusher, on the real clock, comes to them.
    weeks_ago = time.time() - 20 * 86400
    monkeypatch.setattr(recording.time, "time", lambda: weeks_ago)
    record("partner", ("courier", "book"), 0.003)
    recording_flush()
    monkeypatch.undo()

    assert rollups_flush() == 1
    row = Rollup.objects.get(kind="partner")
    assert abs(row.bucket_start.timestamp() - (weeks_ago // 60) * 60) < 1
    assert rollups_flush() == 0


@pytest.mark.django_db
def test_two_flushes_never_count_a_minute_twice():
    for _ in range(5):
        record("step_run", ("commit_stock",), 0.01, "succeeded")
    recording_flush()
    rollups_flush(now=time.time() + LATER)
    assert rollups_flush(now=time.time() + LATER) == 0
    assert totals("step_run")[0] == 5

    # A late write to a minute already moved adds to the same row, it does not replace it.
    record("step_run", ("commit_stock",), 0.01, "succeeded")
    recording_flush()
    rollups_flush(now=time.time() + LATER)
    assert totals("step_run")[0] == 6


@pytest.mark.django_db
def test_a_minute_is_claimed_by_one_flusher_only():
    record("step_wait", ("notify",), 0.5, "succeeded")
    recording_flush()
    before = int(time.time() // 60) + 10
    with recorded_minutes_claim(before_minute=before) as first, recorded_minutes_claim(before_minute=before) as second:
        assert sum(s.count for _, batch in first for s in batch) == 1
        assert second == []


@pytest.mark.django_db
def test_a_failed_database_write_gives_the_minute_back():
    record("step_wait", ("notify",), 0.5, "succeeded")
    recording_flush()
    before = int(time.time() // 60) + 10
    with pytest.raises(RuntimeError), recorded_minutes_claim(before_minute=before) as minutes:
        assert minutes
        raise RuntimeError("database away")
    assert [s.count for s in minute_series("step_wait")] == [1]
    rollups_flush(now=time.time() + LATER)
    assert totals("step_wait")[0] == 1


@pytest.mark.django_db
def test_the_current_minute_waits_until_it_is_complete():
    record("step_wait", ("notify",), 0.5, "succeeded")
    recording_flush()
    assert rollups_flush(now=time.time() - 120) == 0
    assert minute_series("step_wait")


def in_a_forked_child(body) -> None:
    """Runs body() in a forked child (a second process, as gunicorn or Celery prefork make) and
    fails unless it returned True."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            status = 0 if body() else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_label_sets_past_the_cap_are_counted_as_other(settings):
    settings.RECORDING_MAX_SERIES = 3
    for route in ("a/", "b/", "c/"):
        record("cap_probe", ("GET", route), 0.01)
    recording_flush()

    def second_process():  # its own buffer knows none of these: Redis keeps the cap across processes
        for route in ("d/", "e/", "e/"):
            record("cap_probe", ("GET", route), 0.01)
        return recording_flush() == 2

    in_a_forked_child(second_process)
    series = {s.labels: s.count for s in minute_series("cap_probe")}
    if len(list(redis_client().scan_iter(match="okto88:rec:m:*"))) == 1:  # not straddling two minutes
        assert series == {("GET", "a/"): 1, ("GET", "b/"): 1, ("GET", "c/"): 1, ("other", "other"): 3}
    assert sum(series.values()) == 6


def test_a_process_caps_its_own_buffer_too(settings):
    settings.RECORDING_MAX_SERIES = 2
    for route in ("a/", "b/", "c/", "d/"):
        record("cap_probe_buffer", ("GET", route), 0.01)
    assert recording_flush() <= 3  # a/, b/ and other (or, across a minute's end, a little more)
    series = {s.labels: s.count for s in minute_series("cap_probe_buffer")}
    assert sum(series.values()) == 4 and ("other", "other") in series


def test_the_buffer_is_bounded(settings, caplog):
    settings.RECORDING_MAX_BUFFER_ENTRIES = 2
    for route in ("a/", "b/", "c/", "d/"):
        record("request", ("GET", route), 0.01, "2xx")
    assert recording_flush() == 2
    assert "2 events dropped" in caplog.text


def test_recording_off_records_nothing(settings):
    settings.RECORDING_ENABLED = False
    record("request", ("GET", "a/"), 0.01, "2xx")
    recording.count("demand", ("x",))
    assert recording_flush() == 0


@pytest.mark.django_db
def test_a_forked_child_starts_with_an_empty_buffer_and_flushes_its_own():
    record("step_run", ("notify",), 0.01, "succeeded")  # buffered in the parent, not flushed

    def child():  # what it flushes is its own event only, and it runs a flusher of its own
        record("step_run", ("notify",), 0.01, "succeeded")
        return recording_flush() == 1 and recording._flusher is not None and recording._flusher.is_alive()

    # The parent's flusher thread must not flush its event meanwhile (it would on a slow machine):
    # it waits on the flush lock, which the child does not inherit (new locks after a fork).
    with recording._flush_lock:
        in_a_forked_child(child)
        assert sum(s.count for s in minute_series("step_run")) == 1
    recording_flush()
    assert sum(s.count for s in minute_series("step_run")) == 2


@pytest.mark.django_db
def test_requests_are_recorded_by_route_and_status_class(client):
    client.get("/api/v1/me/")
    client.get("/healthz")
    client.get("/metrics")
    recording_flush()
    routes = {(s.labels, s.outcome): s.count for s in minute_series("request")}
    assert routes == {(("GET", "api/v1/me/"), "4xx"): 1}


@pytest.mark.django_db
def test_metrics_show_recorded_histograms_and_system_gauges(client):
    record("step_run", ("commit_stock",), 0.004, "succeeded")  # 4 ms: le 0.005 and above
    record("step_run", ("commit_stock",), 0.2, "succeeded")  # 200 ms: le 0.25 and above
    record("step_wait", ("commit_stock",), 0.05, "succeeded")
    record("step_wait", ("commit_stock",), 0.05, "failed")  # same step: one series without status
    record("partner", ("courier", "book"), 2.0, "error")
    recording_flush()

    body = client.get("/metrics").content.decode()

    assert 'okto88_step_run_seconds_bucket{le="0.002",status="succeeded",step="commit_stock"} 0.0' in body
    assert 'okto88_step_run_seconds_bucket{le="0.005",status="succeeded",step="commit_stock"} 1.0' in body
    assert 'okto88_step_run_seconds_bucket{le="0.25",status="succeeded",step="commit_stock"} 2.0' in body
    assert 'okto88_step_run_seconds_bucket{le="+Inf",status="succeeded",step="commit_stock"} 2.0' in body
    assert 'okto88_step_run_seconds_count{status="succeeded",step="commit_stock"} 2.0' in body
    assert 'okto88_step_run_seconds_sum{status="succeeded",step="commit_stock"} 0.204' in body
    assert 'okto88_step_wait_seconds_count{step="commit_stock"} 2.0' in body
    assert 'okto88_partner_call_seconds_bucket{le="2.5",operation="book",outcome="error",partner="courier"} 1.0' in body
    assert "# TYPE okto88_celery_queue_depth gauge" in body
    assert 'okto88_celery_queue_depth{queue="okto88-test-unconsumed"}' in body
    assert "\nokto88_db_connections_in_use " in body


@pytest.mark.django_db
def test_a_scrape_survives_redis_being_away(client, tmp_path):
    from django.test import override_settings

    from okto88 import metrics
    from okto88.redis_connection import redis_client as client_factory

    nowhere = f"unix://{tmp_path}/nothing-listens-here.sock"
    try:
        with override_settings(REDIS_URL=nowhere, CELERY_BROKER_URL=nowhere):
            client_factory.cache_clear()
            metrics._broker_client.cache_clear()
            response = client.get("/metrics")
    finally:  # after the settings are back: no client to nowhere stays cached
        client_factory.cache_clear()
        metrics._broker_client.cache_clear()
    assert response.status_code == 200
    body = response.content.decode()
    assert "# TYPE okto88_step_run_seconds histogram" in body
    assert "okto88_celery_queue_depth{" not in body
    assert "\nokto88_db_connections_in_use " in body


@pytest.mark.django_db(transaction=True)
def test_flushers_side_by_side_count_each_event_once():
    import threading

    from django.db import connection

    for index in range(50):
        record("step_run", (f"step_{index % 5}",), 0.01, "succeeded")
    recording_flush()
    start = threading.Barrier(3)
    written = []

    def flusher():
        try:
            start.wait()
            written.append(rollups_flush(now=time.time() + LATER))
        finally:
            connection.close()

    threads = [threading.Thread(target=flusher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(written) == 3
    assert totals("step_run")[0] == 50


@pytest.mark.django_db
def test_events_wait_in_the_buffer_while_redis_is_away(tmp_path):
    from django.test import override_settings

    from okto88.redis_connection import redis_client as client_factory

    record("step_run", ("notify",), 0.01, "succeeded")
    try:
        with override_settings(REDIS_URL=f"unix://{tmp_path}/nothing-listens-here.sock"):
            client_factory.cache_clear()
            record("step_run", ("notify",), 0.01, "succeeded")  # the caller never sees the outage
            with pytest.raises(Exception, match="nothing-listens-here"):
                recording_flush()
    finally:
        client_factory.cache_clear()
    recording_flush()
    assert sum(s.count for s in minute_series("step_run")) == 2
