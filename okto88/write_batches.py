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


# The INSERT of each model and row count up to ROWS_INSERT_MAX, built once per process (None: a
# field of the model has its own placeholder). Larger batches go to bulk_create, which also
# splits a batch by the database's limit on parameters.
_INSERT_SQL: dict[tuple[type, int], tuple[str, list, list] | None] = {}
ROWS_INSERT_MAX = 16


def rows_insert(objs: Sequence[M]) -> list[M]:
    """New rows of one model (no pk set yet) in one INSERT, as QuerySet.bulk_create writes them:
    the same columns and values (each field's pre_save with add=True, then its database
    preparation: defaults, auto_now(_add), JSON), the pk and the database-default columns read
    back with RETURNING, the instances then saved (`_state`). Without Django's insert compiler,
    which cost ~0.3-0.7 ms of Python per INSERT on the placement's path (bench/README.md §5): the
    statement's text is built once per model. Anything bulk_create handles and this does not (a
    pk already set, an expression as a value, a field with its own placeholder, more than
    ROWS_INSERT_MAX rows) goes to bulk_create, so the result is the same either way. Inside a
    transaction (the caller's)."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    opts = model._meta
    if len(objs) > ROWS_INSERT_MAX or opts.parents or any(type(o) is not model or o.pk is not None for o in objs):
        return model._default_manager.bulk_create(objs)
    key = (model, len(objs))
    if key not in _INSERT_SQL:
        _INSERT_SQL[key] = _insert_sql(model, len(objs))
    built = _INSERT_SQL[key]
    if built is None:
        return model._default_manager.bulk_create(objs)
    sql, fields, returning = built
    params: list = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
        for field in fields:
            value = field.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression"):  # F(), Now(), DatabaseDefault(): the compiler's job
                return model._default_manager.bulk_create(objs)
            params.append(field.get_db_prep_save(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for obj, row in zip(objs, rows, strict=True):
        for value, field in zip(row, returning, strict=True):
            setattr(obj, field.attname, value)
        obj._state.adding, obj._state.db = False, connection.alias
    return objs


def _insert_sql(model: type, count: int) -> tuple[str, list, list] | None:
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.generated and not isinstance(f, AutoField)]
    if any(hasattr(f, "get_placeholder") for f in fields):
        return None
    returning = list(opts.db_returning_fields)
    qn = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
           f"VALUES {', '.join([row] * count)} RETURNING {', '.join(qn(f.column) for f in returning)}")
    return sql, fields, returning
