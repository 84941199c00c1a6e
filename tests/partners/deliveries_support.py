"""What the delivery tests share: the settings that shrink the retry schedule to fractions of a
second (for a worker's environment and for this process), and waiting. The fake receiver is the
session fixture `fake_receiver` (tests/fakes.py)."""

from __future__ import annotations

import time

from partners.services import deliveries

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


def webhook_settings_apply(settings) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 0.3, 0.5, 0.5, 1, 1, 1, 1, 1, 1]
    settings.WEBHOOK_RETRY_JITTER = 0.1
    settings.WEBHOOK_ENDPOINTS_CACHE_SECONDS = 0
    settings.WEBHOOK_CAP_DEFER_SECONDS = 0.2
    settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS = 5
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_REQUIRE_HTTPS = False
    deliveries._live_cache = None
    deliveries._resolved_cache.clear()


def wait_until(predicate, *, timeout: float = 30, worker=None, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    log = worker.log_text()[-4000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")
