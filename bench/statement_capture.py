"""Statement capture for the floor of bench/order_bench.py: every SQL statement a process issues
through Django, with its parameters, grouped by the unit of work that issued it (a Celery task,
one order_place call, one answer of the suppliers' system), appended to a file of its own.

The workers load it with `-I bench.statement_capture`; the bench's client and suppliers'
processes call `install` and wrap each call in `group`. Nothing is recorded unless
BENCH_CAPTURE_DIR is set. Per statement it keeps the SQL, the parameters (psycopg's Jsonb as its
text), whether the cursor binds client-side (Django's ClientCursor) or server-side (the outbox's
array INSERT), and for an INSERT … RETURNING the ids it returned (read from the result without
consuming it), so the replay can map the ids of rows this run created to the ones the replay
creates. Transactions are recorded as Django drives them: BEGIN when the first statement runs
with autocommit off (psycopg starts the transaction there), COMMIT/ROLLBACK when it ends.

Each group records its start and end (time.time()): for a task that is the task's run time in
the worker, queue wait excluded; and the CPU time its thread used meanwhile (time.thread_time()),
which tells the process's own work from its waits (the database, a partner, a core to run on);
the time its thread was runnable but not running (the scheduler's run-queue wait, from
/proc/thread-self/schedstat: waiting for a core on a shared machine); and the wall time spent
inside its statements' execute calls (the round trips, with psycopg's own work on them).
The bookkeeping's own time is summed per process and written with the groups, so the bench can
print the capture's overhead."""

from __future__ import annotations

import json
import os
import pickle
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
from celery import signals

CAPTURE_DIR_ENV = "BENCH_CAPTURE_DIR"
BEGIN, COMMIT, ROLLBACK = "BEGIN", "COMMIT", "ROLLBACK"


