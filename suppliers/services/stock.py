"""Stock with its ledger: ensure, adjust, set on hand, reserve, release, commit a shipment,
return, and bulk set (API, feeds).

Stock rule: every change of a Stock row happens here, under a row lock taken by
lock_objects (pk order), together with a StockMovement row in the same transaction, so
on_hand == sum(on_hand_delta) and reserved == sum(reserved_delta) always hold. The database
constraints (0 ≤ reserved ≤ on_hand) are the last line of defence; the services refuse
first with a domain error. `stock.changed` is written to the outbox in the same transaction,
only when something really changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from okto88.audit import AuditAction, audit_record
from okto88.errors import ApplicationError, InvalidField, InvalidQuantity
from okto88.models import User
from okto88.selectors import actor_person
from okto88.services import NewOutboxEvent, outbox_events_write
from suppliers import offer_limits
from suppliers.errors import InsufficientStock, StockRowsInvalid, SupplierMismatch, UnknownStock
from suppliers.events import stock_changed_payload
from suppliers.lock_objects import stock_lock, stock_lock_queryset
from suppliers.models import MovementReason, Offer, Stock, StockMovement, Supplier, Warehouse
from suppliers.services.best_offers import part_best_offer_refresh

STOCK_BULK_MAX_ROWS = 10_000


# --- Helpers ---------------------------------------------------------------------------------


def _actor_reference(actor: Any, reference: str) -> str:
    if reference or actor is None or isinstance(actor, User):
        return reference[:120]
    return str(actor)[:120]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _stock_payload(stock: Stock, *, supplier_id: int) -> dict[str, int]:
    return stock_changed_payload(stock_id=stock.pk, offer_id=stock.offer_id, supplier_id=supplier_id,
                                 warehouse_id=stock.warehouse_id, on_hand=stock.on_hand, reserved=stock.reserved)


@dataclass(frozen=True)
class _StockChange:
    stock: Stock  # locked by this transaction, as read under the lock
    on_hand_delta: int
    reserved_delta: int


# Conditional on every row still satisfying 0 ≤ reserved ≤ on_hand after its change, so even
# without the lock it could never oversell (the CHECK constraints are the last line). Returns
# each row's supplier (its offer's) for the `stock.changed` payload: a join here, not a query per row.
_STOCK_APPLY_SQL = """
UPDATE suppliers_stock AS s
SET on_hand = s.on_hand + v.on_hand_delta, reserved = s.reserved + v.reserved_delta, updated_at = now()
FROM unnest(%s::bigint[], %s::integer[], %s::integer[]) AS v(id, on_hand_delta, reserved_delta),
     suppliers_offer AS o
WHERE s.id = v.id AND o.id = s.offer_id AND s.reserved + v.reserved_delta >= 0
  AND s.on_hand + v.on_hand_delta >= s.reserved + v.reserved_delta
RETURNING s.id, o.supplier_id
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
        written = dict(cursor.fetchall())  # stock id → supplier id
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
    _stock_written(stocks=[c.stock for c in changes], suppliers=written)
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



# --- Stock -------------------------------------------------------------------------------------

@transaction.atomic
def stock_ensure(*, offer: Offer, warehouse: Warehouse) -> Stock:
    """The stock row of an offer in a warehouse, created empty (0/0: no ledger row) if missing."""
    if offer.supplier_id != warehouse.supplier_id:
        raise SupplierMismatch(extra={"offer": offer.pk, "warehouse": warehouse.pk})
    stock, _ = Stock.objects.get_or_create(offer=offer, warehouse=warehouse)
    return stock


ADJUST_REASONS = {MovementReason.ADJUSTMENT, MovementReason.RETURN, MovementReason.IMPORT}


