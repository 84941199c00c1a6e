from __future__ import annotations

import time

import pytest

from okto88.redis_connection import redis_client


@pytest.mark.django_db
def test_healthz_answers_without_touching_services(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_database_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_when_redis_is_unreachable(client, settings, tmp_path):
    settings.REDIS_URL = f"unix://{tmp_path}/nothing-listens-here.sock"
    redis_client.cache_clear()
    try:
        response = client.get("/readyz")
    finally:
        redis_client.cache_clear()
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "unavailable"}


@pytest.mark.django_db
def test_metrics_count_requests_by_route_template(client):
    client.get("/healthz")
    client.get("/api/v1/me/")
    body = client.get("/metrics").content.decode()
    assert 'okto88_http_requests_total{method="GET",route="healthz",status="200"}' in body
    assert 'okto88_http_requests_total{method="GET",route="api/v1/me/",status="401"}' in body
    assert "okto88_http_request_duration_seconds_bucket" in body


@pytest.mark.django_db
def test_metrics_show_task_outcomes_recorded_by_workers(client):
    redis_client().hset("okto88:metrics:tasks", mapping={"platform.test_probe|failure": 3})
    try:
        body = client.get("/metrics").content.decode()
    finally:
        redis_client().hdel("okto88:metrics:tasks", "platform.test_probe|failure")
    assert 'okto88_celery_tasks_total{outcome="failure",task="platform.test_probe"} 3.0' in body


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reports_its_task_outcomes(client, celery_worker):
    from okto88.tasks import outbox_relay_task

    before = float(redis_client().hget("okto88:metrics:tasks", "platform.outbox_relay|success") or 0)
    outbox_relay_task.delay()
    celery_worker.wait_for_log(
        lambda r: "platform.outbox_relay" in r.get("message", "") and "succeeded" in r["message"]
    )
    # The worker logs "succeeded" before its task_postrun signal counts the outcome: wait for it.
    deadline = time.monotonic() + 10
    while True:
        after = float(redis_client().hget("okto88:metrics:tasks", "platform.outbox_relay|success") or 0)
        if after >= before + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert after >= before + 1
    assert 'task="platform.outbox_relay"' in client.get("/metrics").content.decode()
