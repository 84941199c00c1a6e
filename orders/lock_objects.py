"""Row locks for orders and carts. Must run inside a transaction.

Lock order across the whole placement: workshop row (workshops.lock_objects) → cart → stock
rows in pk order (suppliers.lock_objects, inside stock_reserve). Everything after placement
locks the order row first, then stock rows in pk order. Nothing locks in the other direction.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

from orders.models import Cart, Order, StepRun, StepStatus, SupplierOrder
from suppliers.models import Supplier
from workshops.lock_objects import workshop_lock
from workshops.models import Workshop


def order_lock(*, order_id: int, **annotations: Any) -> Order:
    """Lock one order row (FOR UPDATE) and return it fresh, with `annotations` read in the same
    query (e.g. whether a workflow step already succeeded)."""
    if not annotations:
        return order_lock_step_done(order_id=order_id, step=None)
    return Order.objects.select_for_update(of=("self",)).annotate(**annotations).get(pk=order_id)


def supplier_order_lock(*, supplier_order_id: int) -> SupplierOrder:
    """Lock one supplier order row (FOR UPDATE) and return it fresh; after its order's lock."""
    return SupplierOrder.objects.select_for_update().get(pk=supplier_order_id)


# --- a workflow step's locks, as plain SQL ------------------------------------------------
#
# A step locks its order (and a supplier order's step the supplier order) and learns in the
# same statement whether it already succeeded: the same SELECT … FOR UPDATE OF … the ORM would
# send, written once here, so the hot path does not build and compile a queryset per attempt.
# The rows become model instances as Django's own query would make them (Model.from_db, with
# the fields' database converters: the JSON columns are parsed).


@cache
def _columns(model: type[Model]) -> tuple[str, tuple[str, ...]]:
    """A model's concrete columns (qualified by its table, for a SELECT list) and attnames."""
    fields = model._meta.concrete_fields
    table = model._meta.db_table
    return ", ".join(f'{table}."{f.column}"' for f in fields), tuple(f.attname for f in fields)


@cache
def _converters(model: type[Model]) -> tuple[tuple[int, Any, list], ...]:
    converters = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if functions:
            converters.append((index, column, functions))
    return tuple(converters)


def _instance(model: type[Model], values) -> Model:
    values = list(values)
    for index, column, functions in _converters(model):
        for function in functions:
            values[index] = function(values[index], column, connection)
    return model.from_db(connection.alias, _columns(model)[1], values)


def _fetch_locked(sql: str, params: list) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def order_lock_step_done(*, order_id: int, step: str | None) -> Order:
    """order_lock for the order's own workflow step: the order row locked and fresh, with
    `step_done` — whether a `succeeded` run of `step` of the order (not of a supplier order of
    it) exists — read in the same statement."""
    columns, names = _columns(Order)
    if step is None:  # order_lock: the row alone
        row = _fetch_locked(f"SELECT {columns} FROM orders_order WHERE orders_order.id = %s"  # noqa: S608
                            " FOR UPDATE OF orders_order", [order_id])
    else:
        row = _fetch_locked(
            f"SELECT {columns}, EXISTS (SELECT 1 FROM orders_steprun r WHERE r.order_id = orders_order.id"  # noqa: S608
            " AND r.supplier_order_id IS NULL AND r.step = %s AND r.status = %s)"
            " FROM orders_order WHERE orders_order.id = %s FOR UPDATE OF orders_order",
            [step, StepStatus.SUCCEEDED, order_id])
    if row is None:
        raise Order.DoesNotExist("Order matching query does not exist.")
    order = _instance(Order, row[:len(names)])
    if step is not None:
        order.step_done = row[len(names)]
    return order


_UNITS_TO_SHIP = ("ARRAY(SELECT ARRAY[l.stock_id, l.quantity - l.rejected_quantity] FROM orders_orderline l"
                  " WHERE l.supplier_order_id = orders_supplierorder.id AND l.quantity > l.rejected_quantity), ")