class Recorder:
    def __init__(self, path: Path, process: str):
        self.file = path.open("ab")
        self.process = process
        self.group: dict | None = None
        self.in_transaction = False  # autocommit off and a statement ran: psycopg sent BEGIN
        self.autocommit_off = False
        self.overhead = 0.0
        self.statements = 0
        self.statement_seconds = 0.0  # wall time inside execute, of the current group

    # --- Django hooks ----------------------------------------------------------------------

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        if self.autocommit_off and not self.in_transaction:
            self.in_transaction = True
            self._add((BEGIN, None, False, None, True))
        raw = getattr(context["cursor"], "cursor", None)
        client_side = isinstance(raw, psycopg.ClientCursor)
        overhead = time.perf_counter() - t0
        t_exec = time.perf_counter()
        result = execute(sql, params, many, context)
        t1 = time.perf_counter()
        self.statement_seconds += t1 - t_exec
        returned = None
        if not many and sql.lstrip()[:6].upper() == "INSERT" and "RETURNING" in sql.upper():
            pgresult = getattr(raw, "pgresult", None)
            if pgresult is not None and pgresult.nfields:
                try:
                    returned = [int(pgresult.get_value(i, 0)) for i in range(pgresult.ntuples)]
                except (TypeError, ValueError):
                    returned = None
        self._add((sql, _portable(params), bool(many), returned, client_side))
        self.overhead += overhead + time.perf_counter() - t1
        return result

    def transaction_hooks(self, wrapper) -> None:
        """Wrap the connection's own autocommit/commit/rollback (they bypass execute wrappers)."""
        set_autocommit, commit, rollback = wrapper._set_autocommit, wrapper._commit, wrapper._rollback

        def _set_autocommit(autocommit):
            self.autocommit_off = not autocommit
            if autocommit:
                self.in_transaction = False
            return set_autocommit(autocommit)

        def _end(real, marker):
            def end(*args, **kwargs):
                if self.in_transaction:
                    self._add((marker, None, False, None, True))
                    self.in_transaction = False
                return real(*args, **kwargs)
            return end

        wrapper._set_autocommit = _set_autocommit
        wrapper._commit = _end(commit, COMMIT)
        wrapper._rollback = _end(rollback, ROLLBACK)

    # --- groups ----------------------------------------------------------------------------

    def _add(self, statement) -> None:
        self.statements += 1
        if self.group is not None:
            self.group["statements"].append(statement)

    def begin(self, kind: str, **labels) -> dict:
        self.statement_seconds = 0.0
        self.group = {"kind": kind, "labels": labels, "process": self.process, "start": time.time(),
                      "cpu_start": time.thread_time(), "wait_start": run_queue_wait(), "statements": []}
        return self.group

    def end(self, **labels) -> None:
        group, self.group = self.group, None
        if group is None:
            return
        t0 = time.perf_counter()
        group["end"], group["cpu"] = time.time(), time.thread_time() - group.pop("cpu_start")
        wait_start, wait_end = group.pop("wait_start"), run_queue_wait()
        group["sched_wait"] = None if wait_start is None or wait_end is None else wait_end - wait_start
        group["statement_seconds"] = self.statement_seconds
        group["labels"].update(labels)
        pickle.dump(group, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.file.flush()
        self.overhead += time.perf_counter() - t0

    def close(self) -> None:
        pickle.dump({"kind": "_overhead", "process": self.process, "seconds": self.overhead,
                     "statements": self.statements}, self.file)
        self.file.close()


def run_queue_wait() -> float | None:
    """Seconds this thread has spent runnable but not running (waiting for a core), from the
    kernel's scheduler statistics (the second field of /proc/thread-self/schedstat, in ns);
    None where the kernel does not keep them."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _portable(value):
    """Parameters as plain picklable values (a Jsonb keeps its serialised text)."""
    if isinstance(value, list | tuple):
        return type(value)(_portable(v) for v in value)
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if type(value).__name__ == "Jsonb":
        return ("__jsonb__", value.dumps(value.obj) if value.dumps else json.dumps(value.obj))
    return value


_recorder: Recorder | None = None


def install(process: str) -> Recorder | None:
    """Start recording this process's statements on its default connection (no-op unless
    BENCH_CAPTURE_DIR is set)."""
    global _recorder
    directory = os.environ.get(CAPTURE_DIR_ENV)
    if not directory:
        return None
    from django.db import connections

    wrapper = connections["default"]
    _recorder = Recorder(Path(directory) / f"{process}-{os.getpid()}.pickle", process)
    wrapper.execute_wrappers.append(_recorder)
    _recorder.transaction_hooks(wrapper)
    return _recorder


def uninstall() -> None:
    global _recorder
    if _recorder is None:
        return
    from django.db import connections

    wrapper = connections["default"]
    if _recorder in wrapper.execute_wrappers:
        wrapper.execute_wrappers.remove(_recorder)
    for name in ("_set_autocommit", "_commit", "_rollback"):
        wrapper.__dict__.pop(name, None)
    _recorder.close()
    _recorder = None


@contextmanager
def group(kind: str, **labels):
    """Statements inside the block belong to one unit of work; the block may add labels to the
    yielded dict's "labels" (e.g. the order it placed)."""
    if _recorder is None:
        yield {"labels": {}}
        return
    current = _recorder.begin(kind, **labels)
    try:
        yield current
    finally:
        _recorder.end()


# --- the worker side ------------------------------------------------------------------------

_TASK_LABELS = ("order_id", "supplier_order_id", "event_id")


@signals.worker_process_init.connect
def _worker_start(**kwargs) -> None:
    install("worker")


@signals.worker_process_shutdown.connect
def _worker_stop(**kwargs) -> None:
    uninstall()


@signals.task_prerun.connect
def _task_start(task=None, kwargs=None, **extra) -> None:
    if _recorder is None:
        return
    kwargs = kwargs or {}
    labels = {k: kwargs[k] for k in _TASK_LABELS if k in kwargs}
    reference = (kwargs.get("payload") or {}).get("reference") if isinstance(kwargs.get("payload"), dict) else None
    if reference:
        labels["reference"] = reference
    _recorder.begin(task.name, **labels)


@signals.task_postrun.connect
def _task_end(**kwargs) -> None:
    if _recorder is not None:
        _recorder.end()
