"""Prometheus metrics at /metrics: HTTP requests and latencies, Celery task outcomes.

Request metrics live in the serving process (multiprocess mode under gunicorn when
PROMETHEUS_MULTIPROC_DIR is set). Task outcomes happen in worker processes, possibly on
other hosts, so workers count them in a Redis hash and the web process reads it at scrape.
"""

from __future__ import annotations

import logging
import os
import time

from celery import signals
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily

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


class RequestMetricsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The route template, never the raw path: ids in paths would explode the label set.
        route = match.route if match and match.route else "unmatched"
        elapsed = time.perf_counter() - started
        http_latency.labels(request.method, route).observe(elapsed)
        http_requests.labels(request.method, route, str(response.status_code)).inc()
        access_logger.info(
            "request finished",
            extra={"method": request.method, "path": request.path, "status": response.status_code,
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
        REGISTRY.register(TaskOutcomeCollector())
        _collector_registered = True


def metrics_view(request):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # multiprocess mode only (gunicorn's workers)

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(TaskOutcomeCollector())
        for collector in _scrape_collectors:
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
