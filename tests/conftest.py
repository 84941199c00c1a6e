"""Shared fixtures: real PostgreSQL and Redis (embedded or the machine's), a real Celery worker,
the fake partner servers (tests/fakes.py)."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache

from okto88.client_guard import GUARD_KEY, guard_snapshot_replace
from okto88.redis_connection import redis_client
from tests.celery_worker import CeleryWorkerProcess
from tests.fakes import courier_for_pages, fake_courier, fake_gateway, fake_receiver  # noqa: F401 (the fake partner servers, for every folder)

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


_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}


def _uses_db(item) -> bool:
    return item.get_closest_marker("django_db") is not None or bool(_DB_FIXTURES & set(item.fixturenames))


def _outbox_readable() -> bool:
    from django.db import connection

    # A test that left its transaction broken: nothing more can be read in it.
    return not (connection.in_atomic_block and connection.needs_rollback)


def _outbox_last_id() -> int | None:
    from django.db import DatabaseError

    from okto88.models import OutboxEvent

    if not _outbox_readable():
        return None
    try:
        return OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    except DatabaseError:
        return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Every event a test writes matches its topic's contract (okto88.events): the topic is
    registered, the row records the topic's version and the payload validates against its
    JSON Schema. Checked after the test body, before its fixtures are torn down, on the rows
    written since it started."""
    start = _outbox_last_id() if _uses_db(item) and item.get_closest_marker("e2e") is None else None
    result = yield
    if start is not None:
        _outbox_events_check(since=start)
    return result


def _outbox_events_check(*, since: int) -> None:
    from django.db import DatabaseError

    from okto88.events import event_payload_errors
    from okto88.models import OutboxEvent

    # One query after the test: the rows it wrote (none read if its transaction is broken).
    if not _outbox_readable():
        return
    try:
        written = list(OutboxEvent.objects.filter(pk__gt=since).order_by("id")
                       .values_list("id", "topic", "schema_version", "payload"))
    except DatabaseError:
        return
    problems = []
    for pk, topic, schema_version, payload in written:
        errors = event_payload_errors(topic=topic, payload=payload, version=schema_version)
        if errors:
            problems.append(f"event #{pk} {topic} v{schema_version}: {'; '.join(errors[:3])}")
    if problems:
        pytest.fail("events that break their topic's contract (docs/events.md):\n" + "\n".join(problems[:10]),
                    pytrace=False)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    """Throttle counters, login lockouts, cached pages, partner breakers and security enforcement (the client
    guard, and this process's snapshot of it) must not leak from one test into another."""
    keys = [key for pattern in (f"{cache.key_prefix}:*", "throttle:*", "okto88:breaker*", "lockout:*", GUARD_KEY)
            for key in redis_client().scan_iter(match=pattern, count=1000)]
    if keys:
        redis_client().delete(*keys)
    guard_snapshot_replace({})
    yield
    if redis_client().exists(GUARD_KEY):
        redis_client().delete(GUARD_KEY)
        guard_snapshot_replace({})


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
