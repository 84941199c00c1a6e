"""Supplier writes: suppliers, warehouses, offers and stock with its ledger.

Stock rule: every change of a Stock row happens here, under a row lock taken by
lock_objects (pk order), together with a StockMovement row in the same transaction, so
on_hand == sum(on_hand_delta) and reserved == sum(reserved_delta) always hold. The database
constraints (0 ≤ reserved ≤ on_hand) are the last line of defence; the services refuse
first with a domain error. Events (`stock.changed`, `offer.price_changed`) are written to
the outbox in the same transaction, only when something really changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from lokal.npwp import parse_npwp

from catalog.models import Part
from catalog.services import best_offer_cache_version_bump
from okto88.areas import area_resolve
from okto88.errors import InvalidField, InvalidQuantity
from okto88.models import ApiClient, User
from okto88.selectors import actor_person
from okto88.services import NewOutboxEvent, outbox_event_write, outbox_events_write
from suppliers import offer_limits
from suppliers.errors import (
    ApiClientBoundElsewhere,
    DuplicateSku,
    DuplicateWarehouseCode,
    InsufficientStock,
    InvalidNpwp,
    InvalidPercent,
    InvalidPrice,
    StockRowsInvalid,
    SupplierMismatch,
    UnknownStock,
    UnknownSupplier,
)
from suppliers.events import offer_price_changed_payload, stock_changed_payload
from suppliers.lock_objects import (
    offer_lock,
    part_best_offer_lock,
    stock_lock,
    stock_lock_queryset,
    supplier_api_client_binding_lock_or_create,
)
from suppliers.models import (
    MovementReason,
    Offer,
    Stock,
    StockMovement,
    Supplier,
    SupplierApiClient,
    SupplierStatus,
    Warehouse,
)
from suppliers.read_models import PART_BEST_OFFER_COLUMNS, PART_BEST_OFFER_ROWS_SQL

__all__ = [
    "StockBulkResult",
    "npwp_normalise", "offer_bulk_change_price", "offer_bulk_set_active", "offer_create", "offer_delete",
    "offer_update",
    "part_best_offer_rebuild", "part_best_offer_refresh",
    "price_change_by_percent", "stock_adjust", "stock_bulk_set", "stock_commit_shipment", "stock_ensure",
    "stock_release", "stock_reserve", "stock_return", "stock_set_on_hand", "supplier_api_client_bind",
    "supplier_create", "supplier_delete",
    "supplier_update",
    "warehouse_create", "warehouse_update",
]

STOCK_BULK_MAX_ROWS = 10_000


# --- Helpers ---------------------------------------------------------------------------------


def _actor_reference(actor: Any, reference: str) -> str:
    if reference or actor is None or isinstance(actor, User):
        return reference[:120]
    return str(actor)[:120]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _stock_payload(stock: Stock) -> dict[str, int]:
    return stock_changed_payload(stock_id=stock.pk, offer_id=stock.offer_id, warehouse_id=stock.warehouse_id,
                                 on_hand=stock.on_hand, reserved=stock.reserved)


@dataclass(frozen=True)
class _StockChange:
    stock: Stock  # locked by this transaction, as read under the lock
    on_hand_delta: int
    reserved_delta: int


# Conditional on every row still satisfying 0 ≤ reserved ≤ on_hand after its change, so even
# without the lock it could never oversell (the CHECK constraints are the last line).
_STOCK_APPLY_SQL = """
UPDATE suppliers_stock AS s
SET on_hand = s.on_hand + v.on_hand_delta, reserved = s.reserved + v.reserved_delta, updated_at = now()
FROM unnest(%s::bigint[], %s::integer[], %s::integer[]) AS v(id, on_hand_delta, reserved_delta)
WHERE s.id = v.id AND s.reserved + v.reserved_delta >= 0
  AND s.on_hand + v.on_hand_delta >= s.reserved + v.reserved_delta
