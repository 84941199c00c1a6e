"""Writes collected inside a block and written together when it ends (one INSERT, not one per
service): the mechanics shared by the outbox's and the order timeline's batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import connection
from django.db.models import AutoField, Model

Row = TypeVar("Row")
M = TypeVar("M", bound=Model)


@contextmanager
def rows_collected(batch: ContextVar[list[Row] | None], write: Callable[[list[Row]], object]) -> Iterator[None]:
    """Inside the block `batch` holds a list that the writers append their rows to; when the block
    ends without an error the rows are passed to `write` once, in the order they came. A nested
    block adds to the outermost one; an error drops the rows with the caller's transaction."""
    if batch.get() is not None:
        yield
        return
    rows: list[Row] = []
    token = batch.set(rows)
    try:
        yield
    finally:
        batch.reset(token)
    if rows:
        write(rows)


# The INSERT of each model (and number of rows), built once per process.
_INSERT_SQL: dict[tuple[type, int], tuple[str, list, list]] = {}


def insert_fields(model: type[Model]) -> list:
    """The fields QuerySet.bulk_create writes for new rows of `model` (no pk set), in its order."""
    fields = [f for f in model._meta.concrete_fields if not f.generated and not isinstance(f, AutoField)]
    if any(hasattr(f, "get_placeholder") for f in fields):
        raise NotImplementedError(f"a field of {model._meta.label} has its own placeholder")
    return fields


def insert_values(objs: Sequence[Model], fields: Sequence, *, related: bool = True) -> list | None:
    """The values bulk_create would send for `objs` (rows, one after the other): each field's
    pre_save with add=True (defaults, auto_now(_add)), then its database preparation (JSON).
    None when bulk_create must write them itself: a pk already set, an expression as a value.
    `related=False` skips bulk_create's check of related instances (saved, their ids copied): for
    a statement that inserts them too and takes the ids from its own RETURNING."""
    params: list = []
    for obj in objs:
        if obj.pk is not None:
            return None
        if related:
            obj._prepare_related_fields_for_save(operation_name="bulk_create")
        for field in fields:
            value = field.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression"):  # F(), Now(), DatabaseDefault(): the compiler's job
                return None
            params.append(field.get_db_prep_save(value, connection))
    return params


def rows_saved(objs: Sequence[Model], rows: Sequence[Sequence], returning: Sequence) -> None:
    """The values a RETURNING read back (the pk, the database-default columns) onto `objs`,
    now saved rows of the database, as bulk_create leaves them."""
    for obj, row in zip(objs, rows, strict=True):
        for value, field in zip(row, returning, strict=True):
            setattr(obj, field.attname, value)
        obj._state.adding, obj._state.db = False, connection.alias


def rows_insert(objs: Sequence[M]) -> list[M]:
    """New rows of one model (no pk set yet) in one INSERT, as QuerySet.bulk_create writes them:
    the same columns and values (insert_values), the pk and the database-default columns read
    back with RETURNING, the instances then saved (`_state`). Without Django's insert compiler,
    which cost ~0.3-0.7 ms of Python per INSERT on the placement's path (bench/README.md §5): the
    statement's text is built once per model. What bulk_create handles and this does not (a pk
    already set, an expression as a value, an inherited model) goes to bulk_create, so the result
    is the same either way. Inside the caller's transaction, or on its own."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    if any(type(obj) is not model for obj in objs) or model._meta.parents:
        return model._default_manager.bulk_create(objs)
    key = (model, len(objs))
    built = _INSERT_SQL.get(key)
    if built is None:
        built = _insert_sql(model, len(objs))
        if len(objs) <= 16:
            _INSERT_SQL[key] = built
    sql, fields, returning = built
    params = insert_values(objs, fields)
    if params is None:
        return model._default_manager.bulk_create(objs)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows_saved(objs, rows, returning)
    return objs


def _insert_sql(model: type[Model], count: int) -> tuple[str, list, list]:
    opts = model._meta
    fields, returning = insert_fields(model), list(opts.db_returning_fields)
    qn = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
           f"VALUES {', '.join([row] * count)} RETURNING {', '.join(qn(f.column) for f in returning)}")
    return sql, fields, returning
