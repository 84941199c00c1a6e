"""Deliveries of events to partners' webhook endpoints (docs/webhooks.md).

The path of an event: the outbox relay hands every published batch of event ids to
`webhooks_fanout` (settings.OUTBOX_BATCH_CONSUMERS), which writes one WebhookDelivery per
(event, live endpoint that subscribes to its topic and may see it: partners.selectors) in one
INSERT … ON CONFLICT DO NOTHING, and after commit enqueues one drain per endpoint that got
deliveries (unless one is queued already: a Redis flag, as the outbox relay coalesces).
Deliveries go in batches of one endpoint (`webhook_endpoint_drain`: what waits for it;
`webhook_deliver_batch`: given deliveries; `webhook_deliver`: one): a batch holds one of the
endpoint's places (the per-endpoint cap), claims its deliveries under their row locks (one a
client may no longer see is discarded unsent), signs each (Standard Webhooks), re-checks the URL
(SSRF; the resolution reused for a few seconds at most) and POSTs them one after another over
one kept-alive connection to the checked address, each recorded through okto88.partner_calls,
then records the attempts (the successes in bulk) and decides what follows (succeeded, retry at
the schedule, failed, endpoint disabled). A batch stops at the first failure that is the
endpoint's; the rest go back unsent.

Scheduling: a delivery task carries `attempt`, the number of attempts the delivery had when
the task was sent; a task whose number no longer matches (a duplicate, or a copy re-queued by
the sweep while the first waited) does nothing. Short delays ride on a Celery countdown; longer
ones wait in the table (`next_attempt_at`) for `deliveries_due`, the beat task that enqueues
what is due with SELECT … FOR UPDATE SKIP LOCKED. While a task is queued or running, the
delivery's `next_attempt_at` is pushed WEBHOOK_ENQUEUE_LEASE_SECONDS past when it should run,
so a lost task is re-queued by the sweep and a live one is not; a drain takes what is due
within that lease.

Lock order: a transaction holding a delivery's row lock never writes its endpoint's row; the
endpoint's changes (failing_since, disabling) are made after, in their own transactions.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from redis.commands.core import Script
from standardwebhooks.webhooks import Webhook

from okto88.audit import AuditAction, audit_record
from okto88.celery import task_send, tasks_send
from okto88.circuit_breaker import CircuitOpen
from okto88.events import event_topics
from okto88.models import OutboxEvent
from okto88.partner_calls import PartnerCallBatch, partner_call_batch
from okto88.redis_connection import redis_client
from orders.notifications import notify_webhook_endpoint_disabled
from partners.adapters.public_address import ResolvedUrl, url_resolve
from partners.adapters.webhook_http import webhook_post
from partners.errors import WebhookUrlNotAllowed
from partners.models import (
    AttemptOutcome,
    DeliveryStatus,
    EndpointDisabledReason,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from partners.selectors import PartnerView, event_visible, partner_view

logger = logging.getLogger(__name__)

DELIVER_TASK = "partners.webhook_deliver"  # partners.tasks.webhook_deliver_task
DELIVER_BATCH_TASK = "partners.webhook_deliver_batch"  # partners.tasks.webhook_deliver_batch_task
DRAIN_TASK = "partners.webhook_endpoint_drain"  # partners.tasks.webhook_endpoint_drain_task
TEST_TOPIC = "webhook.test"


# --- The message ------------------------------------------------------------------------------

def message_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def delivery_body(*, delivery: WebhookDelivery, event: OutboxEvent | None) -> bytes:
    """The JSON body (Standard Webhooks' payload structure: type, timestamp, data), the same
    bytes at every attempt. `event_id` (the outbox event) and `schema_version` (of the topic's
    payload, docs/events.md) let a receiver deduplicate across endpoints and know the shape;
    a test message has neither."""
    if event is None:
        document = {"type": delivery.topic, "timestamp": _iso(delivery.created_at), "data": delivery.test_payload,
                    "event_id": None, "schema_version": None}
    else:
        document = {"type": event.topic, "timestamp": _iso(event.created_at), "data": event.payload,
                    "event_id": event.pk, "schema_version": event.schema_version}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def delivery_headers(*, message_id: str, timestamp: datetime, body: bytes, secrets: list[str]) -> dict[str, str]:
    """Standard Webhooks' headers: one `v1,` signature per secret (two during a rotation's overlap)."""
    signatures = " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signatures}


def endpoint_secrets_live(*, endpoint_id: int, now: datetime | None = None) -> list[str]:
    """The secrets that sign now: every one without an expiry or whose expiry is still ahead,
    newest first. Read once per batch of deliveries (never kept across batches), so a rotated
    secret signs the next batch."""
    now = now or timezone.now()
    return list(WebhookSecret.objects.filter(endpoint_id=endpoint_id)
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                .order_by("-created_at", "-id").values_list("secret", flat=True))


# --- Scheduling -------------------------------------------------------------------------------

def _enqueue(delivery_id: int, attempt: int, countdown: float | None = None) -> None:
    try:
        task_send(DELIVER_TASK, kwargs={"delivery_id": delivery_id, "attempt": attempt},
                  countdown=countdown if countdown and countdown > 0 else None)
    except Exception:  # the broker is down: the sweep re-queues it once its lease is over
        logger.warning("could not enqueue a webhook delivery", exc_info=True, extra={"delivery_id": delivery_id})


def _enqueue_batch(endpoint_id: int, deliveries: list[tuple[int, int]], countdown: float | None = None) -> None:
    """One task per WEBHOOK_BATCH_SIZE of `deliveries` (id, attempts) of one endpoint."""
    size = max(1, settings.WEBHOOK_BATCH_SIZE)
    for start in range(0, len(deliveries), size):
        chunk = [[int(delivery_id), int(attempt)] for delivery_id, attempt in deliveries[start:start + size]]
        try:
            task_send(DELIVER_BATCH_TASK, kwargs={"endpoint_id": endpoint_id, "batch": chunk},
                      countdown=countdown if countdown and countdown > 0 else None)
        except Exception:  # the broker is down: the sweep re-queues them once their lease is over
            logger.warning("could not enqueue webhook deliveries", exc_info=True, extra={"endpoint_id": endpoint_id})


def _enqueue_by_endpoint(rows: list[tuple[int, int, int]]) -> None:
    """Enqueue (delivery id, endpoint id, attempts) rows in batches per endpoint."""
    by_endpoint: dict[int, list[tuple[int, int]]] = {}
    for delivery_id, endpoint_id, attempts in rows:
        by_endpoint.setdefault(endpoint_id, []).append((delivery_id, attempts))
    for endpoint_id, deliveries in by_endpoint.items():
        _enqueue_batch(endpoint_id, deliveries)


# Coalescing, as the outbox relay does: a fan-out enqueues an endpoint's drain only if none is
# queued yet (SET NX on this key); the drain clears the key before it claims, so deliveries
# committed after its claim find the key clear and enqueue the next drain. The key expires, so
# a drain task that is lost holds nothing back for long (and the sweep re-queues by the lease).
DRAIN_QUEUED_SECONDS = 10


def _drain_key(endpoint_id: int) -> str:
    return f"okto88:webhook:drain:{endpoint_id}"


def _drains_enqueue(endpoint_ids, countdown: float | None = None) -> None:
    """Enqueue a drain of each endpoint unless one is queued and has not started yet."""
    ids = sorted(set(endpoint_ids))
    try:
        pipe = redis_client().pipeline(transaction=False)
        for endpoint_id in ids:
            pipe.set(_drain_key(endpoint_id), "1", nx=True, ex=DRAIN_QUEUED_SECONDS + int(countdown or 0))
        fresh = pipe.execute()
    except Exception:  # Redis down: enqueue (a repeated drain finds nothing left)
        logger.warning("webhook drain flags unavailable", exc_info=True)
        fresh = [True] * len(ids)
    kwargs_list = [{"endpoint_id": endpoint_id} for endpoint_id, queue_it in zip(ids, fresh, strict=True) if queue_it]
    if not kwargs_list:
        return
    try:
        tasks_send(DRAIN_TASK, kwargs_list=kwargs_list, countdown=countdown if countdown and countdown > 0 else None)
    except Exception:  # the broker is down: the sweep re-queues them once their lease is over
        logger.warning("could not enqueue webhook drains", exc_info=True)


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_ENQUEUE_LEASE_SECONDS)


def _schedule(delivery: WebhookDelivery, *, delay: float, now: datetime) -> None:
    """Set when `delivery` (pending, saved by the caller) is tried next: a short delay on a Celery
    countdown sent after commit, a long one left to the sweep (deliveries_due)."""
    delay = max(0.0, delay)
    if delay <= settings.WEBHOOK_COUNTDOWN_MAX_SECONDS:
        delivery.next_attempt_at = now + timedelta(seconds=delay) + _lease()
        delivery_id, attempt = delivery.pk, delivery.attempts
        transaction.on_commit(lambda: _enqueue(delivery_id, attempt, countdown=delay))
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delay)


def retry_delay(*, attempts: int, retry_after: float | None = None) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones, with jitter; None when the
    schedule is spent. A receiver's Retry-After (capped) is a floor."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    if attempts >= len(schedule):
        return None
    jitter = settings.WEBHOOK_RETRY_JITTER
    delay = schedule[attempts] * random.uniform(1 - jitter, 1 + jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS))
    return delay


def retry_after_seconds(value: str, *, now: datetime | None = None) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP date) in seconds from now, or None."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or timezone.now())).total_seconds())


# --- Fan-out ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LiveEndpoint:
    id: int
    topics: frozenset[str]
    view: PartnerView


_live_cache: tuple[float, list[LiveEndpoint]] | None = None


def endpoints_live() -> list[LiveEndpoint]:
    """The live endpoints with their clients' views, kept in this process for
    WEBHOOK_ENDPOINTS_CACHE_SECONDS (the insert checks liveness again in SQL)."""
    global _live_cache
    ttl = settings.WEBHOOK_ENDPOINTS_CACHE_SECONDS
    if ttl > 0 and _live_cache is not None and _live_cache[0] > time.monotonic():
        return _live_cache[1]
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True, disabled_at__isnull=True)
                     .select_related("api_client").order_by("pk"))
    views: dict[int, PartnerView] = {}
    live = []
    for endpoint in endpoints:
        view = views.get(endpoint.api_client_id)
        if view is None:
            view = views[endpoint.api_client_id] = partner_view(api_client=endpoint.api_client)
        live.append(LiveEndpoint(id=endpoint.pk, topics=frozenset(endpoint.event_types), view=view))
    _live_cache = (time.monotonic() + ttl, live)
    return live


def _endpoint_view(endpoint: WebhookEndpoint) -> PartnerView:
    """The endpoint's client's view, from the fan-out's cache when it holds the endpoint."""
    if settings.WEBHOOK_ENDPOINTS_CACHE_SECONDS <= 0:
        return partner_view(api_client=endpoint.api_client)
    for live in endpoints_live():
        if live.id == endpoint.pk:
            return live.view
    return partner_view(api_client=endpoint.api_client)