def _stock_adjust_audit(*, stock: Stock, before: int, reason: str, actor: Any, reference: str) -> None:
    """A manual adjustment (a person counting or correcting stock) is audited; returns and
    imports are recorded in the ledger only (they follow an order or a feed)."""
    if reason != MovementReason.ADJUSTMENT or stock.on_hand == before:
        return
    supplier_id = Offer.objects.filter(pk=stock.offer_id).values_list("supplier_id", flat=True).first()
    audit_record(action=AuditAction.STOCK_ADJUSTED, actor=actor, target=("suppliers.stock", stock.pk),
                 supplier_id=supplier_id,
                 changes={"offer": stock.offer_id, "warehouse": stock.warehouse_id, "note": reference,
                          "on_hand": {"before": before, "after": stock.on_hand}})


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
    if locked.on_hand + delta > offer_limits.STOCK_MAX:  # the column's bound: PostgreSQL would refuse it, a 500
        raise InvalidQuantity(f"On hand cannot be more than {offer_limits.STOCK_MAX}.", extra={"field": "delta"})
    if locked.on_hand + delta < locked.reserved:
        raise InsufficientStock(
            f"On hand would be {locked.on_hand + delta}, below the {locked.reserved} reserved.",
            extra={"stock": locked.pk, "on_hand": locked.on_hand, "reserved": locked.reserved},
        )
    before = locked.on_hand
    _stock_apply(changes=[_StockChange(stock=locked, on_hand_delta=delta, reserved_delta=0)], reason=reason,
                 actor=actor, reference=reference)
    _stock_adjust_audit(stock=locked, before=before, reason=reason, actor=actor, reference=reference)
    return locked


@transaction.atomic
def stock_set_on_hand(*, stock: Stock | int, on_hand: int, actor: Any = None, reference: str = "",
                      reason: str = MovementReason.ADJUSTMENT) -> Stock:
    """Set on_hand to a counted number; the ledger gets the difference. Refuses to go below reserved."""
    if not _is_int(on_hand) or on_hand < 0:
        raise InvalidQuantity("On hand is a whole number ≥ 0.", extra={"field": "on_hand"})
    if on_hand > offer_limits.STOCK_MAX:  # the column's bound, as stock_bulk_set and the admin's form refuse it
        raise InvalidQuantity(f"On hand cannot be more than {offer_limits.STOCK_MAX}.", extra={"field": "on_hand"})
    _adjust_reason_check(reason)
    locked = _locked_stock(stock)
    if on_hand < locked.reserved:
        raise InsufficientStock(
            f"{locked.reserved} are reserved; on hand cannot be set to {on_hand}.",
            extra={"stock": locked.pk, "on_hand": locked.on_hand, "reserved": locked.reserved},
        )
    delta = on_hand - locked.on_hand
    before = locked.on_hand
    _stock_apply(changes=[_StockChange(stock=locked, on_hand_delta=delta, reserved_delta=0)], reason=reason,
                 actor=actor, reference=reference)
    _stock_adjust_audit(stock=locked, before=before, reason=reason, actor=actor, reference=reference)
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


# Lock, check, write and ledger in one statement, for lines that name their stock rows:
# `locked` takes the rows' locks in pk order (as stock_lock does) and reads them as they are
# after the lock, in the mode an UPDATE takes (NO KEY UPDATE: it does not wait for the key-share
# locks that new order lines referring to the row hold until their transaction commits); the
# UPDATE writes every row or none (`short` names the rows that would break
# 0 ≤ reserved ≤ on_hand, read before the first row is written, so all locks are taken first);
# each written row gets its ledger row. Returns every locked row, before and after.
_STOCK_MOVE_SQL = """
WITH v AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(on_hand)s::integer[], %(reserved)s::integer[])
        AS v(id, on_hand_delta, reserved_delta)
), locked AS MATERIALIZED (
    SELECT s.id, s.offer_id, s.warehouse_id, s.on_hand, s.reserved FROM suppliers_stock s
    WHERE s.id = ANY(%(ids)s::bigint[]) ORDER BY s.id FOR NO KEY UPDATE
), short AS (
    SELECT l.id FROM locked l JOIN v ON v.id = l.id
    WHERE l.reserved + v.reserved_delta < 0 OR l.on_hand + v.on_hand_delta < l.reserved + v.reserved_delta
), written AS (
    UPDATE suppliers_stock AS s
    SET on_hand = s.on_hand + v.on_hand_delta, reserved = s.reserved + v.reserved_delta, updated_at = now()
    FROM v, suppliers_offer AS o
    WHERE s.id = v.id AND o.id = s.offer_id AND NOT EXISTS (SELECT FROM short)
      AND s.reserved + v.reserved_delta >= 0 AND s.on_hand + v.on_hand_delta >= s.reserved + v.reserved_delta
    RETURNING s.id, s.on_hand, s.reserved, s.updated_at, o.supplier_id
), ledger AS (
    INSERT INTO suppliers_stockmovement
        (stock_id, reason, on_hand_delta, reserved_delta, on_hand_after, reserved_after, reference, actor_id,
         created_at)
    SELECT w.id, %(reason)s, v.on_hand_delta, v.reserved_delta, w.on_hand, w.reserved, %(reference)s, %(actor)s,
           %(now)s
    FROM written w JOIN v ON v.id = w.id
)
SELECT l.id, l.offer_id, l.warehouse_id, l.on_hand, l.reserved, w.on_hand, w.reserved, w.updated_at, w.supplier_id
FROM locked l LEFT JOIN written w ON w.id = l.id
ORDER BY l.id
"""


