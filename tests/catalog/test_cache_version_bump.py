"""The catalog's cache versions (selectors.CATALOG_VERSION_KEY, BEST_OFFER_VERSION_KEY): a bump
moves the counter on now and again when the transaction commits, each time in one Redis round
trip; a missing counter starts from the clock; Redis down loses the bump, not the write."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import transaction

from catalog import selectors, services
from okto88.redis_connection import redis_client

pytestmark = pytest.mark.django_db(transaction=True)


class RoundTrips:
    """The round trips sent through the platform's Redis client, each as its commands (a pipeline
    is one round trip)."""

    def __init__(self, monkeypatch):
        self.trips: list[list[str]] = []
        client = redis_client()
        pipeline = client.pipeline

        def execute_command(*args, **options):
            self.trips.append([str(args[0]).upper()])
            return type(client).execute_command(client, *args, **options)

        def counting_pipeline(*args, **kwargs):
            pipe = pipeline(*args, **kwargs)
            execute = pipe.execute

            def counted_execute(*a, **k):
                self.trips.append([str(command[0][0]).upper() for command in pipe.command_stack])
                return execute(*a, **k)

            pipe.execute = counted_execute
            return pipe

        monkeypatch.setattr(client, "execute_command", execute_command)
        monkeypatch.setattr(client, "pipeline", counting_pipeline)


@pytest.mark.parametrize(("bump", "key"), [(services.catalog_cache_version_bump, selectors.CATALOG_VERSION_KEY),
                                           (services.best_offer_cache_version_bump, selectors.BEST_OFFER_VERSION_KEY)])
def test_a_bump_moves_the_version_on_now_and_after_commit_one_round_trip_each(bump, key, monkeypatch):
    before = selectors.cache_version(key)
    assert before is not None
    trips = RoundTrips(monkeypatch)
    with transaction.atomic():
        bump()
        inside = selectors.cache_version(key)
        assert inside == before + 1
        assert trips.trips == [["SET", "INCRBY"]]
    assert selectors.cache_version(key) == before + 2  # again when the transaction committed
    assert trips.trips == [["SET", "INCRBY"], ["SET", "INCRBY"]]


def test_a_rolled_back_bump_moves_the_version_on_once():
    before = selectors.catalog_cache_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.catalog_cache_version_bump()
        raise RuntimeError("rolled back")
    assert selectors.catalog_cache_version() == before + 1


def test_a_missing_counter_starts_from_the_clock():
    cache.delete(selectors.CATALOG_VERSION_KEY)
    started = time.time_ns()
    with transaction.atomic():
        services.catalog_cache_version_bump()
        first = selectors.catalog_cache_version()
    assert first > started  # never back to a small number that older entries may carry
    assert selectors.catalog_cache_version() == first + 1
    assert redis_client().ttl(cache.make_key(selectors.CATALOG_VERSION_KEY)) == -1  # kept until bumped


def test_redis_down_loses_the_bump_not_the_write(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(redis_client(), "pipeline", broken)
    with transaction.atomic():
        services.best_offer_cache_version_bump()
    assert "cache version bump of catalog:best-offer:version failed" in caplog.text
