"""Prometheus metrics at /metrics: HTTP requests and latencies, Celery task outcomes, the
recorded histograms of workflow steps and partner calls, queue depth and database connections.

Request metrics live in the serving process (multiprocess mode under gunicorn when
PROMETHEUS_MULTIPROC_DIR is set). Task outcomes happen in worker processes, possibly on
other hosts, so workers count them in a Redis hash and the web process reads it at scrape.
Step and partner histograms are recorded anywhere (okto88/recording.py) into cumulative Redis
hashes, read at scrape too; queue depth and connections in use are read live at scrape.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import time

import redis
from celery import signals
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from okto88 import recording
from okto88.api.rate_windows import client_address
from okto88.breaker_metrics import BreakerStateCollector
from okto88.celery import app as celery_app
from okto88.celery import imports_queue, webhooks_queue
from okto88.log_redaction import loggable_path
from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("okto88.access")

TASK_METRICS_KEY = "okto88:metrics:tasks"

http_requests = Counter(
    "okto88_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
http_latency = Histogram(
    "okto88_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10),
)


# Paths never recorded as requests: the scrapers' and probes' own, and static files.
UNRECORDED_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
# Methods outside this set are recorded as "other": a client chooses the method, and every
# distinct label is a series.
RECORDED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The route template, never the raw path: ids in paths would explode the label set.
        route = match.route if match and match.route else "unmatched"
        elapsed = time.perf_counter() - started
        http_latency.labels(request.method, route).observe(elapsed)
        http_requests.labels(request.method, route, str(response.status_code)).inc()
        path = request.path
        if path not in UNRECORDED_PATHS and not path.startswith(self.static_prefix):
            method = request.method if request.method in RECORDED_METHODS else "other"
            recording.record("request", (method, route), elapsed, f"{response.status_code // 100}xx")
        access_logger.info(
            "request finished",
            extra={"method": request.method, "path": loggable_path(request), "status": response.status_code,
                   "duration_ms": round(elapsed * 1000, 1)},
        )
        return response


class TaskOutcomeCollector:
    def describe(self):
        # Named up front so registering never reaches Redis (e.g. during `manage.py check`).
        yield CounterMetricFamily("okto88_celery_tasks", "Celery task outcomes", labels=["task", "outcome"])
        yield CounterMetricFamily("okto88_celery_task_seconds", "Time spent in tasks", labels=["task"])

    def collect(self):
        family = CounterMetricFamily("okto88_celery_tasks", "Celery task outcomes", labels=["task", "outcome"])
        seconds = CounterMetricFamily("okto88_celery_task_seconds", "Time spent in tasks", labels=["task"])
        try:
            values = redis_client().hgetall(TASK_METRICS_KEY)
        except Exception:  # a scrape must not fail because Redis blinked
            logger.warning("task metrics unavailable", exc_info=True)
            values = {}
        for key, value in sorted(values.items()):
            task, _, outcome = key.decode().rpartition("|")
            if outcome == "seconds":
                seconds.add_metric([task], float(value))
            else:
                family.add_metric([task, outcome], float(value))
        yield family
        yield seconds


# name, help, the label names after the recorded labels, whether the outcome is a label.
RECORDED_HISTOGRAMS = {
    "step_wait": ("okto88_step_wait_seconds", "Workflow step queue wait (enqueued to started)", ["step"], None),
    "step_run": ("okto88_step_run_seconds", "Workflow step run time", ["step"], "status"),
    "partner": ("okto88_partner_call_seconds", "Outbound partner call time", ["partner", "operation"], "outcome"),
}
_BUCKET_LE = [repr(bound / 1000) for bound in recording.BUCKET_BOUNDS_MS] + ["+Inf"]


def _histogram_family(kind: str) -> HistogramMetricFamily:
    name, documentation, labels, outcome_label = RECORDED_HISTOGRAMS[kind]
    return HistogramMetricFamily(name, documentation, labels=labels + ([outcome_label] if outcome_label else []))


class RecordedHistogramCollector:
    """The cumulative histograms of okto88.recording, in seconds, as Prometheus histograms."""

    def describe(self):
        for kind in RECORDED_HISTOGRAMS:
            yield _histogram_family(kind)

    def collect(self):
        for kind, (_name, _doc, labels, outcome_label) in RECORDED_HISTOGRAMS.items():
            family = _histogram_family(kind)
            try:
                series = recording.recorded_totals(kind)
            except Exception:  # a scrape must not fail because Redis blinked
                logger.warning("recorded histograms unavailable", exc_info=True)
                series = []
            merged: dict[tuple[str, ...], list] = {}
            for one in series:
                key = tuple(one.labels[: len(labels)]) + ((one.outcome,) if outcome_label else ())
                if len(key) != len(labels) + bool(outcome_label):
                    continue  # a label set of another shape: not this family's
                total = merged.setdefault(key, [0, 0.0, [0] * recording.SLOT_COUNT])
                total[0] += one.count
                total[1] += one.sum_ms
                total[2] = [a + b for a, b in zip(total[2], one.histogram, strict=True)]
            for key, (_count, sum_ms, histogram) in sorted(merged.items()):
                cumulative, buckets = 0, []
                for le, n in zip(_BUCKET_LE, histogram, strict=True):
                    cumulative += n
                    buckets.append((le, cumulative))
                family.add_metric(list(key), buckets, sum_ms / 1000)
            yield family


# kombu's Redis transport: a queue's messages of priority p > 0 wait in "<queue>\x06\x16<p>".
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)
KOMBU_PRIORITY_SEP = "\x06\x16"


def celery_queue_names() -> list[str]:
    return [celery_app.conf.task_default_queue, imports_queue(), webhooks_queue()]


@functools.cache
def _broker_client() -> redis.Redis:
    url = settings.CELERY_BROKER_URL
    if url.startswith("redis+socket://"):  # kombu's name for a unix socket; redis-py's is unix://
        path, _, query = url[len("redis+socket://"):].partition("?")
        db = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("virtual_host", "0")
        url = f"unix://{path}?db={db}"
    ssl_options = settings.REDIS_SSL_OPTIONS if url.startswith("rediss://") else {}
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1, **ssl_options)


def celery_queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue of the broker (kombu keeps a list per queue and
    priority step), one round trip."""
    names = celery_queue_names()
    pipe = _broker_client().pipeline(transaction=False)
    for name in names:
        for step in KOMBU_PRIORITY_STEPS:
            pipe.llen(f"{name}{KOMBU_PRIORITY_SEP}{step}" if step else name)
    sizes = pipe.execute()
    steps = len(KOMBU_PRIORITY_STEPS)
    return {name: sum(sizes[i * steps:(i + 1) * steps]) for i, name in enumerate(names)}



