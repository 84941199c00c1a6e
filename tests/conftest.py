"""Shared fixtures: real PostgreSQL and Redis (embedded or the machine's), a real Celery worker,
the fake partner servers (tests/fakes.py)."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache

from okto88.redis_connection import redis_client
from tests.celery_worker import CeleryWorkerProcess
from tests.fakes import fake_courier, fake_gateway  # noqa: F401 (the fake partner servers, for every folder)

FORBID_SKIPS = os.environ.get("OKTO88_FORBID_SKIPS") == "1"


def pytest_collection_modifyitems(config, items):
    # Browser tests last: the other tests never share the process with a live Playwright loop.
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def pytest_sessionfinish(session, exitstatus):
    # In CI a skipped test is a test that did not run: fail instead of passing quietly.
    if not FORBID_SKIPS:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"OKTO88_FORBID_SKIPS: {skipped} test(s) skipped; failing the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttle counters and cached pages must not leak from one test into another."""
    keys = [key for pattern in (f"{cache.key_prefix}:*", "throttle:*")
            for key in redis_client().scan_iter(match=pattern, count=1000)]
    if keys:
        redis_client().delete(*keys)
    yield


@pytest.fixture(scope="session")
def _celery_worker_process(django_db_setup, tmp_path_factory):
    worker = CeleryWorkerProcess(log_dir=tmp_path_factory.mktemp("celery"))
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(_celery_worker_process):
    """A real `celery worker` process on the test database, on a queue of this session's own.

    Tasks go to it only during the tests that ask for it; elsewhere they queue unconsumed,
    so a test that drives a service by hand never races the worker.
    """
    with _celery_worker_process.routed():
        yield _celery_worker_process


# Tasks a test enqueues without a worker must not land on the development worker's queue.
from okto88.celery import app as _celery_app  # noqa: E402

_celery_app.conf.task_default_queue = "okto88-test-unconsumed"