_INSERT_DELIVERIES = """
    INSERT INTO partners_webhookdelivery
        (endpoint_id, event_id, message_id, topic, status, attempts, next_attempt_at, last_error,
         created_at, updated_at)
    SELECT v.endpoint_id, v.event_id, v.message_id, v.topic, %s, 0, %s, '', %s, %s
      FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS v(endpoint_id, event_id, message_id, topic)
      JOIN partners_webhookendpoint AS e ON e.id = v.endpoint_id AND e.is_active AND e.disabled_at IS NULL
    ON CONFLICT DO NOTHING
    RETURNING id, endpoint_id, attempts
"""


@transaction.atomic
def webhooks_fanout(*, event_ids: list[int]) -> int:
    """One delivery per (event, endpoint that subscribes to its topic and may see it), the first
    attempts enqueued after commit. Safe to repeat: an existing (endpoint, event) is skipped.
    Returns how many deliveries were created."""
    live = endpoints_live()
    if not live or not event_ids:
        return 0
    topics = event_topics()
    by_topic: dict[str, list[LiveEndpoint]] = {}
    for endpoint in live:
        for name in endpoint.topics:
            if name in topics and topics[name].audience is not None:
                by_topic.setdefault(name, []).append(endpoint)
    if not by_topic:
        return 0
    # Only the payload fields the visibility rule reads, never whole payloads (a feed's batch
    # event holds a thousand items).
    fields = sorted({field for name in by_topic for field in (topics[name].audience.supplier_field,
                                                               topics[name].audience.workshop_field) if field})
    annotations = {f"audience_{index}": KeyTransform(field, "payload") for index, field in enumerate(fields)}
    events = (OutboxEvent.objects.filter(pk__in=event_ids, topic__in=list(by_topic))
              .annotate(**annotations).values("id", "topic", *annotations))
    endpoint_ids, ids, message_ids, topic_names = [], [], [], []
    for event in events:
        topic = topics[event["topic"]]
        visible_fields = {field: event[f"audience_{index}"] for index, field in enumerate(fields)}
        for endpoint in by_topic[event["topic"]]:
            if event_visible(view=endpoint.view, topic=topic, payload=visible_fields):
                endpoint_ids.append(endpoint.id)
                ids.append(event["id"])
                message_ids.append(message_id_new())
                topic_names.append(event["topic"])
    if not ids:
        return 0
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_DELIVERIES, [DeliveryStatus.PENDING, now + _lease(), now, now,
                                            endpoint_ids, ids, message_ids, topic_names])
        created = cursor.fetchall()
    # One drain per endpoint (if none is queued already), not one task per delivery.
    transaction.on_commit(lambda: _drains_enqueue(endpoint_id for _, endpoint_id, _ in created))
    return len(created)