def supplier_order_lock_step_done(*, supplier_order_id: int, step: str, with_units: bool = False) -> SupplierOrder:
    """A supplier order's row for its workflow step, locked (after its order's lock):
    fresh, with its supplier, and `step_done` — whether a `succeeded` run of
    `step` of it exists — in one statement. `with_units`: also `units_to_ship`, its lines'
    accepted units as (stock id, quantity) pairs, the units that are not rejected (lines with
    none left out)."""
    columns, names = _columns(SupplierOrder)
    supplier_columns, supplier_names = _columns(Supplier)
    units = _UNITS_TO_SHIP if with_units else ""
    row = _fetch_locked(
        f"SELECT {columns}, {supplier_columns}, {units}EXISTS (SELECT 1 FROM {StepRun._meta.db_table} r"  # noqa: S608
        " WHERE r.supplier_order_id = orders_supplierorder.id AND r.step = %s AND r.status = %s)"
        f" FROM orders_supplierorder JOIN {Supplier._meta.db_table}"
        f" ON {Supplier._meta.db_table}.id = orders_supplierorder.supplier_id"
        " WHERE orders_supplierorder.id = %s FOR UPDATE OF orders_supplierorder",
        [step, StepStatus.SUCCEEDED, supplier_order_id])
    if row is None:
        raise SupplierOrder.DoesNotExist("SupplierOrder matching query does not exist.")
    supplier_order = _instance(SupplierOrder, row[:len(names)])
    SupplierOrder.supplier.field.set_cached_value(
        supplier_order, _instance(Supplier, row[len(names):len(names) + len(supplier_names)]))
    supplier_order.step_done = row[-1]
    if with_units:
        supplier_order.units_to_ship = [(stock_id, quantity) for stock_id, quantity in row[-2]]
    return supplier_order


def supplier_orders_lock(*, supplier_orders: QuerySet[SupplierOrder]) -> list[SupplierOrder]:
    """Lock the rows of `supplier_orders` (FOR UPDATE of the supplier order rows only, in pk
    order, after their order's lock) and return them fresh, with the queryset's annotations."""
    return list(supplier_orders.select_for_update(of=("self",)).order_by("pk"))


def workshop_cart_lock(*, workshop_id: int) -> tuple[Workshop, Cart]:
    """The workshop row and then its cart (the placement's lock order), locked in one statement
    and returned fresh; the cart is created first if missing. Plain SQL, as the steps' locks
    above: the SELECT … FOR UPDATE OF both that the ORM's select_related query sent."""
    workshop_columns, workshop_names = _columns(Workshop)
    cart_columns, _cart_names = _columns(Cart)
    workshops, carts = Workshop._meta.db_table, Cart._meta.db_table
    row = _fetch_locked(
        f"SELECT {workshop_columns}, {cart_columns} FROM {workshops}"  # noqa: S608
        f" JOIN {carts} ON {carts}.workshop_id = {workshops}.id"
        f" WHERE {workshops}.id = %s FOR UPDATE OF {workshops}, {carts}", [workshop_id])
    if row is None:
        return workshop_lock(workshop_id=workshop_id), cart_lock(workshop_id=workshop_id)
    workshop = _instance(Workshop, row[:len(workshop_names)])
    cart = _instance(Cart, row[len(workshop_names):])
    # Both directions cached, as select_related("cart") leaves them.
    Cart.workshop.field.set_cached_value(cart, workshop)
    Workshop.cart.related.set_cached_value(workshop, cart)
    return workshop, cart


def cart_lock(*, workshop_id: int) -> Cart:
    """The workshop's cart, created if missing, locked (FOR UPDATE)."""
    cart = Cart.objects.select_for_update(of=("self",)).filter(workshop_id=workshop_id).first()
    if cart is None:
        Cart.objects.get_or_create(workshop_id=workshop_id)
        cart = Cart.objects.select_for_update(of=("self",)).get(workshop_id=workshop_id)
    return cart