RETURNING s.id
"""


def _insufficient(stock: Stock) -> InsufficientStock:
    return InsufficientStock(
        f"Stock {stock.pk} has {stock.on_hand} on hand and {stock.reserved} reserved.",
        extra={"stock": stock.pk, "on_hand": stock.on_hand, "reserved": stock.reserved},
    )


def _stock_apply(*, changes: Sequence[_StockChange], reason: str, actor: Any, reference: str) -> list[Stock]:
    """Apply deltas to stock rows this transaction has locked: one UPDATE, one ledger INSERT
    and one INSERT of `stock.changed` events however many rows, then the best offers of their
    parts. All or nothing: a row that would go below its reserved units (or reserved below 0)
    raises InsufficientStock before anything is written. Returns the rows as written, in the
    order given. Every change of stock goes through here."""
    changes = [c for c in changes if c.on_hand_delta or c.reserved_delta]
    for change in changes:
        stock = change.stock
        reserved = stock.reserved + change.reserved_delta
        if reserved < 0 or stock.on_hand + change.on_hand_delta < reserved:
            raise _insufficient(stock)
    if not changes:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_STOCK_APPLY_SQL, [[c.stock.pk for c in changes], [c.on_hand_delta for c in changes],
                                          [c.reserved_delta for c in changes]])
        written = {row[0] for row in cursor.fetchall()}
    unwritten = [c.stock for c in changes if c.stock.pk not in written]
    if unwritten:  # the row changed under a caller that did not lock it: nothing is kept
        raise _insufficient(unwritten[0])
    person, reference = actor_person(actor=actor), _actor_reference(actor, reference)
    movements = []
    for change in changes:
        stock = change.stock
        stock.on_hand += change.on_hand_delta
        stock.reserved += change.reserved_delta
        movements.append(StockMovement(
            stock=stock, reason=reason, on_hand_delta=change.on_hand_delta, reserved_delta=change.reserved_delta,
            on_hand_after=stock.on_hand, reserved_after=stock.reserved, actor=person, reference=reference))
    StockMovement.objects.bulk_create(movements)
    outbox_events_write(events=[
        NewOutboxEvent(topic="stock.changed", aggregate_type="stock", aggregate_id=c.stock.pk,
                       payload=_stock_payload(c.stock))
        for c in changes])
    part_best_offer_refresh(offer_ids={c.stock.offer_id for c in changes})
    return [c.stock for c in changes]


def _locked_stock(stock: Stock | int) -> Stock:
    stock_id = stock.pk if isinstance(stock, Stock) else stock
    locked = stock_lock(stock_ids=[stock_id]).get(stock_id)
    if locked is None:
        raise UnknownStock(extra={"stock": stock_id})
    if isinstance(stock, Stock):  # the caller's instance reflects what was written
        stock.on_hand, stock.reserved = locked.on_hand, locked.reserved
        return stock
    return locked


# --- Best offer per part (read model) ---------------------------------------------------------

# The rows come from suppliers.read_models.PART_BEST_OFFER_ROWS_SQL, the read model's one rule
# (which its check uses too): for a refresh, over the offers of the given parts; a part left
# without visible offers keeps its row, emptied.
_BEST_OFFER_UPDATE_SQL = f"""
UPDATE suppliers_partbestoffer b
SET offer_id = fresh.offer_id, supplier_id = fresh.supplier_id, price = fresh.price,
    lead_time_days = fresh.lead_time_days, available = coalesce(fresh.available, 0),
    total_available = coalesce(fresh.total_available, 0), supplier_count = coalesce(fresh.supplier_count, 0)
FROM unnest(%(parts)s::bigint[]) AS t(part_id)
LEFT JOIN ({PART_BEST_OFFER_ROWS_SQL.format(where="AND o.part_id = ANY(%(parts)s)")}) AS fresh
    ON fresh.part_id = t.part_id
