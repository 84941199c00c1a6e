"""Writes collected inside a block and written together when it ends (one INSERT, not one per
service): the mechanics shared by the outbox's and the order timeline's batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

Row = TypeVar("Row")


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
