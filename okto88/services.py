"""Platform services: API keys and the transactional outbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import pickle
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from okto88.audit import AuditAction, api_client_organisation, audit_record
from okto88.celery import app, task_send
from okto88.errors import ApiKeyNotRotatable, InvalidApiKey, InvalidField, RevokedApiKey, UnknownScope
from okto88.events import event_topic
from okto88.lock_objects import api_key_lock
from okto88.models import ApiClient, ApiKey, OutboxEvent, Scope
from okto88.redis_connection import redis_client
from okto88.request_context import current_client_address
from okto88.request_id import request_id_var
from okto88.write_batches import rows_collected, rows_insert

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "okto"


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    raw_key: str  # shown once to the operator, never stored


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _api_key_audit(*, action: str, api_key: ApiKey, actor: Any, changes: dict) -> None:
    supplier_id, workshop_id = api_client_organisation(api_client=api_key.client)
    audit_record(action=action, actor=actor, target=api_key, supplier_id=supplier_id, workshop_id=workshop_id,
                 changes={"client": api_key.client.name, "name": api_key.name, "prefix": api_key.prefix, **changes})


def _api_key_create(*, client: ApiClient, name: str, scopes: list[str], expires_at: datetime | None) -> IssuedApiKey:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise UnknownScope(f"Unknown scopes: {', '.join(unknown)}", extra={"scopes": unknown})
    prefix = secrets.token_hex(4)
    raw_key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        client=client,
        name=name,
        prefix=prefix,
        digest=_digest(raw_key),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    return IssuedApiKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def api_key_issue(
    *, client: ApiClient, name: str, scopes: list[str], expires_at: datetime | None = None, actor: Any = None
) -> IssuedApiKey:
    issued = _api_key_create(client=client, name=name, scopes=scopes, expires_at=expires_at)
    _api_key_audit(action=AuditAction.API_KEY_ISSUED, api_key=issued.api_key, actor=actor,
                   changes={"scopes": issued.api_key.scopes, "expires_at": expires_at})
    return issued


# How long a rotated key keeps working next to its successor, at most (30 days).
API_KEY_ROTATION_OVERLAP_MAX_HOURS = 720


@dataclass(frozen=True)
class RotatedApiKey:
    issued: IssuedApiKey  # the successor, with its raw key (shown once)
    previous: ApiKey  # the rotated key, now expiring at previous.expires_at


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, overlap_hours: int, actor: Any = None) -> RotatedApiKey:
    """A successor with the same client, name, scopes and expiry; the old key keeps working for
    `overlap_hours` (0 to API_KEY_ROTATION_OVERLAP_MAX_HOURS) so the partner can switch without
    a gap, then expires. An earlier expiry of the old key is never pushed back. A revoked or
    expired key cannot be rotated: issue a new one."""
    if isinstance(overlap_hours, bool) or not isinstance(overlap_hours, int) or not (
            0 <= overlap_hours <= API_KEY_ROTATION_OVERLAP_MAX_HOURS):
        raise InvalidField(f"The overlap is a whole number of hours from 0 to {API_KEY_ROTATION_OVERLAP_MAX_HOURS}.",
                           extra={"field": "overlap_hours"})
    locked = api_key_lock(api_key_id=api_key.pk)
    now = timezone.now()
    if locked.revoked_at is not None or (locked.expires_at is not None and locked.expires_at <= now):
        raise ApiKeyNotRotatable(extra={"api_key": locked.prefix})
    issued = _api_key_create(client=locked.client, name=locked.name, scopes=list(locked.scopes),
                             expires_at=locked.expires_at)
    previous_expiry = locked.expires_at
    ends = now + timedelta(hours=overlap_hours)
    if locked.expires_at is None or locked.expires_at > ends:
        locked.expires_at = ends
        locked.save(update_fields=["expires_at"])
    _api_key_audit(action=AuditAction.API_KEY_ROTATED, api_key=locked, actor=actor,
                   changes={"successor": issued.api_key.prefix, "overlap_hours": overlap_hours,
                            "expires_at": {"before": previous_expiry, "after": locked.expires_at}})
    # The cached entry of the old key holds its old expiry: forget it.
    digest = locked.digest
    _api_key_cache_forget(digest)
    transaction.on_commit(lambda: _api_key_cache_forget(digest))
    api_key.expires_at = locked.expires_at
    return RotatedApiKey(issued=issued, previous=locked)


def api_client_ensure(*, name: str) -> ApiClient:
    """The partner API client called `name`, created (active, platform rate limit) if new: a
    setup script can run twice without making a second client."""
    name = (name or "").strip()
    if not name or len(name) > ApiClient._meta.get_field("name").max_length:
        raise InvalidField("An API client needs a name of at most 120 characters.", extra={"field": "client"})
    client, _created = ApiClient.objects.get_or_create(name=name)
    return client


# A verified key (with its client) is kept in the cache for a few seconds, keyed by the
# digest of the raw key, so a busy partner costs one Redis GET per request instead of a
# database query. api_key_revoke deletes the entry after its commit: a revoked key is
# refused on the next request. Changes made elsewhere — a client deactivated or its rate
# limit changed in admin — take effect within API_KEY_CACHE_SECONDS (default 10 s).
# Expiry is checked on every request against the cached expires_at. Only keys that
# verified are cached; a wrong key always goes to the database.
DEFAULT_API_KEY_CACHE_SECONDS = 10
LAST_USED_RESOLUTION_SECONDS = 60


def _api_key_cache_key(digest: str) -> str:
    # Under the cache's key prefix, through the process's shared client (Django's Redis
    # cache builds a client object per call, which costs more than the GET itself).
    return cache.make_key(f"apikey:{digest}")


def _api_key_cache_seconds() -> int:
    return int(getattr(settings, "API_KEY_CACHE_SECONDS", DEFAULT_API_KEY_CACHE_SECONDS))


def _api_key_cache_forget(digest: str) -> None:
    try:
        redis_client().delete(_api_key_cache_key(digest))
    except Exception:  # the entry then lives out its few seconds
        logger.warning("API key cache unavailable", exc_info=True)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Any = None) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        _api_key_audit(action=AuditAction.API_KEY_REVOKED, api_key=api_key, actor=actor,
                       changes={"revoked_at": api_key.revoked_at})
    # Forgotten now and again after the commit: in between, a concurrent request could
    # still cache the key from the row as it was before the commit.
    digest = api_key.digest
    _api_key_cache_forget(digest)
    transaction.on_commit(lambda: _api_key_cache_forget(digest))
    return api_key


def _api_key_cached(digest: str, counter: RateCounter | None) -> tuple[ApiKey | None, int | None]:
    """The cached key (or None) and, when asked, the counter's new value: one round trip."""
    use_cache = _api_key_cache_seconds() > 0
    if not use_cache and counter is None:
        return None, None
    try:
        pipe = redis_client().pipeline(transaction=False)
        if use_cache:
            pipe.get(_api_key_cache_key(digest))
        if counter is not None:
            pipe.incr(counter.key)
            pipe.expire(counter.key, counter.ttl)
        replies = pipe.execute()
    except Exception:
        logger.warning("API key cache unavailable", exc_info=True)
        return None, None
    stored = replies[0] if use_cache else None
    count = int(replies[-2]) if counter is not None else None
    return (pickle.loads(stored) if stored is not None else None), count  # noqa: S301 - our own entry