WHERE b.part_id = t.part_id
"""  # noqa: S608 - fixed fragments only; every value is a parameter
_BEST_OFFER_INSERT_SQL = (f"INSERT INTO suppliers_partbestoffer ({', '.join(PART_BEST_OFFER_COLUMNS)})\n"
                          + PART_BEST_OFFER_ROWS_SQL.format(where=""))


def part_best_offer_refresh(*, part_ids: Iterable[int] = (), offer_ids: Iterable[int] = (),
                            supplier_id: int | None = None, warehouse_id: int | None = None) -> int:
    """Recompute the best offer of these parts: `part_ids`, the parts of `offer_ids`, every part
    `supplier_id` offers, every part with stock in `warehouse_id`. Set-based (three statements
    however many parts); call it in the transaction of the change, after the change. Returns
    how many parts it refreshed.

    The parts' rows are locked first (lock_objects, part order) and only then computed, in a
    statement of its own: under READ COMMITTED its snapshot is taken after the lock, so it sees
    every change committed by a concurrent refresher of the same part, and the last one to
    commit wrote what the offers and stock now say."""
    if not connection.in_atomic_block:
        raise RuntimeError("part_best_offer_refresh must run inside the transaction of the change")
    locked = part_best_offer_lock(part_ids=part_ids, offer_ids=offer_ids, supplier_id=supplier_id,
                                  warehouse_id=warehouse_id)
    if locked:
        with connection.cursor() as cursor:
            cursor.execute(_BEST_OFFER_UPDATE_SQL, {"parts": locked, "active": SupplierStatus.ACTIVE})
        best_offer_cache_version_bump()
    return len(locked)


def part_best_offer_rebuild() -> int:
    """Every part's best offer from scratch (after a bulk load that bypassed the services, e.g.
    bench/generate_suppliers.py). Takes an exclusive lock on the table for its transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE suppliers_partbestoffer IN ACCESS EXCLUSIVE MODE")
        cursor.execute("DELETE FROM suppliers_partbestoffer")
        cursor.execute(_BEST_OFFER_INSERT_SQL, {"active": SupplierStatus.ACTIVE})
        best_offer_cache_version_bump()
        return cursor.rowcount


# --- Suppliers -------------------------------------------------------------------------------

def npwp_normalise(npwp: str) -> str:
    """The 16-digit NPWP DJP uses today; a legacy 15-digit NPWP gets its leading 0.
    Accepts dots, dashes and spaces. Raises InvalidNpwp."""
    info = parse_npwp(str(npwp or ""))
    if not info.valid or not info.npwp16:
        detail = "; ".join(issue.message for issue in info.errors) or "NPWP is not valid."
        raise InvalidNpwp(detail, extra={"field": "npwp", "value": str(npwp or "")})
    return info.npwp16


@transaction.atomic
def supplier_create(*, legal_name: str, npwp: str, contact_name: str = "", contact_email: str = "",
                    contact_phone: str = "", status: str = SupplierStatus.PENDING) -> Supplier:
    legal_name = (legal_name or "").strip()
    if not legal_name:
        raise InvalidField("The legal name is required.", extra={"field": "legal_name"})
    return Supplier.objects.create(
        legal_name=legal_name, npwp=npwp_normalise(npwp), contact_name=contact_name.strip(),
        contact_email=contact_email.strip(), contact_phone=contact_phone.strip(), status=status,
    )


SUPPLIER_UPDATABLE = {"legal_name", "npwp", "contact_name", "contact_email", "contact_phone", "status"}


@transaction.atomic
def supplier_update(*, supplier: Supplier, data: Mapping[str, Any]) -> Supplier:
    unknown = set(data) - SUPPLIER_UPDATABLE
    if unknown:
        raise InvalidField(f"Cannot change: {', '.join(sorted(unknown))}.", extra={"fields": sorted(unknown)})
    # From the row: an admin form has already set the new values on `supplier`.
    old_status = Supplier.objects.filter(pk=supplier.pk).values_list("status", flat=True).first()
    for name, value in data.items():
        setattr(supplier, name, npwp_normalise(value) if name == "npwp" else value)
    supplier.save()
    if supplier.status != old_status:  # only an active supplier's offers can be bought
        part_best_offer_refresh(supplier_id=supplier.pk)
    return supplier


@transaction.atomic
def supplier_delete(*, supplier: Supplier) -> None:
    """Delete a supplier with its offers (protected while any stock has a ledger), refreshing
    the best offers of every part it offered."""
    offers = offer_lock(offer_ids=Offer.objects.filter(supplier=supplier).values_list("pk", flat=True))
    supplier.delete()
    part_best_offer_refresh(part_ids={offer.part_id for offer in offers.values()})


# --- Warehouses ------------------------------------------------------------------------------

def _warehouse_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not code or len(code) > 20:
        raise InvalidField("A warehouse code has 1–20 characters, e.g. JKT1.", extra={"field": "code"})
    return code