@transaction.atomic
def delivery_test_create(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` message to `endpoint`, signed and retried like any delivery."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=None, message_id=message_id_new(), topic=TEST_TOPIC,
        test_payload={"endpoint": endpoint.pk, "message": "A test message from okto88."},
        next_attempt_at=now + _lease())
    transaction.on_commit(lambda: _enqueue(delivery.pk, 0))
    return delivery


# --- The per-endpoint cap ---------------------------------------------------------------------

# A sorted set of the attempts in flight to one endpoint, scored by when each expires (so a
# worker that died mid-attempt frees its place by itself). Redis' own clock: all workers agree.
_SLOT_ACQUIRE = Script(None, b"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
""")


def _slots_key(endpoint_id: int) -> str:
    return f"okto88:webhook:slots:{endpoint_id}"


def endpoint_slot_acquire(*, endpoint_id: int) -> str | None:
    """A place among the endpoint's WEBHOOK_ENDPOINT_CONCURRENCY attempts in flight: its token,
    or None when they are all taken. With Redis unreachable the attempt goes ahead."""
    token = uuid.uuid4().hex
    ttl_ms = int((settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS + 15) * 1000)
    try:
        got = _SLOT_ACQUIRE(keys=[_slots_key(endpoint_id)],
                            args=[settings.WEBHOOK_ENDPOINT_CONCURRENCY, ttl_ms, token], client=redis_client())
    except Exception:
        logger.warning("webhook concurrency slots unavailable", exc_info=True)
        return token
    return token if got else None


def endpoint_wait_seconds(*, endpoint_id: int) -> float:
    """How long a delivery that found its endpoint at its cap waits before trying again.

    WEBHOOK_CAP_DEFER_SECONDS while few wait; with many waiting (a slow receiver and a feed's
    thousands of changes) longer, so the waiters do not keep the workers busy asking: the
    deliveries that found the cap full in the last window are counted, and the wait grows with
    that count over the cap (with N waiting it settles near the window × √(N / cap))."""
    window = settings.WEBHOOK_CAP_DEFER_SECONDS
    cap = max(1, settings.WEBHOOK_ENDPOINT_CONCURRENCY)
    key = f"okto88:webhook:waiting:{endpoint_id}:{int(time.time() // max(window, 0.001))}"
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, max(1, int(window * 2) + 1))
        waiting = pipe.execute()[0]
    except Exception:
        waiting = 1
    return window * max(1.0, waiting / cap) * random.uniform(1, 1.5)


def endpoint_slot_release(*, endpoint_id: int, token: str) -> None:
    try:
        redis_client().zrem(_slots_key(endpoint_id), token)
    except Exception:  # it expires by itself
        logger.warning("could not free a webhook concurrency slot", exc_info=True)


# --- Attempts, a batch at a time --------------------------------------------------------------

@dataclass
class AttemptResult:
    outcome: str
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    retry_after: float | None = None
    duration_ms: int = 0


def _still_due(delivery: WebhookDelivery | None, attempt: int | None) -> bool:
    return (delivery is not None and delivery.status == DeliveryStatus.PENDING
            and (attempt is None or delivery.attempts == attempt))


def webhook_deliver(*, delivery_id: int, attempt: int | None = None) -> str:
    """Make one attempt of a delivery (a batch of one: see webhook_deliver_batch); returns what
    happened: stale, deferred, paused, endpoint_disabled, discarded, circuit_open, or the
    attempt's outcome."""
    endpoint_id = WebhookDelivery.objects.filter(pk=delivery_id).values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return "stale"
    return webhook_deliver_batch(endpoint_id=endpoint_id, deliveries=[(delivery_id, attempt)]).get(delivery_id,
                                                                                                    "stale")


def webhook_deliver_batch(*, endpoint_id: int, deliveries: list[tuple[int, int | None]]) -> dict[int, str]:
    """Attempt a batch of one endpoint's deliveries, each (id, attempts it had when the task was
    sent, or None: whatever it has), over one kept-alive connection. Returns what happened to
    each (as webhook_deliver).

    The batch holds one of the endpoint's WEBHOOK_ENDPOINT_CONCURRENCY places (its requests go
    one after another); it is claimed with one locking SELECT and one UPDATE, the endpoint, its
    client's view and its secrets read once, and the successes recorded with one INSERT of
    attempts and one UPDATE. It stops at the first attempt that failed for the endpoint's sake
    (5xx, 429, a timeout, no connection, a blocked address, 410): the deliveries after it are
    put back unsent, no attempt counted, to be tried when the failed one is retried — a
    receiver that is down costs one request per batch, not one per delivery. A 4xx other than
    410 is about that delivery only: the batch goes on. It also stops after
    WEBHOOK_BATCH_SECONDS of sending (a slow receiver): the rest goes back to the queue at once,
    behind the other endpoints' work."""
    wanted = {int(delivery_id): attempt for delivery_id, attempt in deliveries}
    if not wanted:
        return {}
    token = endpoint_slot_acquire(endpoint_id=endpoint_id)
    if token is None:
        # The endpoint has its share of attempts in flight: come back later, holding no worker.
        seconds = endpoint_wait_seconds(endpoint_id=endpoint_id)
        with transaction.atomic():
            due = [(d.pk, d.attempts) for d in WebhookDelivery.objects.select_for_update()
                   .filter(pk__in=wanted, endpoint_id=endpoint_id).order_by("pk").only("status", "attempts")
                   if _still_due(d, wanted[d.pk])]
            _put_back(endpoint_id=endpoint_id, rows=[(pk, attempts, 0) for pk, attempts in due], delay=seconds)
        outcomes = dict.fromkeys(wanted, "stale")
        outcomes.update(dict.fromkeys((pk for pk, _ in due), "deferred"))
        return outcomes
    try:
        return _attempt_batch(endpoint_id=endpoint_id, wanted=wanted)
    finally:
        endpoint_slot_release(endpoint_id=endpoint_id, token=token)


def _claim_batch(*, endpoint_id: int, wanted: dict[int, int | None] | None,
                 outcomes: dict[int, str]) -> tuple[WebhookEndpoint | None, list[WebhookDelivery]]:
    """Count the attempts under the deliveries' locks before sending (a second run of the same
    task then finds the counts moved on). Fills `outcomes` for the deliveries not claimed.
    `wanted` None (a drain): the endpoint's pending deliveries due within the lease (queued by a
    fan-out, or their wait over), oldest first, WEBHOOK_BATCH_SIZE at most, skipping rows
    another worker holds."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_related("api_client").filter(pk=endpoint_id).first()
        if endpoint is None:
            return None, []  # deleted: its deliveries went with it
        if wanted is None:
            rows = list(WebhookDelivery.objects.select_for_update(of=("self",), skip_locked=True)
                        .select_related("event")
                        .filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING,
                                next_attempt_at__lte=timezone.now() + _lease())
                        .order_by("next_attempt_at", "pk")[:max(1, settings.WEBHOOK_BATCH_SIZE)])
            due = rows
        else:
            rows = list(WebhookDelivery.objects.select_for_update(of=("self",)).select_related("event")
                        .filter(pk__in=wanted, endpoint_id=endpoint_id).order_by("pk"))
            due = [delivery for delivery in rows if _still_due(delivery, wanted[delivery.pk])]
        if not due:
            return endpoint, []
        now = timezone.now()
        due_ids = [delivery.pk for delivery in due]
        if endpoint.disabled_at is not None:
            WebhookDelivery.objects.filter(pk__in=due_ids).update(
                status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="endpoint disabled", updated_at=now)
            outcomes.update(dict.fromkeys(due_ids, "endpoint_disabled"))
            return endpoint, []
        if not endpoint.is_active:
            # Paused by its owner: kept pending; the sweep takes them up again once resumed.
            WebhookDelivery.objects.filter(pk__in=due_ids).update(next_attempt_at=now, updated_at=now)
            outcomes.update(dict.fromkeys(due_ids, "paused"))
            return endpoint, []
        view = _endpoint_view(endpoint)
        topics = event_topics()
        claimed, hidden = [], []
        for delivery in due:
            delivery.endpoint = endpoint
            if delivery.event is not None and not _still_visible(delivery, view=view, topics=topics):
                hidden.append(delivery.pk)
            else:
                claimed.append(delivery)
        if hidden:
            # The client lost the right to see them since the fan-out (a key revoked, a binding
            # changed): they are never sent.
            WebhookDelivery.objects.filter(pk__in=hidden).update(
                status=DeliveryStatus.DISCARDED, next_attempt_at=None,
                last_error="no longer visible to the API client", updated_at=now)
            outcomes.update(dict.fromkeys(hidden, "discarded"))
        if claimed:
            # Long enough for every attempt of the batch to time out, then the lease.
            held = (settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS
                    + settings.WEBHOOK_BATCH_SECONDS)
            WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                attempts=F("attempts") + 1, next_attempt_at=now + timedelta(seconds=held) + _lease(), updated_at=now)
            for delivery in claimed:
                delivery.attempts += 1
        return endpoint, claimed


def _still_visible(delivery: WebhookDelivery, *, view: PartnerView, topics: dict) -> bool:
    topic = topics.get(delivery.event.topic)
    return topic is not None and event_visible(view=view, topic=topic, payload=delivery.event.payload)


_resolved_cache: dict[tuple, tuple[float, ResolvedUrl]] = {}


def _url_resolve(url: str) -> ResolvedUrl:
    """The SSRF check (public_address.url_resolve) of `url`, kept in this process for
    WEBHOOK_RESOLVE_CACHE_SECONDS at most (a few seconds: the deliveries of a batch, and the
    batches right after it, go to the address checked a moment ago); a refusal is never kept."""
    allow_private, require_https = settings.WEBHOOK_ALLOW_PRIVATE_URLS, settings.WEBHOOK_REQUIRE_HTTPS
    ttl = settings.WEBHOOK_RESOLVE_CACHE_SECONDS
    key = (url, allow_private, require_https)
    cached = _resolved_cache.get(key)
    if ttl > 0 and cached is not None and cached[0] > time.monotonic():
        return cached[1]
    resolved = url_resolve(url, allow_private=allow_private, require_https=require_https)
    if ttl > 0:
        if len(_resolved_cache) > 10_000:
            _resolved_cache.clear()
        _resolved_cache[key] = (time.monotonic() + ttl, resolved)
    return resolved


def _send(*, delivery: WebhookDelivery, endpoint: WebhookEndpoint, secrets: list[str],
          calls: PartnerCallBatch) -> AttemptResult:
    """Sign, check the URL and POST (recorded as one of the batch's partner calls); never raises
    for what the receiver or the network did."""
    now = timezone.now()
    if not secrets:  # never unsigned: the endpoint's owner rotates or adds a secret
        return AttemptResult(outcome=AttemptOutcome.ERROR, error="the endpoint has no live signing secret")
    body = delivery_body(delivery=delivery, event=delivery.event)
    headers = delivery_headers(message_id=delivery.message_id, timestamp=now, body=body, secrets=secrets)
    started = time.perf_counter()
    try:
        resolved = _url_resolve(endpoint.url)
    except WebhookUrlNotAllowed as exc:
        return AttemptResult(outcome=AttemptOutcome.BLOCKED, error=str(exc.message)[:300],
                             duration_ms=int((time.perf_counter() - started) * 1000))
    result = AttemptResult(outcome=AttemptOutcome.ERROR)
    with calls.call() as call:
        try:
            response = webhook_post(url=endpoint.url, resolved=resolved, body=body, headers=headers,
                                    connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
                                    total_timeout=settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS,
                                    excerpt_bytes=settings.WEBHOOK_RESPONSE_EXCERPT_BYTES)
        except requests.RequestException as exc:
            call.error = exc
            timed_out = isinstance(exc, requests.Timeout)
            result = AttemptResult(outcome=AttemptOutcome.TIMEOUT if timed_out else AttemptOutcome.ERROR,
                                   error=f"{type(exc).__name__}: {exc}"[:300])
        else:
            call.status = response.status
            status = response.status
            if 200 <= status < 300:
                outcome = AttemptOutcome.OK
            elif status == 429 or status >= 500 or status < 400:
                outcome = AttemptOutcome.ERROR  # a redirect is not followed: tried again later
            else:
                outcome = AttemptOutcome.REJECTED
            retry_after = retry_after_seconds(response.retry_after) if status in (429, 503) else None
            excerpt = response.excerpt.decode("utf-8", "replace").replace("\x00", "")
            result = AttemptResult(outcome=outcome, status_code=status, excerpt=excerpt, retry_after=retry_after)
    result.duration_ms = int((time.perf_counter() - started) * 1000)
    return result


def _stops_batch(result: AttemptResult) -> bool:
    """A failure for the endpoint's sake, not the one delivery's: the rest would fail alike."""
    return result.outcome != AttemptOutcome.OK and not (
        result.outcome == AttemptOutcome.REJECTED and result.status_code != 410)


def webhook_endpoint_drain(*, endpoint_id: int) -> dict[int, str]:
    """Send a batch of what is waiting for an endpoint (see _claim_batch), as
    webhook_deliver_batch does; a full batch enqueues the next drain (behind the other
    endpoints' work) rather than looping."""
    try:
        redis_client().delete(_drain_key(endpoint_id))  # before claiming: see _drains_enqueue
    except Exception:
        logger.warning("webhook drain flag unavailable", exc_info=True)
    token = endpoint_slot_acquire(endpoint_id=endpoint_id)
    if token is None:
        # The endpoint has its share in flight: look again later; the rows stay leased meanwhile.
        _drains_enqueue([endpoint_id], countdown=endpoint_wait_seconds(endpoint_id=endpoint_id))
        return {}
    try:
        outcomes = _attempt_batch(endpoint_id=endpoint_id, wanted=None)
    finally:
        endpoint_slot_release(endpoint_id=endpoint_id, token=token)
    if sum(1 for outcome in outcomes.values() if outcome != "paused") >= settings.WEBHOOK_BATCH_SIZE:
        _drains_enqueue([endpoint_id])
    return outcomes


def _database_connection_release() -> None:
    """While a batch waits on a receiver it holds no database connection: a pooled one goes back
    to the pool (a worker with a threads pool has more threads than connections)."""
    if connection.settings_dict.get("OPTIONS", {}).get("pool") and not connection.in_atomic_block:
        connection.close()


def _send_batch(*, claimed: list[WebhookDelivery], endpoint: WebhookEndpoint, secrets: list[str],
                calls: PartnerCallBatch, outcomes: dict[int, str]
                ) -> tuple[list[tuple[WebhookDelivery, datetime, AttemptResult]], list[WebhookDelivery], float]:
    """Send `claimed` one after another until one fails for the endpoint's sake or the batch's
    time is up. Returns (the attempts made, the deliveries not sent, when to try those)."""
    began = time.monotonic()
    done: list[tuple[WebhookDelivery, datetime, AttemptResult]] = []
    for index, delivery in enumerate(claimed):
        if index and time.monotonic() - began > settings.WEBHOOK_BATCH_SECONDS:
            rest = claimed[index:]  # a slow receiver: the rest waits behind the other endpoints' work
            outcomes.update(dict.fromkeys((d.pk for d in rest), "deferred"))
            return done, rest, 0.0
        started_at = timezone.now()
        try:
            result = _send(delivery=delivery, endpoint=endpoint, secrets=secrets, calls=calls)
        except Exception as exc:  # ours, not the receiver's: logged, and the attempt counts as failed
            logger.exception("webhook attempt failed before an answer", extra={"delivery_id": delivery.pk})
            result = AttemptResult(outcome=AttemptOutcome.ERROR, error=f"internal error: {type(exc).__name__}")
        done.append((delivery, started_at, result))
        outcomes[delivery.pk] = result.outcome
        if _stops_batch(result):
            rest = claimed[index + 1:]
            outcomes.update(dict.fromkeys((d.pk for d in rest), "deferred"))
            # They wait as long as the failed one (without its Retry-After's floor: that is its own).
            return done, rest, retry_delay(attempts=delivery.attempts, retry_after=result.retry_after) or 0.0
    return done, [], 0.0


def _attempt_batch(*, endpoint_id: int, wanted: dict[int, int | None] | None) -> dict[int, str]:
    outcomes: dict[int, str] = dict.fromkeys(wanted or (), "stale")
    endpoint, claimed = _claim_batch(endpoint_id=endpoint_id, wanted=wanted, outcomes=outcomes)
    if not claimed:
        return outcomes
    secrets = endpoint_secrets_live(endpoint_id=endpoint.pk)
    _database_connection_release()
    try:
        with partner_call_batch(partner=f"webhook:{endpoint.pk}", operation="deliver") as calls:
            done, rest, rest_delay = _send_batch(claimed=claimed, endpoint=endpoint, secrets=secrets, calls=calls,
                                                 outcomes=outcomes)
    except CircuitOpen:
        # The endpoint's breaker is open: nothing was sent, so the attempts do not count; tried
        # again once the breaker lets a probe through.
        done, rest = [], claimed
        rest_delay = settings.PARTNER_BREAKER_COOL_DOWN_SECONDS * random.uniform(1, 1.2)
        outcomes.update(dict.fromkeys((d.pk for d in rest), "circuit_open"))
    _record_batch(done)
    if rest:
        with transaction.atomic():
            _put_back(endpoint_id=endpoint_id, rows=[(d.pk, d.attempts, 1) for d in rest], delay=rest_delay)
    was_failing = endpoint.failing_since is not None
    for _delivery, _started_at, result in done:
        _endpoint_after_attempt(endpoint_id=endpoint_id, result=result, was_failing=was_failing)
        was_failing = result.outcome != AttemptOutcome.OK
    return outcomes


_PUT_BACK = """
    UPDATE partners_webhookdelivery AS d
       SET attempts = d.attempts - v.undo, next_attempt_at = %s, updated_at = %s
      FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS v(id, attempts, undo)
     WHERE d.id = v.id AND d.status = %s AND d.attempts = v.attempts
    RETURNING d.id, d.attempts
"""


def _put_back(*, endpoint_id: int, rows: list[tuple[int, int, int]], delay: float) -> None:
    """Deliveries (id, attempts now, attempts to take back) that were not sent: tried again in
    `delay` seconds, as one batch (a Celery countdown after commit, or the sweep for a long
    delay). Ones replayed or ended meanwhile are left alone. In the caller's transaction."""
    if not rows:
        return
    now = timezone.now()
    delay = max(0.0, delay)
    short = delay <= settings.WEBHOOK_COUNTDOWN_MAX_SECONDS
    next_attempt_at = now + timedelta(seconds=delay) + (_lease() if short else timedelta(0))
    ids, attempts, undo = (list(column) for column in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(_PUT_BACK, [next_attempt_at, now, ids, attempts, undo, DeliveryStatus.PENDING])
        back = cursor.fetchall()
    if short and back:
        transaction.on_commit(lambda: _enqueue_batch(endpoint_id, back, countdown=delay))


_LOCK_DELIVERIES = "SELECT id FROM partners_webhookdelivery WHERE id = ANY(%s) ORDER BY id FOR UPDATE"

_INSERT_ATTEMPTS = """
    INSERT INTO partners_webhookattempt
        (delivery_id, number, started_at, duration_ms, outcome, status_code, error, response_excerpt)
    SELECT v.id, coalesce((SELECT max(a.number) FROM partners_webhookattempt AS a WHERE a.delivery_id = v.id), 0) + 1,
           v.started_at, v.duration_ms, %s, v.status_code, '', v.excerpt
      FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], %s::int[], %s::text[])
           AS v(id, started_at, duration_ms, status_code, excerpt)
"""

_SUCCEED = """
    UPDATE partners_webhookdelivery AS d
       SET status = %s, succeeded_at = %s, next_attempt_at = NULL, last_status_code = v.status_code,
           last_error = '', updated_at = %s
      FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS v(id, attempts, status_code)
     WHERE d.id = v.id AND d.status = %s AND d.attempts = v.attempts
"""


def _record_batch(done: list[tuple[WebhookDelivery, datetime, AttemptResult]]) -> None:
    """Log every attempt and move each delivery on. The successes together (one INSERT, one
    UPDATE), the rest one by one (_record: retry, give up). A delivery deleted meanwhile (its
    endpoint deleted) is skipped quietly, its attempt with it."""
    succeeded = [(d, started_at, r) for d, started_at, r in done if r.outcome == AttemptOutcome.OK]
    for delivery, started_at, result in done:
        if result.outcome != AttemptOutcome.OK:
            _record(delivery_id=delivery.pk, attempts=delivery.attempts, started_at=started_at, result=result)
    if not succeeded:
        return
    excerpt_cap = settings.WEBHOOK_RESPONSE_EXCERPT_BYTES
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LOCK_DELIVERIES, [sorted(d.pk for d, _, _ in succeeded)])
        present = {row[0] for row in cursor.fetchall()}
        succeeded = [row for row in succeeded if row[0].pk in present]
        if not succeeded:
            return
        cursor.execute(_INSERT_ATTEMPTS, [
            AttemptOutcome.OK, [d.pk for d, _, _ in succeeded], [s for _, s, _ in succeeded],
            [r.duration_ms for _, _, r in succeeded], [r.status_code for _, _, r in succeeded],
            [r.excerpt[:excerpt_cap] for _, _, r in succeeded]])
        # Replayed or ended meanwhile: the attempt is logged, the new state stands.
        cursor.execute(_SUCCEED, [
            DeliveryStatus.SUCCEEDED, now, now, [d.pk for d, _, _ in succeeded],
            [d.attempts for d, _, _ in succeeded], [r.status_code for _, _, r in succeeded], DeliveryStatus.PENDING])


@transaction.atomic
def _record(*, delivery_id: int, attempts: int, started_at: datetime, result: AttemptResult) -> None:
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
    if delivery is None:
        return  # its endpoint was deleted while the attempt was in flight: nothing left to record
    number = (WebhookAttempt.objects.filter(delivery_id=delivery_id).aggregate(last=Max("number"))["last"] or 0) + 1
    excerpt_cap = settings.WEBHOOK_RESPONSE_EXCERPT_BYTES
    WebhookAttempt.objects.create(delivery_id=delivery_id, number=number, started_at=started_at,
                                  duration_ms=result.duration_ms, outcome=result.outcome,
                                  status_code=result.status_code, error=result.error[:300],
                                  response_excerpt=result.excerpt[:excerpt_cap])
    if delivery.status != DeliveryStatus.PENDING or delivery.attempts != attempts:
        return  # replayed or ended meanwhile: the attempt is logged, the new state stands
    now = timezone.now()
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error[:300]
    if result.outcome == AttemptOutcome.OK:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.succeeded_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
    elif result.outcome == AttemptOutcome.REJECTED:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.last_error = delivery.last_error or f"HTTP {result.status_code}"
    else:
        delay = retry_delay(attempts=delivery.attempts, retry_after=result.retry_after)
        if delay is None:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            _schedule(delivery, delay=delay, now=now)
    delivery.save(update_fields=["status", "succeeded_at", "next_attempt_at", "last_status_code", "last_error",
                                 "updated_at"])


def _endpoint_after_attempt(*, endpoint_id: int, result: AttemptResult, was_failing: bool) -> None:
    """`was_failing`: the endpoint's failing_since as the claim read it (a healthy endpoint's row
    is not touched at every delivery; a concurrent failure's mark is cleared by the next success)."""
    if result.outcome == AttemptOutcome.OK:
        if was_failing:
            WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=False).update(failing_since=None)
        return
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=now)
    if result.status_code == 410:
        endpoint_disable(endpoint_id=endpoint_id, reason=EndpointDisabledReason.GONE)
    elif WebhookEndpoint.objects.filter(pk=endpoint_id, disabled_at__isnull=True,
                                        failing_since__lte=now - _failing_for()).exists():
        endpoint_disable(endpoint_id=endpoint_id, reason=EndpointDisabledReason.FAILING)


def _failing_for() -> timedelta:
    return timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)


# --- Disabling --------------------------------------------------------------------------------

@transaction.atomic
def endpoint_disable(*, endpoint_id: int, reason: str) -> bool:
    """Stop sending to an endpoint: its pending deliveries fail (replay them once it is enabled
    again) and its owner is told, in-app and by email. False if it was disabled already."""
    now = timezone.now()
    if not WebhookEndpoint.objects.filter(pk=endpoint_id, disabled_at__isnull=True).update(
            disabled_at=now, disabled_reason=reason, updated_at=now):
        return False
    WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=f"endpoint disabled ({reason})", updated_at=now)
    endpoint = WebhookEndpoint.objects.select_related("api_client").get(pk=endpoint_id)
    view = partner_view(api_client=endpoint.api_client)
    # An operator's disable is theirs (the request's user); the platform's is the system's.
    audit_record(action=AuditAction.WEBHOOK_ENDPOINT_CHANGED,
                 actor=None if reason == EndpointDisabledReason.OPERATOR else "webhook delivery engine",
                 target=("partners.webhookendpoint", endpoint.pk, str(endpoint)), supplier_id=view.supplier_id,
                 workshop_id=view.workshop_id,
                 changes={"client": endpoint.api_client.name, "before": {"disabled": False},
                          "after": {"disabled": True, "reason": reason}})
    if reason != EndpointDisabledReason.OPERATOR:
        notify_webhook_endpoint_disabled(
            supplier_id=view.supplier_id, workshop_id=view.workshop_id,
            contact_emails=[endpoint.api_client.contact_email] if endpoint.api_client.contact_email else [],
            params={"client": endpoint.api_client.name, "url": endpoint.url, "reason": reason,
                    "days": settings.WEBHOOK_DISABLE_AFTER_DAYS})
    logger.warning("webhook endpoint disabled", extra={"endpoint_id": endpoint_id, "reason": reason})
    return True


# --- The sweep --------------------------------------------------------------------------------

_DUE = """
    UPDATE partners_webhookdelivery AS d SET next_attempt_at = %s, updated_at = %s
      FROM (SELECT d2.id FROM partners_webhookdelivery AS d2
              JOIN partners_webhookendpoint AS e ON e.id = d2.endpoint_id AND e.is_active AND e.disabled_at IS NULL
             WHERE d2.status = %s AND d2.next_attempt_at <= %s
             ORDER BY d2.next_attempt_at LIMIT %s
             FOR UPDATE OF d2 SKIP LOCKED) AS due
     WHERE d.id = due.id
    RETURNING d.id, d.endpoint_id, d.attempts
"""


@transaction.atomic
def deliveries_due(*, limit: int | None = None) -> int:
    """Enqueue the deliveries whose next attempt is due (a bounded batch, oldest first; rows
    another sweep holds are skipped), and disable endpoints failing for
    WEBHOOK_DISABLE_AFTER_DAYS. Returns how many were enqueued."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_DUE, [now + _lease(), now, DeliveryStatus.PENDING, now,
                              limit or settings.WEBHOOK_DUE_BATCH])
        due = cursor.fetchall()
    transaction.on_commit(lambda: _enqueue_by_endpoint(due))
    failing = list(WebhookEndpoint.objects.filter(disabled_at__isnull=True, failing_since__lte=now - _failing_for())
                   .values_list("pk", flat=True)[:100])
    for endpoint_id in failing:
        endpoint_disable(endpoint_id=endpoint_id, reason=EndpointDisabledReason.FAILING)
    return len(due)


# --- Replays ----------------------------------------------------------------------------------

@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again from the start of the schedule, with its own webhook-id (a receiver
    that processed it already sees the same id). Its earlier attempts stay in the log."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.succeeded_at = None
    _schedule(delivery, delay=0, now=timezone.now())
    delivery.save(update_fields=["status", "attempts", "succeeded_at", "next_attempt_at", "updated_at"])
    return delivery


@transaction.atomic
def deliveries_replay_failed(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Replay every failed delivery of `endpoint` created since `since`; the sweep sends them."""
    now = timezone.now()
    failed = WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.FAILED, created_at__gte=since)
    return failed.update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
