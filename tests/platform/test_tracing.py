"""OpenTelemetry tracing: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; when set, one order's
request, its outbound partner calls and the workflow tasks it starts form one trace, and every
log line carries that trace's id.

The traced processes are the ones production runs: the web server `make run` starts (gunicorn
over okto88.wsgi) and a Celery worker process, both on the test database, exporting over
OTLP/HTTP to a collector this test runs (it decodes what it receives with opentelemetry-proto).
Tracing is set up per process, so it never leaks into the test process itself.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.conf import settings
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from okto88.management.commands.run_marketplace import web_server_argv
from okto88.models import Scope
from okto88.redis_connection import redis_client
from okto88.request_id import RequestIdLogFilter
from okto88.tracing import current_trace_id, tracing_setup
from orders import services
from orders.models import Order, StepRun, SupplierOrder
from tests.celery_worker import CeleryWorkerProcess, database_url
from tests.orders.factories import buyer_make, carriers_ensure, cheapest_shipping, offer_in_stock
from tests.platform.factories import ApiClientFactory, issue_api_key
from tests.suppliers.factories import SupplierApiClientFactory
from workshops.services import workshop_api_client_bind

REQUESTS_SCOPE = "opentelemetry.instrumentation.requests"
DJANGO_SCOPE = "opentelemetry.instrumentation.django"
CELERY_SCOPE = "opentelemetry.instrumentation.celery"


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    name: str
    service: str
    scope: str
    attributes: dict


class FakeCollector:
    """An OTLP/HTTP trace receiver: POST /v1/traces with an ExportTraceServiceRequest body."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                collector.receive(self.path, self.headers.get("Content-Type", ""), body)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def receive(self, path: str, content_type: str, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        received = []
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
                    received.append(ReceivedSpan(trace_id=span.trace_id.hex(), name=span.name,
                                                 service=resource.get("service.name", ""),
                                                 scope=scope_spans.scope.name, attributes=attributes))
        with self._lock:
            self.paths.append(f"{path} {content_type}")
            self.spans.extend(received)

    def wait_for(self, predicate, *, timeout: float = 30, what: str) -> list[ReceivedSpan]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [span for span in self.spans if predicate(span)]
            if found:
                return found
            time.sleep(0.2)
        with self._lock:
            seen = sorted({(s.service, s.scope, s.name) for s in self.spans})
        raise AssertionError(f"no span for {what} in {timeout}s; received: {seen}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _json_lines(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def _tracing_env(collector: FakeCollector) -> dict[str, str]:
    # Export every 100 ms instead of every 5 s, so the test waits for seconds at most.
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}


@pytest.fixture
def collector():
    fake = FakeCollector()
    yield fake
    fake.stop()