@transaction.atomic
def warehouse_create(*, supplier: Supplier, code: str, name: str, province: str, city: str, district: str,
                     postal_code: str, address_line: str = "", is_active: bool = True) -> Warehouse:
    """Raises UnknownArea naming the field (province, city, district, postal_code) that is wrong."""
    code = _warehouse_code(code)
    area = area_resolve(province=province, city=city, district=district, postal_code=postal_code)
    if Warehouse.objects.filter(supplier=supplier, code=code).exists():
        raise DuplicateWarehouseCode(extra={"field": "code", "value": code})
    return Warehouse.objects.create(
        supplier=supplier, code=code, name=(name or code).strip(), province=area.province, city=area.city,
        district=area.district, postal_code=area.postal_code, region_code=area.region_code,
        address_line=(address_line or "").strip(), is_active=is_active,
    )


WAREHOUSE_UPDATABLE = {"code", "name", "province", "city", "district", "postal_code", "address_line", "is_active"}
AREA_FIELDS = ("province", "city", "district", "postal_code")


@transaction.atomic
def warehouse_update(*, warehouse: Warehouse, data: Mapping[str, Any]) -> Warehouse:
    unknown = set(data) - WAREHOUSE_UPDATABLE
    if unknown:
        raise InvalidField(f"Cannot change: {', '.join(sorted(unknown))}.", extra={"fields": sorted(unknown)})
    if "code" in data:
        code = _warehouse_code(data["code"])
        if Warehouse.objects.filter(supplier_id=warehouse.supplier_id, code=code).exclude(pk=warehouse.pk).exists():
            raise DuplicateWarehouseCode(extra={"field": "code", "value": code})
        warehouse.code = code
    if any(name in data for name in AREA_FIELDS):
        area = area_resolve(**{name: data.get(name, getattr(warehouse, name)) for name in AREA_FIELDS})
        warehouse.province, warehouse.city, warehouse.district = area.province, area.city, area.district
        warehouse.postal_code, warehouse.region_code = area.postal_code, area.region_code
    was_active = Warehouse.objects.filter(pk=warehouse.pk).values_list("is_active", flat=True).first()
    for name in ("name", "address_line", "is_active"):
        if name in data:
            setattr(warehouse, name, data[name])
    warehouse.save()
    if warehouse.is_active != was_active:  # only active warehouses ship: their stock counts as available
        part_best_offer_refresh(warehouse_id=warehouse.pk)
    return warehouse


# --- Offers ----------------------------------------------------------------------------------

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
                            percent: Decimal | int | str) -> int:
    """Change the prices of the supplier's offers among `offer_ids` by `percent`; one
    `offer.price_changed` event per offer whose price really changed. Returns that count."""
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
    part_best_offer_refresh(offer_ids=[offer.pk for offer, _ in changed])
    return len(changed)


# --- Stock -------------------------------------------------------------------------------------

@transaction.atomic
def stock_ensure(*, offer: Offer, warehouse: Warehouse) -> Stock:
    """The stock row of an offer in a warehouse, created empty (0/0: no ledger row) if missing."""
    if offer.supplier_id != warehouse.supplier_id:
        raise SupplierMismatch(extra={"offer": offer.pk, "warehouse": warehouse.pk})
    stock, _ = Stock.objects.get_or_create(offer=offer, warehouse=warehouse)
    return stock


ADJUST_REASONS = {MovementReason.ADJUSTMENT, MovementReason.RETURN, MovementReason.IMPORT}


def _adjust_reason_check(reason: str) -> None:
    if reason not in ADJUST_REASONS:
        raise InvalidField(f"Reason must be one of {', '.join(sorted(ADJUST_REASONS))}.", extra={"field": "reason"})


@transaction.atomic
def stock_adjust(*, stock: Stock | int, delta: int, reason: str = MovementReason.ADJUSTMENT, actor: Any = None,
                 reference: str = "") -> Stock:
    """Add `delta` (may be negative) to on_hand; refuses to go below what is reserved."""
    if not _is_int(delta):
        raise InvalidQuantity(extra={"field": "delta"})
    _adjust_reason_check(reason)
    locked = _locked_stock(stock)
    if locked.on_hand + delta < locked.reserved:
        raise InsufficientStock(
            f"On hand would be {locked.on_hand + delta}, below the {locked.reserved} reserved.",
            extra={"stock": locked.pk, "on_hand": locked.on_hand, "reserved": locked.reserved},
        )
    _stock_apply(changes=[_StockChange(stock=locked, on_hand_delta=delta, reserved_delta=0)], reason=reason,
                 actor=actor, reference=reference)
    return locked