def _api_key_remember(api_key: ApiKey) -> None:
    seconds = _api_key_cache_seconds()
    if seconds <= 0:
        return
    try:
        redis_client().set(_api_key_cache_key(api_key.digest), pickle.dumps(api_key, pickle.HIGHEST_PROTOCOL),
                           ex=seconds)
    except Exception:
        logger.warning("API key cache unavailable", exc_info=True)


@dataclass(frozen=True)
class RateCounter:
    """A Redis counter to move on in the same round trip as the key's cache lookup (the
    API's per-client rate counter, okto88.api.throttling), with the TTL it must keep."""

    key: str
    ttl: int


@dataclass(frozen=True)
class Authenticated:
    api_key: ApiKey
    counted: int | None  # the RateCounter's new value; None when it was not counted


def api_key_digest(raw_key: str) -> str:
    """What identifies a raw key without holding it (the digest its row stores)."""
    return _digest(raw_key)


def api_key_authenticate(*, raw_key: str, counter: RateCounter | None = None,
                         address: str | None = None) -> Authenticated:
    """The live key for `raw_key`, or raise InvalidApiKey / RevokedApiKey. A `counter` is
    incremented whatever the outcome (an attempt counts), in the cache lookup's round trip.
    `address` (default: the address of the request being served) is recorded as the key's
    last_used_ip, with last_used_at."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        raise InvalidApiKey()
    digest = _digest(raw_key)
    # The cache key is the digest of the whole raw key, stored only after it verified: a
    # hit is a key that matched its row's digest a few seconds ago.
    api_key, counted = _api_key_cached(digest, counter)
    cached = api_key is not None
    if api_key is None:
        api_key = ApiKey.objects.select_related("client").filter(prefix=parts[1]).first()
        # Compare digests even when no row matched so both paths cost the same.
        expected = api_key.digest if api_key else _digest(secrets.token_hex(16))
        if not hmac.compare_digest(expected, digest) or api_key is None:
            raise InvalidApiKey()
    now = timezone.now()
    if api_key.revoked_at or not api_key.client.is_active or (api_key.expires_at and api_key.expires_at <= now):
        raise RevokedApiKey()
    # Touch at most once a minute: a hot key must not write a row on every request.
    touch = api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    if touch:
        address = address or current_client_address()
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now, last_used_ip=address)
        api_key.last_used_at, api_key.last_used_ip = now, address
    if touch or not cached:
        _api_key_remember(api_key)
    return Authenticated(api_key=api_key, counted=counted)


# --- Transactional outbox ---------------------------------------------------------------

# Any constant shared by all relays: pg_try_advisory_xact_lock lets one relay run at a time,
# which is what keeps publication in id order.
OUTBOX_RELAY_LOCK_ID = 0x0C7088


@dataclass(frozen=True)
class NewOutboxEvent:
    topic: str
    aggregate_type: str
    aggregate_id: str | int
    payload: dict
    version: int = 1


def outbox_event_write(
    *, topic: str, aggregate_type: str, aggregate_id: str | int, payload: dict, version: int = 1
) -> OutboxEvent:
    """Record an event in the caller's transaction; it is published only if that commits."""
    (event,) = outbox_events_write(events=[NewOutboxEvent(topic=topic, aggregate_type=aggregate_type,
                                                          aggregate_id=aggregate_id, payload=payload,
                                                          version=version)])
    return event


