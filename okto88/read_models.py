"""Checking a read model: its stored rows against the rows its rule gives from scratch.

A read model (a table derived from others, such as suppliers' best offer per part) is kept by
its services in the transaction of every change; bulk paths (demo loaders, feed and catalog
imports, the benchmark generators) write around the services and must call the same refresh.
Each app that owns a read model states its rule once, as SQL that yields the expected rows,
and uses that SQL both to refresh the table and, through `read_model_compare`, to check it.
Reads only. Each read model is compared in one statement, so its stored and its expected rows
come from one snapshot: the check is exact on a live database too (the services refresh a read
model in the transaction of the change it follows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

EXAMPLES = 3
# A search document is a few hundred characters: an example shows its start.
_EXAMPLE_VALUE_CHARS = 80


@dataclass(frozen=True)
class ReadModelDifference:
    kind: str  # "missing": expected, not stored; "extra": stored, not expected; "differs"
    key: dict[str, Any]
    # The differing columns only (all of them for missing/extra rows): name -> value.
    stored: dict[str, Any]
    expected: dict[str, Any]

    def __str__(self) -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        if self.kind == "missing":
            return f"missing {key}: expected {_shown(self.expected)}"
        if self.kind == "extra":
            return f"extra {key}: stored {_shown(self.stored)}"
        return (f"differs {key}: stored {_shown(self.stored, self.expected)}, "
                f"expected {_shown(self.expected, self.stored)}")


@dataclass(frozen=True)
class ReadModelCheck:
    """What a check of one read model found: counts of missing, extra and differing rows
    (over the whole table) and a few examples of each."""

    name: str
    rows: int  # rows the rule expects
    missing: int = 0
    extra: int = 0
    differing: int = 0
    examples: list[ReadModelDifference] = field(default_factory=list)

    @property
    def differences(self) -> int:
        return self.missing + self.extra + self.differing

    @property
    def ok(self) -> bool:
        return self.differences == 0

    def __str__(self) -> str:
        if self.ok:
            return f"{self.name}: OK ({self.rows:,} rows)"
        counts = ", ".join(f"{n:,} {label}" for n, label in ((self.missing, "missing"), (self.extra, "extra"),
                                                             (self.differing, "differing")) if n)
        return (f"{self.name}: {self.differences:,} differences ({counts}) of {self.rows:,} rows; e.g. "
                + "; ".join(str(example) for example in self.examples))


def _shown(values: Mapping[str, Any], other: Mapping[str, Any] | None = None) -> str:
    """The values, each cut to a readable length; a long text that differs from its
    counterpart in `other` is shown from a little before the first character that differs."""

    def short(column: str, value: Any) -> str:
        text = repr(value)
        theirs = repr((other or {}).get(column))
        start = 0
        if isinstance(value, str) and len(text) > _EXAMPLE_VALUE_CHARS:
            same = next((i for i, (a, b) in enumerate(zip(text, theirs, strict=False)) if a != b), 0)
            start = max(same - 20, 0)
        cut = text[start:start + _EXAMPLE_VALUE_CHARS]
        return ("…" if start else "") + cut + ("…" if start + _EXAMPLE_VALUE_CHARS < len(text) else "")

    return "{" + ", ".join(f"{k}: {short(k, v)}" for k, v in values.items()) + "}"


# Rows are compared as jsonb (every column by value, whatever its integer width; a tsvector by
# its canonical text) and returned as json (columns in their order); the windows count each kind
# over the whole table and keep a few examples.
_COMPARE_SQL = """
WITH expected AS MATERIALIZED ({expected}),
stored AS MATERIALIZED ({stored}),
compared AS (
    SELECT CASE WHEN s.{first} IS NULL THEN 'missing' WHEN e.{first} IS NULL THEN 'extra' ELSE 'differs' END
               AS kind,
           to_json(e) AS expected_row, to_json(s) AS stored_row, {order} AS sort_key
    FROM expected e FULL JOIN stored s ON {join}
    WHERE to_jsonb(e) IS DISTINCT FROM to_jsonb(s)
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY kind ORDER BY sort_key) AS n,
           count(*) OVER (PARTITION BY kind) AS total
    FROM compared
)
SELECT 'rows', NULL, NULL, (SELECT count(*) FROM expected)
UNION ALL
SELECT kind, expected_row, stored_row, total FROM ranked WHERE n <= %(examples)s
"""


def read_model_compare(*, name: str, expected_sql: str, stored_sql: str, key: Sequence[str],
                       params: Mapping[str, Any] | None = None, examples: int = EXAMPLES) -> ReadModelCheck:
    """Compare the rows of `stored_sql` (what the read model holds) with those of `expected_sql`
    (its rule, from the source tables), matched on the `key` columns. Both queries must name
    the same columns. Returns the counts of missing, extra and differing rows and up to
    `examples` of each."""
    join = " AND ".join(f"e.{column} = s.{column}" for column in key)
    order = "ARRAY[" + ", ".join(f"coalesce(e.{column}, s.{column})" for column in key) + "]"
    sql = _COMPARE_SQL.format(expected=expected_sql, stored=stored_sql, first=key[0], join=join, order=order)
    with connection.cursor() as cursor:
        cursor.execute(sql, {**(params or {}), "examples": examples})
        fetched = cursor.fetchall()
    counts = {"missing": 0, "extra": 0, "differs": 0}
    rows, found = 0, []
    for kind, expected_row, stored_row, total in fetched:
        if kind == "rows":
            rows = total
            continue
        counts[kind] = total
        expected, stored = _as_dict(expected_row), _as_dict(stored_row)
        key_values = {column: (expected or stored)[column] for column in key}
        if kind == "differs":
            changed = [column for column in expected if column not in key and expected[column] != stored[column]]
            stored, expected = {c: stored[c] for c in changed}, {c: expected[c] for c in changed}
        else:
            stored = {c: v for c, v in stored.items() if c not in key}
            expected = {c: v for c, v in expected.items() if c not in key}
        found.append(ReadModelDifference(kind=kind, key=key_values, stored=stored, expected=expected))
    found.sort(key=lambda d: ("missing", "extra", "differs").index(d.kind))
    return ReadModelCheck(name=name, rows=rows, missing=counts["missing"], extra=counts["extra"],
                          differing=counts["differs"], examples=found)


def _as_dict(row: Any) -> dict[str, Any]:
    if row is None:
        return {}
    return json.loads(row) if isinstance(row, str) else dict(row)