@pytest.fixture
def traced_worker(django_db_setup, collector, fake_courier, fake_gateway, tmp_path):
    worker = CeleryWorkerProcess(log_dir=tmp_path, concurrency=1, extra_env={
        **_tracing_env(collector),
        "COURIER_URL": fake_courier.url,
        "PAYMENT_GATEWAY_URL": fake_gateway.url,
        "PAYMENT_NOTIFICATION_URL": f"{fake_gateway.url}/_sink",
        "COURIER_NOTIFICATION_URL": f"{fake_courier.url}/_sink",
    })
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def traced_server(django_db_setup, collector, traced_worker, fake_courier, fake_gateway, tmp_path):
    """The web server `make run` starts, traced, placing orders on the traced worker's queue."""
    port = _free_port()
    env = {
        **os.environ, **_tracing_env(collector),
        "DATABASE_URL": database_url(settings.DATABASES["default"]), "REDIS_URL": settings.REDIS_URL,
        "DJANGO_ENV": "development", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "GUNICORN_WORKERS": "1",
        "CELERY_QUEUE": traced_worker.queue, "PYTHONUNBUFFERED": "1",
        "COURIER_URL": fake_courier.url, "PAYMENT_GATEWAY_URL": fake_gateway.url,
    }
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(web_server_argv(host="127.0.0.1", port=port), env=env, cwd=settings.BASE_DIR,
                                  stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()[-3000:]
            try:
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def wait_until_true(predicate, *, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_without_an_endpoint_nothing_is_configured(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)

    assert tracing_setup("okto88-test") is False

    from opentelemetry.sdk.trace import TracerProvider

    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    with trace.get_tracer(__name__).start_as_current_span("nothing records this"):
        assert current_trace_id() == ""
    record = logging.LogRecord("okto88.test", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdLogFilter().filter(record)
    assert record.trace_id == "-"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_order_request_its_partner_calls_and_its_tasks_share_one_trace(settings, traced_server, traced_worker,
                                                                          collector, fake_courier, fake_gateway):
    url, server_log = traced_server
    settings.COURIER_URL = fake_courier.url  # the test's own quote for the shipping choice below
    fake_courier.set_faults()
    carriers_ensure()
    buyer = buyer_make()
    offer, _ = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    shipping = [{"supplier": supplier, "carrier_code": carrier, "service_level": level}
                for supplier, (carrier, level) in cheapest_shipping(buyer=buyer).items()]
    # Forget the quotes the choice above cached: the request must ask the courier itself.
    stale = list(redis_client().scan_iter(match="*courier-rates:*", count=1000))
    assert stale
    redis_client().delete(*stale)
    api_client = ApiClientFactory()
    workshop_api_client_bind(workshop_id=buyer.workshop.pk, api_client=api_client)
    key = issue_api_key(client=api_client, scopes=[Scope.ORDERS_READ, Scope.ORDERS_WRITE]).raw_key

    response = requests.post(f"{url}/api/v1/orders/", timeout=30,
                             json={"address": buyer.address.pk, "payment_method": "terms", "shipping": shipping},
                             headers={"Authorization": f"Api-Key {key}", "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    number = response.json()["number"]

    request_span = collector.wait_for(
        lambda s: s.scope == DJANGO_SCOPE and s.service == "okto88-web" and s.name.startswith("POST")
        and "orders" in s.name, what="the order request")[0]
    trace_id = request_span.trace_id
    # The placement quoted shipping at the courier: an outbound requests span in the same trace.
    outbound = collector.wait_for(lambda s: s.scope == REQUESTS_SCOPE and s.trace_id == trace_id,
                                  what="the courier quote inside the request")
    assert any(fake_courier.url in str(s.attributes.get("url.full") or s.attributes.get("http.url"))
               for s in outbound)
    # The chain the placement started on commit ran in the worker, in the same trace.
    collector.wait_for(lambda s: s.scope == CELERY_SCOPE and s.service == "okto88-worker" and s.trace_id == trace_id
                       and "open_for_acceptance" in s.name, timeout=45, what="the workflow task in the worker")
    # The supplier's ERP accepts and marks it packed: the booking at the courier, made by the
    # worker, is in the trace of that request.
    supplier_order = SupplierOrder.objects.get(order__number=number)
    wait_until_true(lambda: SupplierOrder.objects.filter(pk=supplier_order.pk, accept_by__isnull=False).exists())
    erp = ApiClientFactory()
    SupplierApiClientFactory(api_client=erp, supplier=offer.supplier)
    erp_key = issue_api_key(client=erp, scopes=[Scope.ORDERS_READ, Scope.ORDERS_WRITE]).raw_key
    for path in ("accept/", "ready-to-ship/"):
        answer = requests.post(f"{url}/api/v1/suppliers/me/orders/{supplier_order.number}/{path}", json={},
                               timeout=30, headers={"Authorization": f"Api-Key {erp_key}"})
        assert answer.status_code == 200, answer.text
    ready_span = collector.wait_for(
        lambda s: s.scope == DJANGO_SCOPE and s.service == "okto88-web" and s.name.startswith("POST")
        and "ready-to-ship" in s.name, what="the ready-to-ship request")[0]
    collector.wait_for(lambda s: s.scope == CELERY_SCOPE and s.service == "okto88-worker"
                       and s.trace_id == ready_span.trace_id and "book_courier" in s.name, timeout=45,
                       what="the booking task in the worker")
    collector.wait_for(lambda s: s.scope == REQUESTS_SCOPE and s.service == "okto88-worker"
                       and s.trace_id == ready_span.trace_id, what="the courier booking from the worker")
    assert all(path.startswith("/v1/traces application/x-protobuf") for path in collector.paths)

    # Every log line of the request carries its trace id, and so do the worker's lines for its tasks.
    request_lines = [r for r in _json_lines(server_log.read_text()) if r.get("trace_id") == trace_id]
    assert any(r.get("message") == "request finished" and r.get("path") == "/api/v1/orders/" for r in request_lines)
    assert {r["request_id"] for r in request_lines} == {response.headers["X-Request-ID"]}
    order = Order.objects.get(number=number)
    assert StepRun.objects.filter(order=order).exists()
    traced_worker.wait_for_log(lambda r: r.get("trace_id") == trace_id)