def outbox_events_write(*, events: Sequence[NewOutboxEvent]) -> list[OutboxEvent]:
    """Record events in the caller's transaction with one INSERT, in the given order; they are
    published only if it commits (one relay per transaction). The one way into the outbox,
    for single changes and bulk paths alike. Each topic must be in the event contract
    (okto88.events), whose version of the topic each row records; the payload comes from the
    topic's builder."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox events must be written inside the transaction of the change")
    if not events:
        return []
    request_id = request_id_var.get() or ""
    rows = [OutboxEvent(topic=e.topic, aggregate_type=e.aggregate_type, aggregate_id=str(e.aggregate_id),
                        version=e.version, schema_version=event_topic(e.topic).version, payload=e.payload,
                        request_id=request_id)
            for e in events]
    batch = _outbox_batch.get()
    if batch is not None:  # outbox_events_batched: written with the batch's other events at its end
        batch.extend(rows)
        return rows
    return _outbox_rows_write(rows)


# The rows of the innermost outbox_events_batched block, None outside one.
_outbox_batch: ContextVar[list[OutboxEvent] | None] = ContextVar("outbox_batch", default=None)


@contextmanager
def outbox_events_batched() -> Iterator[None]:
    """Inside the block every outbox_events_write (of this service and of the services it calls)
    only collects its rows; when the block ends without an error they are written with one
    INSERT, in the order they were written, still in the caller's transaction. For a service
    that writes one change through several others (order_place: stock, payment, order events),
    so that its events cost one statement, not one per service. The rows returned inside the
    block get their ids when it ends. A nested block adds to the outer one."""
    with rows_collected(_outbox_batch, _outbox_rows_write):
        yield


def _outbox_rows_write(rows: list[OutboxEvent]) -> list[OutboxEvent]:
    if not connection.in_atomic_block:
        raise RuntimeError("outbox events must be written inside the transaction of the change")
    texts = [json.dumps(row.payload) for row in rows] if len(rows) > 1 else None
    if texts is not None and sum(map(len, texts)) >= OUTBOX_BINARY_INSERT_BYTES:
        written = _outbox_rows_insert_binary(rows, texts)
    else:
        written = rows_insert(rows)
    _relay_schedule_on_commit()
    return written


# A bulk path's events carry large payloads (a feed import's batch holds a thousand items).
# bulk_create sends them as text arrays that psycopg quotes on the client, character by
# character: for a feed's events that took three times as long as building them in SQL had.
# Above this many bytes of JSON the rows go as binary parameters, which need no quoting.
OUTBOX_BINARY_INSERT_BYTES = 256 * 1024

_OUTBOX_INSERT_SQL = """
INSERT INTO platform_outboxevent
    (topic, aggregate_type, aggregate_id, version, schema_version, payload, request_id, created_at,
     published_at, publish_attempts)
