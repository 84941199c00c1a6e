"""The floor of bench/order_bench.py: the statements bench/statement_capture.py recorded, replayed
straight with psycopg into a copy of the database taken before they ran.

Units of work are replayed whole and in their recorded order: an order's item is its placement,
then every task and supplier answer that worked on it, by start time; a unit that belongs to no
one order (an outbox relay batch) is an item of its own. `connections` processes (the bench's
two workers: one connection each) take the items in the order they first started, the next
free process the next item. Each statement is sent as Django sent it: client-side bound through
a ClientCursor (Django's cursor) or server-side bound (the outbox's array INSERT); BEGIN, COMMIT
and ROLLBACK where Django's transactions had them.

Ids: the replay's INSERTs take ids from the same sequences, in another order than the recorded
run's (two connections interleave differently), so an id a recorded INSERT … RETURNING gave is
mapped to the one the replayed INSERT returned, and later parameters of the same process that
equal a recorded id are replaced by the replayed one. The bench spreads the sequences 10,000,000
apart first, so an id cannot be mistaken for another table's id (or a quantity). Nothing else
is rewritten."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

ITEM_SHARED = None  # the order id of an item that belongs to no one order


def _restore(value, ids: dict[int, int]):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        # Keep psycopg's typed ints (Int4, Int8: an int subclass) typed: arrays must not mix.
        return type(value)(ids[value]) if value in ids else value
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "__jsonb__":
        from psycopg.types.json import Jsonb

        return Jsonb(value[1], dumps=_as_is)
    if isinstance(value, list | tuple):
        return type(value)(_restore(v, ids) for v in value)
    if isinstance(value, dict):
        return {k: _restore(v, ids) for k, v in value.items()}
    return value


def _as_is(text: str) -> str:
    return text


def _worker(conninfo: str, items, next_item, lock, ready, results) -> None:
    import psycopg

    from bench.statement_capture import BEGIN, COMMIT, ROLLBACK

    timings = []
    errors: list[str] = []
    error_count = 0
    ids: dict[int, int] = {}
    with psycopg.connect(conninfo, autocommit=True, options="-c timezone=UTC") as conn:
        client, server = psycopg.ClientCursor(conn), conn.cursor()
        backend_cpu_before = backend_cpu_seconds(conn.info.backend_pid)
        ready.wait()  # every connection open: the clock starts
        while True:
            with lock:
                index = next_item.value
                next_item.value += 1
            if index >= len(items):
                break
            order_id, groups = items[index]
            for group in groups:
                t0 = time.perf_counter()
                for sql, params, many, returned, client_side in group["statements"]:
                    cursor = client if client_side else server
                    try:
                        if sql in (BEGIN, COMMIT, ROLLBACK):
                            cursor.execute(sql)
                            continue
                        args = _restore(params, ids)
                        if many:
                            cursor.executemany(sql, args)
                        else:
                            cursor.execute(sql, args)
                        if cursor.pgresult is not None and cursor.pgresult.ntuples:
                            rows = cursor.fetchall()
                            if returned:
                                ids.update(zip(returned, (row[0] for row in rows), strict=False))
                    except psycopg.Error as exc:
                        error_count += 1
                        if len(errors) < 5:
                            errors.append(f"{type(exc).__name__}: {str(exc)[:200]} in {sql[:120]!r}")
                timings.append((group["kind"], order_id, time.perf_counter() - t0, len(group["statements"])))
        finished = time.monotonic()
        backend_cpu = backend_cpu_seconds(conn.info.backend_pid)
        if backend_cpu is not None and backend_cpu_before is not None:
            backend_cpu -= backend_cpu_before
    results.put((timings, error_count, errors, finished, backend_cpu))


def backend_cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) a PostgreSQL backend has used, when the server runs on this
    machine (its /proc is readable); None otherwise."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wal_position(conninfo: str) -> str:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]


def wal_bytes_since(conninfo: str, position: str) -> int:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        return int(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", [position]).fetchone()[0])


def replay(*, conninfo: str, items: list[tuple[int | None, list[dict]]], connections: int = 2) -> dict:
    """Replay `items` over `connections` processes; returns the wall time, every unit of
    work's (kind, order id, seconds, statements), and the errors."""
    ctx = multiprocessing.get_context("fork")
    next_item, lock, results = ctx.Value("l", 0, lock=False), ctx.Lock(), ctx.Queue()
    ready = ctx.Barrier(connections + 1)
    processes = [ctx.Process(target=_worker, args=(conninfo, items, next_item, lock, ready, results), daemon=True)
                 for _ in range(connections)]
    for process in processes:
        process.start()
    wal_before = wal_position(conninfo)
    ready.wait(timeout=60)
    began = time.monotonic()
    gathered = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    backend_cpu = [g[4] for g in gathered]
    return {"seconds": max(g[3] for g in gathered) - began, "timings": [t for g in gathered for t in g[0]],
            "errors": sum(g[1] for g in gathered), "error_samples": [e for g in gathered for e in g[2]],
            # PostgreSQL's own CPU for the statements (its backends, not this client) and the WAL
            # they wrote: what one order costs the primary (bench/README.md, capacity).
            "server_cpu_seconds": None if None in backend_cpu else sum(backend_cpu),
            "wal_bytes": wal_bytes_since(conninfo, wal_before)}
