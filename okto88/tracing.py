"""OpenTelemetry tracing, switched on by OTEL_EXPORTER_OTLP_ENDPOINT.

With the variable unset nothing is configured: no provider, no instrumentation, no thread, and
`current_trace_id()` answers "". With it set, each process (web worker, Celery pool process,
beat) calls `tracing_setup` once: spans go through a batch processor to the OTLP/HTTP exporter
(it reads the endpoint and the other OTEL_* variables itself), and Django, Celery, psycopg and
requests are instrumented. The Celery instrumentation carries the trace context in the task
message's headers, so a request that places an order, the chain's tasks and their partner
calls form one trace.

Called before the first connection and the first request: from okto88.wsgi / okto88.asgi
(before the application loads its middleware, where the Django instrumentation adds its own),
gunicorn's post_fork, and the Celery worker's worker_process_init (each pool process after the
fork: the batch processor's thread does not survive one).
"""

from __future__ import annotations

import os
import threading

from opentelemetry import trace

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"

_setup_lock = threading.Lock()
_configured_service: str | None = None


def tracing_enabled() -> bool:
    return bool(os.environ.get(ENDPOINT_VARIABLE, "").strip())


def tracing_setup(service_name: str) -> bool:
    """Configure tracing for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set. Returns whether
    tracing is on; a second call (wsgi after post_fork) changes nothing."""
    global _configured_service
    if not tracing_enabled():
        return False
    with _setup_lock:
        if _configured_service is not None:
            return True
        # Imported here: a process without tracing never loads the SDK and the instrumentations.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        from opentelemetry.instrumentation.requests import RequestsInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okto88.settings")
        # OTEL_SERVICE_NAME, when set, names the service (the SDK's resource detector reads it).
        resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service_name})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        DjangoInstrumentor().instrument(tracer_provider=provider)
        CeleryInstrumentor().instrument(tracer_provider=provider)
        # No SQL commenter: statements stay as written, so pg_stat_statements groups them.
        PsycopgInstrumentor().instrument(tracer_provider=provider, enable_commenter=False)
        RequestsInstrumentor().instrument(tracer_provider=provider)
        _configured_service = service_name
        return True


def tracing_flush(timeout_millis: int = 5000) -> None:
    """Export the spans still batched (a short-lived process before it exits)."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if _configured_service is not None and force_flush is not None:
        force_flush(timeout_millis)


def current_trace_id() -> str:
    """The current span's trace id as 32 hex digits, or "" when tracing is off or no span is open."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return ""
    return format(context.trace_id, "032x")