SELECT e.topic, e.aggregate_type, e.aggregate_id, e.version, e.schema_version, e.payload::jsonb, %b, now(), NULL, 0
FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[], %b::bigint[], %b::text[])
     WITH ORDINALITY AS e(topic, aggregate_type, aggregate_id, version, schema_version, payload, n)
ORDER BY e.n
RETURNING id, created_at
"""


def _outbox_rows_insert_binary(rows: list[OutboxEvent], texts: list[str]) -> list[OutboxEvent]:
    """One INSERT of `rows` (payloads already serialised as `texts`) with server-side binding,
    through Django's cursor wrapper (so query logging and execute wrappers still see it)."""
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)  # not the ClientCursor Django binds with
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        cursor.execute(_OUTBOX_INSERT_SQL, [
            rows[0].request_id, [r.topic for r in rows], [r.aggregate_type for r in rows],
            [r.aggregate_id for r in rows], [r.version for r in rows], [r.schema_version for r in rows], texts])
        # Ids come from the sequence in insertion order, which is the given order.
        returned = sorted(cursor.fetchall())
    for row, (pk, created_at) in zip(rows, returned, strict=True):
        row.pk, row.created_at = pk, created_at
        row._state.adding, row._state.db = False, connection.alias
    return rows


# Coalescing: a commit enqueues a relay only if none is queued yet (SET NX on this key); the
# relay clears the key before it reads, so an event committed after that read finds the key
# clear and enqueues the next relay. Without it every committing transaction queued a relay
# of its own: under load most of them found nothing left to publish, and they took a third
# of the workers' time (bench/order_bench.py). The key expires, so a relay task that is lost
# holds back at most RELAY_QUEUED_SECONDS (and the beat schedule relays anyway).
RELAY_QUEUED_SECONDS = 10


def _relay_queued_key() -> str:
    return cache.make_key("outbox:relay-queued")


OUTBOX_RELAY_TASK = "platform.outbox_relay"  # okto88.tasks.outbox_relay_task


def _relay_enqueue(countdown: float | None = None) -> None:
    try:
        if not redis_client().set(_relay_queued_key(), "1", nx=True, ex=RELAY_QUEUED_SECONDS):
            return  # a relay is queued and has not read yet: it will publish this event too
    except Exception:  # Redis down: enqueue (which will fail too, and the beat relays later)
        logger.warning("outbox relay flag unavailable", exc_info=True)
    try:
        task_send(OUTBOX_RELAY_TASK, countdown=countdown)
    except Exception:  # the beat schedule relays it a few seconds later anyway
        logger.warning("could not enqueue the outbox relay", exc_info=True)


def _relay_schedule_on_commit() -> None:
    # One relay per transaction however many events it wrote.
    if any(func is _relay_enqueue for _, func, _ in connection.run_on_commit):
        return
    transaction.on_commit(_relay_enqueue)


def _event_message(event: OutboxEvent) -> dict[str, str]:
    return {
        "id": str(event.pk),
        "topic": event.topic,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "version": str(event.version),
        "schema_version": str(event.schema_version or ""),
        "payload": json.dumps(event.payload, separators=(",", ":"), sort_keys=True),
        "created_at": event.created_at.isoformat(),
        "request_id": event.request_id,
    }


