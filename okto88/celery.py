"""The Celery app. Request ids, and when a task became due, travel in message headers from the
publisher to the task."""

from __future__ import annotations

import datetime as dt
import logging.config
import os
import time

from celery import Celery, signals
from django.conf import settings

from okto88.request_id import request_id_var
from okto88.tracing import tracing_setup

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okto88.settings")

app = Celery("okto88")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "okto88_request_id"
# When the message became due, in epoch seconds: its publish time, or its ETA (a retry's
# countdown) if later. The worker's start minus this is the task's queue wait.
ENQUEUED_AT_HEADER = "okto88_enqueued_at"

# Imports (supplier feeds) go to a queue of their own, consumed by a worker of their own
# (`-Q <queue>.imports --concurrency=1`, run_marketplace and docker-compose.yml): a feed that
# takes minutes holds that worker only, never the one that runs the order workflow. The queue
# is named after the default queue when the task is sent, so a test worker's queue (see
# tests/celery_worker.py) gets its own imports queue too.
IMPORT_TASKS = frozenset({"suppliers.feed_import_run"})
# Partners' webhooks likewise (`-Q <queue>.webhooks`): each delivery attempt and the sweep of
# due ones. A slow or dead receiver holds webhook workers only (and at most
# WEBHOOK_ENDPOINT_CONCURRENCY of them), never the order workflow's. The fan-out of published
# events stays on the default queue with the relay that sends it: it only writes rows, and
# behind the drains it waited seconds (bench/README.md, the webhooks benchmark).
WEBHOOK_TASKS = frozenset({"partners.webhook_deliver", "partners.webhook_deliver_batch",
                           "partners.webhook_endpoint_drain", "partners.deliveries_due"})


def imports_queue(default_queue: str | None = None) -> str:
    return f"{default_queue or app.conf.task_default_queue}.imports"


def webhooks_queue(default_queue: str | None = None) -> str:
    return f"{default_queue or app.conf.task_default_queue}.webhooks"


def route_task(name, args, kwargs, options, task=None, **kw) -> dict | None:
    if name in IMPORT_TASKS:
        return {"queue": imports_queue()}
    if name in WEBHOOK_TASKS:
        return {"queue": webhooks_queue()}
    return None


app.conf.task_routes = (route_task,)


def task_send(name: str, *, kwargs: dict | None = None, countdown: float | None = None) -> None:
    """Enqueue the task registered as `name` (each task declares its `name=`). Services enqueue
    by name, never by importing a tasks module: tasks are thin wrappers that import services, so
    the dependency runs one way. Call it after commit (transaction.on_commit), never for rows
    the worker cannot see yet."""
    app.send_task(name, kwargs=kwargs or {}, countdown=countdown)


def tasks_send(name: str, *, kwargs_list: list[dict], countdown: float | None = None) -> None:
    """Enqueue `name` once per kwargs in `kwargs_list` over one broker connection (task_send
    takes one from the pool per message)."""
    with app.producer_or_acquire() as producer:
        for kwargs in kwargs_list:
            app.send_task(name, kwargs=kwargs, countdown=countdown, producer=producer)


_task_request_id_tokens: dict[str, object] = {}


@signals.worker_process_init.connect
def setup_worker_tracing(**kwargs) -> None:
    tracing_setup("okto88-worker")  # in each pool process, after the fork; no-op without an OTLP endpoint


@signals.beat_init.connect
def setup_beat_tracing(**kwargs) -> None:
    tracing_setup("okto88-beat")


@signals.setup_logging.connect
def configure_worker_logging(**kwargs) -> None:
    # Use the project's JSON logging (with request ids) instead of Celery's own format.
    logging.config.dictConfig(settings.LOGGING)


@signals.before_task_publish.connect
def attach_request_id(headers=None, **kwargs) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id


@signals.before_task_publish.connect
def attach_enqueued_at(headers=None, **kwargs) -> None:
    # Always overwritten: a retry is published with a copy of the first message's headers.
    if headers is not None:
        headers[ENQUEUED_AT_HEADER] = _due_epoch(eta=headers.get("eta"), now=time.time())


def _due_epoch(*, eta, now: float) -> float:
    if eta:
        try:
            due = dt.datetime.fromisoformat(eta) if isinstance(eta, str) else eta
            if due.tzinfo is None:
                due = due.replace(tzinfo=dt.UTC)
            return max(now, due.timestamp())
        except (TypeError, ValueError):
            pass
    return now


def task_enqueued_at(request) -> dt.datetime | None:
    """When the message a task runs from became due (ENQUEUED_AT_HEADER), or None when it came
    without the header (called directly, or published by an older release)."""
    value = getattr(request, ENQUEUED_AT_HEADER, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(ENQUEUED_AT_HEADER)
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC) if value is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


@signals.task_prerun.connect
def restore_request_id(task_id=None, task=None, **kwargs) -> None:
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or f"task-{task_id}"
    _task_request_id_tokens[task_id] = request_id_var.set(request_id)


@signals.task_postrun.connect
def clear_request_id(task_id=None, **kwargs) -> None:
    token = _task_request_id_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)