def _stock_move_lines(*, lines: Iterable[StockLine], on_hand_sign: int, reserved_sign: int, reason: str,
                      actor: Any, reference: str) -> list[Stock]:
    """Reserve, release or ship lines with one statement (_STOCK_MOVE_SQL), then their events and
    best offers as _stock_apply writes them. All or nothing: InsufficientStock (the first short
    row in pk order, as read under its lock) or UnknownStock, with nothing written.

    No savepoint: the statement writes every line or none, so a refusal leaves nothing to undo;
    it is raised after the transaction block has ended cleanly, so a caller's transaction goes on
    as it did when a savepoint was rolled back."""
    quantities = sorted(_line_quantities(lines).items())  # refuses bad lines before the transaction
    with transaction.atomic(savepoint=False):
        moved = _stock_move(quantities=quantities, on_hand_sign=on_hand_sign, reserved_sign=reserved_sign,
                            reason=reason, actor=actor, reference=reference)
    if isinstance(moved, ApplicationError):
        raise moved
    return moved


def _stock_move(*, quantities: list[tuple[int, int]], on_hand_sign: int, reserved_sign: int, reason: str,
                actor: Any, reference: str) -> list[Stock] | ApplicationError:
    person, reference = actor_person(actor=actor), _actor_reference(actor, reference)
    with connection.cursor() as cursor:
        cursor.execute(_STOCK_MOVE_SQL, {
            "ids": [stock_id for stock_id, _ in quantities],
            "on_hand": [on_hand_sign * qty for _, qty in quantities],
            "reserved": [reserved_sign * qty for _, qty in quantities],
            "reason": reason, "reference": reference, "actor": person.pk if person else None,
            "now": timezone.now()})
        rows = cursor.fetchall()
    missing = sorted({stock_id for stock_id, _ in quantities} - {row[0] for row in rows})
    if missing:
        return UnknownStock(extra={"stocks": missing})
    unwritten = [row for row in rows if row[5] is None]
    if unwritten:  # nothing was written: the statement writes every row or none
        stock_id, offer_id, warehouse_id, on_hand, reserved = unwritten[0][:5]
        return _insufficient(Stock(pk=stock_id, offer_id=offer_id, warehouse_id=warehouse_id, on_hand=on_hand,
                                  reserved=reserved))
    written = []
    for stock_id, offer_id, warehouse_id, _, _, on_hand, reserved, updated_at, _ in rows:
        stock = Stock(pk=stock_id, offer_id=offer_id, warehouse_id=warehouse_id, on_hand=on_hand, reserved=reserved,
                      updated_at=updated_at)
        stock._state.adding, stock._state.db = False, connection.alias
        written.append(stock)
    _stock_written(stocks=written, suppliers={row[0]: row[8] for row in rows})
    return written


def _stock_written(*, stocks: Sequence[Stock], suppliers: Mapping[int, int]) -> None:
    """After stock rows were written: their `stock.changed` events (one INSERT) and the best
    offers of their parts."""
    outbox_events_write(events=[
        NewOutboxEvent(topic="stock.changed", aggregate_type="stock", aggregate_id=stock.pk,
                       payload=_stock_payload(stock, supplier_id=suppliers[stock.pk]))
        for stock in stocks])
    part_best_offer_refresh(offer_ids={stock.offer_id for stock in stocks})


def stock_reserve(*, lines: Iterable[StockLine], reference: str = "", actor: Any = None) -> list[Stock]:
    """Reserve every line or none: each row is locked (pk order) and updated only WHERE
    on_hand − reserved ≥ qty, so concurrent reservations never oversell."""
    return _stock_move_lines(lines=lines, on_hand_sign=0, reserved_sign=1, reason=MovementReason.RESERVATION,
                             actor=actor, reference=reference)


def stock_release(*, lines: Iterable[StockLine], reference: str = "", actor: Any = None) -> list[Stock]:
    """Give reserved units back (order cancelled or expired). All or nothing."""
    return _stock_move_lines(lines=lines, on_hand_sign=0, reserved_sign=-1, reason=MovementReason.RELEASE,
                             actor=actor, reference=reference)


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