def db_connections_in_use() -> int:
    """Client connections to this database that are doing something (not idle), this one aside."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND state <> 'idle' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


class SystemGaugeCollector:
    """Queue depth and connections in use, read live at scrape (cheap: one Redis round trip,
    one query); a source that does not answer leaves its gauge out of that scrape."""

    def describe(self):
        yield GaugeMetricFamily("okto88_celery_queue_depth", "Messages waiting in a Celery queue", labels=["queue"])
        yield GaugeMetricFamily("okto88_db_connections_in_use", "Database connections doing work")

    def collect(self):
        depth = GaugeMetricFamily("okto88_celery_queue_depth", "Messages waiting in a Celery queue", labels=["queue"])
        try:
            for queue, size in celery_queue_depths().items():
                depth.add_metric([queue], size)
        except Exception:
            logger.warning("queue depth unavailable", exc_info=True)
        yield depth
        try:
            in_use = db_connections_in_use()
        except Exception:
            logger.warning("database connections unavailable", exc_info=True)
            yield GaugeMetricFamily("okto88_db_connections_in_use", "Database connections doing work", labels=[])
        else:
            yield GaugeMetricFamily("okto88_db_connections_in_use", "Database connections doing work", value=in_use)


def _collectors() -> list:
    return [TaskOutcomeCollector(), RecordedHistogramCollector(), SystemGaugeCollector(), BreakerStateCollector()]


_collector_registered = False

# Collectors that apps register at start-up (AppConfig.ready: the platform imports no app) and
# that compute their value at scrape; metrics_view adds them to the multiprocess registry too.
_scrape_collectors: list = []


def scrape_collector_register(collector) -> None:
    if not any(type(known) is type(collector) for known in _scrape_collectors):
        _scrape_collectors.append(collector)
        REGISTRY.register(collector)


def register_task_metrics_collector() -> None:
    global _collector_registered
    if not _collector_registered:
        for collector in _collectors():
            REGISTRY.register(collector)
        _collector_registered = True


@functools.cache
def _allowed_networks(networks: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network) for network in networks)


def metrics_access_allowed(request) -> bool:
    """The scrape token, or a client address inside METRICS_ALLOWED_NETWORKS. A request that
    shows a wrong token is refused wherever it comes from."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return bool(settings.METRICS_TOKEN) and scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), settings.METRICS_TOKEN.encode())
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:  # no address, or a forwarded value that is not one
        return False
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return any(address in network for network in _allowed_networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


def metrics_view(request):
    if not metrics_access_allowed(request):
        # No figures, not even which metrics exist: business volumes are not for everyone.
        return HttpResponseForbidden("forbidden\n", content_type="text/plain; charset=utf-8")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # multiprocess mode only (gunicorn's workers)

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for collector in (*_collectors(), *_scrape_collectors):
            registry.register(collector)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


# --- worker side ------------------------------------------------------------------------
_task_started: dict[str, float] = {}


def _task_count(task_name: str, outcome: str) -> None:
    try:
        redis_client().hincrby(TASK_METRICS_KEY, f"{task_name}|{outcome}", 1)
    except Exception:
        logger.warning("could not record task outcome", exc_info=True)


@signals.task_prerun.connect
def _task_prerun(task_id=None, **kwargs) -> None:
    _task_started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _task_started.pop(task_id, None)
    if started is not None and task is not None:
        try:
            redis_client().hincrbyfloat(TASK_METRICS_KEY, f"{task.name}|seconds", time.perf_counter() - started)
        except Exception:
            logger.warning("could not record task time", exc_info=True)


@signals.task_success.connect
def _task_success(sender=None, **kwargs) -> None:
    _task_count(sender.name, "success")


@signals.task_failure.connect
def _task_failure(sender=None, **kwargs) -> None:
    _task_count(sender.name, "failure")


@signals.task_retry.connect
def _task_retry(sender=None, **kwargs) -> None:
    _task_count(sender.name, "retry")


@signals.worker_process_shutdown.connect
def _recording_flush_at_shutdown(**kwargs) -> None:
    # A prefork pool process may leave through os._exit, which skips atexit: flush here.
    try:
        recording.recording_flush()
    except Exception:
        logger.warning("recording flush at worker shutdown failed", exc_info=True)