def _events_dispatch(events: list[OutboxEvent]) -> tuple[list[int], Exception | None]:
    """Publish a batch to the Redis stream (one pipelined round trip, in id order), then hand
    each event to the consumers of its topic. Returns the ids done, in order, and the error
    that stopped the batch. A failed pipeline counts as nothing published: every event of the
    batch goes again (at least once; consumers deduplicate by event id)."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        for event in events:
            pipe.xadd(settings.OUTBOX_STREAM, _event_message(event), maxlen=1_000_000, approximate=True)
        pipe.execute()
    except Exception as exc:
        return [], exc
    done: list[int] = []
    for event in events:
        try:
            for task_name in outbox_consumers_for(topic=event.topic):
                app.send_task(task_name, kwargs={"event_id": event.pk, "topic": event.topic,
                                                 "payload": event.payload})
        except Exception as exc:
            return done, exc
        done.append(event.pk)
    if done:
        # Consumers of every event, a batch at a time (the partners' webhook fan-out): sent
        # before the batch is stamped, so a failure here sends the whole batch again.
        try:
            for task_name in getattr(settings, "OUTBOX_BATCH_CONSUMERS", []):
                app.send_task(task_name, kwargs={"event_ids": done})
        except Exception as exc:
            return [], exc
    return done, None


OUTBOX_POSITION_SEQUENCE = "platform_outbox_position"


def _outbox_events_stamp(ids: list[int]) -> None:
    """Mark published, giving each event its position in id order (the relay holds its lock,
    so positions grow in the order readers can see them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE platform_outboxevent AS o SET published_at = now(), position = p.position
                FROM (SELECT id, nextval(%s) AS position
                      FROM (SELECT unnest(%s::bigint[]) AS id ORDER BY 1) AS ordered) AS p
                WHERE o.id = p.id""",
            [OUTBOX_POSITION_SEQUENCE, sorted(ids)])


def outbox_consumers_for(*, topic: str) -> list[str]:
    consumers: dict[str, list[str]] = getattr(settings, "OUTBOX_CONSUMERS", {})
    names = list(consumers.get(topic, []))
    prefix = topic.split(".", 1)[0] + ".*"
    names += consumers.get(prefix, [])
    return names


def outbox_relay(*, batch_size: int = 200) -> int:
    """Publish unpublished events in id order; return how many this call published.

    At least once: an event is published before its row is stamped, so a crash between the
    two publishes it again later; consumers deduplicate by event id. A failed publish stops
    the batch there, so no later event overtakes it.
    """
    published = 0
    try:
        redis_client().delete(_relay_queued_key())  # before reading: see _relay_enqueue
    except Exception:
        logger.warning("outbox relay flag unavailable", exc_info=True)
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [OUTBOX_RELAY_LOCK_ID])
                if not cursor.fetchone()[0]:
                    # Another relay holds the lock, and may have read before our event
                    # committed: look again shortly rather than wait for the beat.
                    transaction.on_commit(lambda: _relay_enqueue(countdown=1))
                    return published
            events = list(OutboxEvent.objects.filter(published_at__isnull=True).order_by("id")[:batch_size])
            done, failure = _events_dispatch(events) if events else ([], None)
            if failure is not None:
                OutboxEvent.objects.filter(pk=events[len(done)].pk).update(publish_attempts=F("publish_attempts") + 1)
            if done:
                _outbox_events_stamp(done)
        published += len(done)
        if failure is not None:
            raise failure
        if len(events) < batch_size:
            return published


def outbox_events_prune(*, published_before: datetime, batch_size: int = 1000) -> int:
    """Delete published events published before `published_before`, the oldest first, a batch
    per transaction; returns how many. Unpublished events are never deleted. Deleting through
    the ORM takes what references an event with it (partners' webhook deliveries cascade).

    Each batch is the `batch_size` lowest positions (the unique index's first entries), of
    which those old enough go: positions grow with the time of publishing, so a batch that
    keeps any row means every later one is younger and pruning is done. A batch of a thousand
    events takes their deliveries (one per subscribed endpoint) in the same transaction."""
    deleted = 0
    while True:
        with transaction.atomic():
            oldest = (OutboxEvent.objects.filter(position__isnull=False).order_by("position")
                      .values_list("pk", flat=True)[:batch_size])
            ids = list(OutboxEvent.objects.filter(pk__in=list(oldest), published_at__lt=published_before)
                       .values_list("pk", flat=True))
            if ids:
                OutboxEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
        if len(ids) < batch_size:
            return deleted
