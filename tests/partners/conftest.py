"""The fake partner receiver (partners/fake_receiver.py) over real HTTP for the webhook tests,
and a Celery worker whose retry schedule is shrunk to seconds."""

from __future__ import annotations

import time

import pytest

from partners.fake_receiver import start_fake_receiver
from partners.services import deliveries
from tests.celery_worker import CeleryWorkerProcess

# The worker's settings (environment), and the same in this process for tests that call the
# services directly: the Standard Webhooks schedule in fractions of a second.
WEBHOOK_WORKER_ENV = {
    "WEBHOOK_RETRY_SCHEDULE_SECONDS": "0,0.3,0.5,0.5,1,1,1,1,1,1",
    "WEBHOOK_RETRY_JITTER": "0.1",
    "WEBHOOK_ENDPOINTS_CACHE_SECONDS": "0",
    "WEBHOOK_ENDPOINT_CONCURRENCY": "2",
    "WEBHOOK_CAP_DEFER_SECONDS": "0.2",
    "WEBHOOK_TOTAL_TIMEOUT_SECONDS": "5",
    "PARTNER_BREAKER_COOL_DOWN_SECONDS": "0.5",
}


@pytest.fixture(scope="session")
def fake_receiver():
    server = start_fake_receiver(port=0)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 0.3, 0.5, 0.5, 1, 1, 1, 1, 1, 1]
    settings.WEBHOOK_RETRY_JITTER = 0.1
    settings.WEBHOOK_ENDPOINTS_CACHE_SECONDS = 0
    settings.WEBHOOK_CAP_DEFER_SECONDS = 0.2
    settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS = 5
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_REQUIRE_HTTPS = False
    deliveries._live_cache = None


@pytest.fixture(scope="session")
def webhook_worker_process(django_db_setup, tmp_path_factory):
    # Four processes: a slow endpoint holds at most two (its cap), the others stay free.
    worker = CeleryWorkerProcess(log_dir=tmp_path_factory.mktemp("webhook-worker"), concurrency=4,
                                 extra_env=WEBHOOK_WORKER_ENV)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def webhook_worker(webhook_worker_process, fake_receiver):
    with webhook_worker_process.routed():
        yield webhook_worker_process


def wait_until(predicate, *, timeout: float = 30, worker=None, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    log = worker.log_text()[-4000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")