@transaction.atomic
def stock_set_on_hand(*, stock: Stock | int, on_hand: int, actor: Any = None, reference: str = "",
                      reason: str = MovementReason.ADJUSTMENT) -> Stock:
    """Set on_hand to a counted number; the ledger gets the difference. Refuses to go below reserved."""
    if not _is_int(on_hand) or on_hand < 0:
        raise InvalidQuantity("On hand is a whole number ≥ 0.", extra={"field": "on_hand"})
    _adjust_reason_check(reason)
    locked = _locked_stock(stock)
    if on_hand < locked.reserved:
        raise InsufficientStock(
            f"{locked.reserved} are reserved; on hand cannot be set to {on_hand}.",
            extra={"stock": locked.pk, "on_hand": locked.on_hand, "reserved": locked.reserved},
        )
    delta = on_hand - locked.on_hand
    _stock_apply(changes=[_StockChange(stock=locked, on_hand_delta=delta, reserved_delta=0)], reason=reason,
                 actor=actor, reference=reference)
    return locked


# A line is (stock or stock id or (offer, warehouse), quantity).
StockKey = Stock | int | tuple[Offer | int, Warehouse | int]
StockLine = tuple[StockKey, int]


def _line_quantities(lines: Iterable[StockLine]) -> dict[int, int]:
    """Stock id → total quantity (a stock named twice is summed)."""
    by_pair: dict[tuple[int, int], int] = {}
    by_id: dict[int, int] = {}
    for key, qty in lines:
        if not _is_int(qty) or qty <= 0:
            raise InvalidQuantity(extra={"field": "quantity", "value": str(qty)})
        if isinstance(key, tuple):
            offer, warehouse = key
            pair = (getattr(offer, "pk", offer), getattr(warehouse, "pk", warehouse))
            by_pair[pair] = by_pair.get(pair, 0) + qty
        else:
            stock_id = getattr(key, "pk", key)
            by_id[stock_id] = by_id.get(stock_id, 0) + qty
    if by_pair:
        found: dict[tuple[int, int], int] = {}
        offer_ids = {o for o, _ in by_pair}
        for pk, offer_id, warehouse_id in Stock.objects.filter(offer_id__in=offer_ids).values_list(
                "pk", "offer_id", "warehouse_id"):
            found[(offer_id, warehouse_id)] = pk
        for pair, qty in by_pair.items():
            if pair not in found:
                raise UnknownStock(extra={"offer": pair[0], "warehouse": pair[1]})
            by_id[found[pair]] = by_id.get(found[pair], 0) + qty
    if not by_id:
        raise InvalidQuantity("No lines.", extra={"field": "lines"})
    return by_id


def _stock_move_lines(*, lines: Iterable[StockLine], on_hand_sign: int, reserved_sign: int, reason: str,
                      actor: Any, reference: str) -> list[Stock]:
    quantities = _line_quantities(lines)
    locked = stock_lock(stock_ids=quantities)  # pk order: no deadlock with any other locker
    missing = sorted(set(quantities) - set(locked))
    if missing:
        raise UnknownStock(extra={"stocks": missing})
    return _stock_apply(changes=[
        _StockChange(stock=locked[stock_id], on_hand_delta=on_hand_sign * qty, reserved_delta=reserved_sign * qty)
        for stock_id, qty in sorted(quantities.items())
    ], reason=reason, actor=actor, reference=reference)


@transaction.atomic
def stock_reserve(*, lines: Iterable[StockLine], reference: str = "", actor: Any = None) -> list[Stock]:
    """Reserve every line or none: each row is locked (pk order) and updated only WHERE
    on_hand − reserved ≥ qty, so concurrent reservations never oversell."""
    return _stock_move_lines(lines=lines, on_hand_sign=0, reserved_sign=1, reason=MovementReason.RESERVATION,
                             actor=actor, reference=reference)


@transaction.atomic
def stock_release(*, lines: Iterable[StockLine], reference: str = "", actor: Any = None) -> list[Stock]:
    """Give reserved units back (order cancelled or expired). All or nothing."""
    return _stock_move_lines(lines=lines, on_hand_sign=0, reserved_sign=-1, reason=MovementReason.RELEASE,
                             actor=actor, reference=reference)


