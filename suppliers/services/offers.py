"""Offers: create, update, bulk activate, delete and reprice, within the offer limits.

`offer.price_changed` is written to the outbox in the same transaction, only when a price really
changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Part
from okto88.audit import AuditAction, audit_record
from okto88.errors import InvalidField
from okto88.services import outbox_event_write
from suppliers import offer_limits
from suppliers.errors import DuplicateSku, InvalidPercent, InvalidPrice
from suppliers.events import offer_price_changed_payload
from suppliers.lock_objects import offer_lock
from suppliers.models import Offer, Supplier
from suppliers.services.best_offers import part_best_offer_refresh
from suppliers.services.stock import _is_int


def _price(value: Any, *, field_name: str = "price") -> int:
    if not _is_int(value) or not offer_limits.PRICE_MIN <= value <= offer_limits.PRICE_MAX:
        raise InvalidPrice(extra={"field": field_name, "value": str(value)})
    return value


def _positive(value: Any, *, field_name: str, minimum: int = 1, maximum: int | None = None) -> int:
    if not _is_int(value) or value < minimum:
        raise InvalidField(f"{field_name} must be a whole number ≥ {minimum}.", extra={"field": field_name})
    if maximum is not None and value > maximum:
        raise InvalidField(f"{field_name} must be a whole number ≤ {maximum}.", extra={"field": field_name})
    return value


def _lead_time(value: Any) -> int:
    return _positive(value, field_name="lead_time_days", minimum=offer_limits.LEAD_TIME_MIN_DAYS,
                     maximum=offer_limits.LEAD_TIME_MAX_DAYS)


def _sku(value: Any) -> str:
    sku = str(value or "").strip()
    if not sku or len(sku) > offer_limits.SKU_MAX_LENGTH:
        raise InvalidField(f"A SKU has 1–{offer_limits.SKU_MAX_LENGTH} characters.", extra={"field": "sku"})
    return sku


def _price_event(*, offer: Offer, old_price: int) -> None:
    outbox_event_write(
        topic="offer.price_changed", aggregate_type="offer", aggregate_id=offer.pk,
        payload=offer_price_changed_payload(offer_id=offer.pk, supplier_id=offer.supplier_id, part_id=offer.part_id,
                                            sku=offer.sku, old_price=old_price, price=offer.price),
    )


@transaction.atomic
def offer_create(*, supplier: Supplier, part: Part, sku: str, price: int, min_order_qty: int = 1,
                 pack_size: int = 1, lead_time_days: int = 1, is_active: bool = True) -> Offer:
    sku = _sku(sku)
    offer = Offer(
        supplier=supplier, part=part, sku=sku, price=_price(price),
        min_order_qty=_positive(min_order_qty, field_name="min_order_qty", minimum=offer_limits.MIN_ORDER_QTY_MIN),
        pack_size=_positive(pack_size, field_name="pack_size", minimum=offer_limits.PACK_SIZE_MIN),
        lead_time_days=_lead_time(lead_time_days), is_active=is_active,
    )
    if Offer.objects.filter(supplier=supplier, sku=sku).exists():
        raise DuplicateSku(extra={"field": "sku", "value": sku})
    try:
        with transaction.atomic():
            offer.save()
    except IntegrityError as exc:  # a concurrent create with the same SKU
        raise DuplicateSku(extra={"field": "sku", "value": sku}) from exc
    part_best_offer_refresh(part_ids=[offer.part_id])
    return offer


OFFER_UPDATABLE = {"part", "sku", "price", "min_order_qty", "pack_size", "lead_time_days", "is_active"}


@transaction.atomic
def offer_update(*, offer: Offer, data: Mapping[str, Any]) -> Offer:
    """Writes `offer.price_changed` only when the price really changes."""
    unknown = set(data) - OFFER_UPDATABLE
    if unknown:
        raise InvalidField(f"Cannot change: {', '.join(sorted(unknown))}.", extra={"fields": sorted(unknown)})
    locked = offer_lock(offer_ids=[offer.pk])[offer.pk]
    old_price = locked.price
    if "price" in data:
        offer.price = _price(data["price"])
    if "sku" in data:
        sku = _sku(data["sku"])
        if Offer.objects.filter(supplier_id=offer.supplier_id, sku=sku).exclude(pk=offer.pk).exists():
            raise DuplicateSku(extra={"field": "sku", "value": sku})
        offer.sku = sku
    for name, minimum in (("min_order_qty", offer_limits.MIN_ORDER_QTY_MIN), ("pack_size", offer_limits.PACK_SIZE_MIN)):
        if name in data:
            setattr(offer, name, _positive(data[name], field_name=name, minimum=minimum))
    if "lead_time_days" in data:
        offer.lead_time_days = _lead_time(data["lead_time_days"])
    if "part" in data:
        offer.part = data["part"]
    if "is_active" in data:
        offer.is_active = bool(data["is_active"])
    offer.save()
    if offer.price != old_price:
        _price_event(offer=offer, old_price=old_price)
    part_best_offer_refresh(part_ids={locked.part_id, offer.part_id})
    return offer


def _offers_scoped(*, supplier: Supplier | None, offer_ids: Iterable[int]):
    qs = Offer.objects.filter(pk__in=list(offer_ids))
    return qs.filter(supplier=supplier) if supplier is not None else qs


@transaction.atomic
def offer_bulk_set_active(*, supplier: Supplier | None, offer_ids: Iterable[int], active: bool) -> int:
    """Activate/deactivate the supplier's offers among `offer_ids` (others are ignored: a foreign
    id changes nothing). `supplier=None` is for operators. Returns how many changed."""
    locked = offer_lock(offer_ids=_offers_scoped(supplier=supplier, offer_ids=offer_ids).values_list("pk", flat=True))
    ids = [pk for pk, offer in locked.items() if offer.is_active != active]
    Offer.objects.filter(pk__in=ids).update(is_active=active)
    part_best_offer_refresh(offer_ids=ids)
    return len(ids)


@transaction.atomic
def offer_delete(*, supplier: Supplier | None, offer_ids: Iterable[int]) -> int:
    """Delete the supplier's offers among `offer_ids` (others are ignored; `supplier=None` is for
    operators) with their stock rows, and refresh their parts' best offers. An offer whose stock
    has a ledger is protected (ProtectedError): deactivate it instead. Returns how many went."""
    locked = offer_lock(offer_ids=_offers_scoped(supplier=supplier, offer_ids=offer_ids).values_list("pk", flat=True))
    if not locked:
        return 0
    Offer.objects.filter(pk__in=list(locked)).delete()
    part_best_offer_refresh(part_ids={offer.part_id for offer in locked.values()})
    return len(locked)


def _percent(value: Any) -> Decimal:
    try:
        percent = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidPercent(extra={"field": "percent", "value": str(value)}) from exc
    if not percent.is_finite() or percent <= -100 or percent > 1000:
        raise InvalidPercent("The percentage must be above −100 and at most 1000.",
                             extra={"field": "percent", "value": str(value)})
    return percent


def price_change_by_percent(*, price: int, percent: Decimal | int | str) -> int:
    """price × (1 + percent/100), rounded half up to whole rupiah, never below Rp 1.
    E.g. 12,345 + 10% = 13,579.5 → 13,580; 999 − 33.35% = 665.8335 → 666."""
    new = (Decimal(price) * (Decimal(100) + _percent(percent)) / Decimal(100)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP)
    return max(int(new), 1)


@transaction.atomic(durable=True)
def offer_bulk_change_price(*, supplier: Supplier | None, offer_ids: Iterable[int],
                            percent: Decimal | int | str, actor: Any = None) -> int:
    """Change the prices of the supplier's offers among `offer_ids` by `percent`; one
    `offer.price_changed` event per offer whose price really changed, and one audit entry per
    supplier whose prices changed. Returns that count."""
    pct = _percent(percent)
    ids = list(_offers_scoped(supplier=supplier, offer_ids=offer_ids).values_list("pk", flat=True))
    offers = offer_lock(offer_ids=ids)
    changed: list[tuple[Offer, int]] = []
    for offer in offers.values():
        new_price = price_change_by_percent(price=offer.price, percent=pct)
        if new_price != offer.price:
            changed.append((offer, offer.price))
            offer.price = new_price
    if changed:
        now = timezone.now()
        for offer, _ in changed:
            offer.updated_at = now  # bulk_update does not apply auto_now
        Offer.objects.bulk_update([offer for offer, _ in changed], ["price", "updated_at"], batch_size=1000)
    for offer, old_price in changed:
        _price_event(offer=offer, old_price=old_price)
    _bulk_price_audit(changed=changed, percent=pct, actor=actor)
    part_best_offer_refresh(offer_ids=[offer.pk for offer, _ in changed])
    return len(changed)


# Offers an audit entry of a bulk price change lists one by one (id, old and new price); the count covers all.
AUDIT_PRICE_ROWS = 100


def _bulk_price_audit(*, changed: list[tuple[Offer, int]], percent: Decimal, actor: Any) -> None:
    by_supplier: dict[int, list[tuple[Offer, int]]] = {}
    for offer, old_price in changed:
        by_supplier.setdefault(offer.supplier_id, []).append((offer, old_price))
    for supplier_id, rows in sorted(by_supplier.items()):
        listed = [[offer.pk, old_price, offer.price] for offer, old_price in rows[:AUDIT_PRICE_ROWS]]
        audit_record(action=AuditAction.OFFER_PRICES_BULK_CHANGED, actor=actor,
                     target=("suppliers.supplier", supplier_id), supplier_id=supplier_id,
                     changes={"percent": str(percent), "count": len(rows), "offers": listed,
                              "offers_columns": ["id", "before", "after"]})
