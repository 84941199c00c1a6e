"""OpenTelemetry tracing, switched on by OTEL_EXPORTER_OTLP_ENDPOINT.

TODO(issue 13, branch ops-prod): setup and instrumentation.
"""

from __future__ import annotations


def current_trace_id() -> str:
    """The current span's trace id as 32 hex digits, or "" when tracing is off or no span is open."""
    return ""