@transaction.atomic
def stock_commit_shipment(*, lines: Iterable[StockLine], reference: str = "", actor: Any = None) -> list[Stock]:
    """Reserved units leave the warehouse: on_hand −= qty and reserved −= qty. All or nothing."""
    return _stock_move_lines(lines=lines, on_hand_sign=-1, reserved_sign=-1, reason=MovementReason.SHIPMENT,
                             actor=actor, reference=reference)


@transaction.atomic
def stock_return(*, stock: Stock | int, quantity: int, reference: str = "", actor: Any = None) -> Stock:
    """Returned units come back on hand."""
    if not _is_int(quantity) or quantity <= 0:
        raise InvalidQuantity(extra={"field": "quantity"})
    return stock_adjust(stock=stock, delta=quantity, reason=MovementReason.RETURN, actor=actor,
                        reference=reference)


# --- Bulk stock (API, feeds) -------------------------------------------------------------------

@dataclass
class StockBulkResult:
    rows: int = 0
    changed: int = 0
    created: int = 0
    changed_stock_ids: list[int] = field(default_factory=list)


def _row_error(index: int, name: str | None, code: str, detail: str) -> dict[str, str]:
    return {"field": f"rows.{index}.{name}" if name else f"rows.{index}", "code": code, "detail": detail}


@transaction.atomic
def stock_bulk_set(*, supplier: Supplier, rows: Sequence[Mapping[str, Any]], actor: Any = None,
                   reference: str = "", reason: str = MovementReason.IMPORT) -> StockBulkResult:
    """Set on_hand for up to 10,000 {sku, warehouse (code), on_hand} rows of one supplier.

    All or nothing: every row is validated first (unknown SKU or warehouse, negative or
    non-integer count, the same sku+warehouse twice, below reserved) and any error raises
    StockRowsInvalid with per-row errors before anything is written. Then one set-based
    UPDATE, one ledger INSERT for the rows whose count really changed, and one
    `stock.changed` event per changed row.
    """
    if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)):
        raise StockRowsInvalid([{"field": "rows", "code": "invalid", "detail": "rows must be a list."}])
    if len(rows) > STOCK_BULK_MAX_ROWS:
        raise StockRowsInvalid([{"field": "rows", "code": "too_many_rows",
                                 "detail": f"At most {STOCK_BULK_MAX_ROWS} rows per request."}])
    errors: list[dict[str, str]] = []
    parsed: list[tuple[int, str, str, int]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            errors.append(_row_error(index, None, "invalid", "Each row is an object."))
            continue
        sku, code, on_hand = row.get("sku"), row.get("warehouse"), row.get("on_hand")
        ok = True
        if not isinstance(sku, str) or not sku.strip():
            errors.append(_row_error(index, "sku", "required", "sku is required."))
            ok = False
        elif "\x00" in sku:  # PostgreSQL text cannot hold NUL: the lookup would fail, a 500
            errors.append(_row_error(index, "sku", "nul_character", "sku cannot contain the NUL character."))
            ok = False
        if not isinstance(code, str) or not code.strip():
            errors.append(_row_error(index, "warehouse", "required", "warehouse (its code) is required."))
            ok = False
        elif "\x00" in code:
            errors.append(_row_error(index, "warehouse", "nul_character",
                                     "warehouse cannot contain the NUL character."))
            ok = False
        if not _is_int(on_hand):
            errors.append(_row_error(index, "on_hand", "invalid_integer", "on_hand must be a whole number."))
            ok = False
        elif on_hand < 0:
            errors.append(_row_error(index, "on_hand", "negative", "on_hand cannot be negative."))
            ok = False
        elif on_hand > offer_limits.STOCK_MAX:  # the column's bound: PostgreSQL would refuse it, a 500
            errors.append(_row_error(index, "on_hand", "too_large",
                                     f"on_hand cannot be more than {offer_limits.STOCK_MAX}."))
            ok = False
        if ok:
            parsed.append((index, sku.strip(), code.strip().upper(), on_hand))

    offers = dict(Offer.objects.filter(supplier=supplier, sku__in={p[1] for p in parsed})
                  .values_list("sku", "pk"))
    warehouses = dict(Warehouse.objects.filter(supplier=supplier, code__in={p[2] for p in parsed})
                      .values_list("code", "pk"))
    targets: dict[tuple[int, int], tuple[int, int]] = {}  # (offer, warehouse) → (row index, on_hand)
    for index, sku, code, on_hand in parsed:
        offer_id, warehouse_id = offers.get(sku), warehouses.get(code)
        if offer_id is None:
            errors.append(_row_error(index, "sku", "unknown_sku", f"No offer with SKU {sku!r}."))
        if warehouse_id is None:
            errors.append(_row_error(index, "warehouse", "unknown_warehouse", f"No warehouse with code {code!r}."))
        if offer_id is None or warehouse_id is None:
            continue
        pair = (offer_id, warehouse_id)
        if pair in targets:
            errors.append(_row_error(index, None, "duplicate_row",
                                     f"SKU {sku!r} in {code} is already in row {targets[pair][0]}."))
            continue
        targets[pair] = (index, on_hand)
    if errors:
        raise StockRowsInvalid(sorted(errors, key=lambda e: _error_sort_key(e["field"])))

    result = StockBulkResult(rows=len(rows))
    if not targets:
        return result
    offer_ids = sorted({o for o, _ in targets})
    warehouse_ids = sorted({w for _, w in targets})
    # Missing rows are created empty (0/0 needs no ledger row); only those that will hold stock.
    existing = set(Stock.objects.filter(offer_id__in=offer_ids, warehouse_id__in=warehouse_ids)
                   .values_list("offer_id", "warehouse_id"))
    new_rows = [Stock(offer_id=o, warehouse_id=w) for (o, w), (_, qty) in targets.items()
                if (o, w) not in existing and qty > 0]
    if new_rows:
        Stock.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=2000)
        result.created = len(new_rows)
    # Lock every row of these offers × warehouses (a superset of the pairs, all this supplier's)
    # in pk order, as every other stock writer does.
    locked = stock_lock_queryset(Stock.objects.filter(offer_id__in=offer_ids, warehouse_id__in=warehouse_ids))
    changes: list[tuple[Stock, int]] = []
    for stock in locked:
        target = targets.get((stock.offer_id, stock.warehouse_id))
        if target is None:
            continue
        index, on_hand = target
        if on_hand < stock.reserved:
            errors.append(_row_error(index, "on_hand", "insufficient_stock",
                                     f"{stock.reserved} are reserved; on hand cannot be {on_hand}."))
        elif on_hand != stock.on_hand:
            changes.append((stock, on_hand))
    if errors:
        raise StockRowsInvalid(sorted(errors, key=lambda e: _error_sort_key(e["field"])))
    if not changes:
        return result

    _stock_apply(changes=[_StockChange(stock=stock, on_hand_delta=on_hand - stock.on_hand, reserved_delta=0)
                          for stock, on_hand in changes], reason=reason, actor=actor, reference=reference)
    result.changed = len(changes)
    result.changed_stock_ids = [s.pk for s, _ in changes]
    return result


def _error_sort_key(field_name: str) -> tuple[int, str]:
    parts = field_name.split(".")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1, field_name)


# --- API clients -------------------------------------------------------------------------------

@transaction.atomic
def supplier_api_client_bind(*, supplier_id: Any, api_client: ApiClient) -> SupplierApiClient:
    """Let `api_client` act for the supplier (its keys then see and change only that supplier's
    offers and stock). Binding it again to the same supplier changes nothing; a client acts for
    one supplier only, so another supplier is refused rather than silently moved.

    Whether the client already acts for a workshop is not checked here: suppliers may not import
    workshops (see orders/management/commands/api_key_issue.py, which checks both)."""
    try:
        supplier = Supplier.objects.get(pk=int(supplier_id))
    except (Supplier.DoesNotExist, TypeError, ValueError) as exc:
        raise UnknownSupplier(f"No supplier with id {supplier_id}.", extra={"supplier": str(supplier_id)}) from exc
    binding = supplier_api_client_binding_lock_or_create(api_client_id=api_client.pk, supplier=supplier)
    if binding.supplier_id != supplier.pk:
        raise ApiClientBoundElsewhere(
            f"API client {api_client.name} already acts for supplier {binding.supplier_id}.",
            extra={"supplier": binding.supplier_id})
    return binding
