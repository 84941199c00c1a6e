"""The project's fake partner receiver: a real HTTP server that takes webhooks like a partner's
system would, verifies their Standard Webhooks signatures with the `standardwebhooks` package,
records what it received, and answers as told (fault injection).

Development (`manage.py fake_receiver --port 8403`, started by `make run`) and the tests
(`start_fake_receiver(port=0)`) point endpoints at `<url>/hooks/<name>`; each name is one
receiving endpoint with its own secrets, faults and log. Nothing here imports the rest of okto88.

- `POST /hooks/<name>` — a webhook. Verified against each of the name's secrets in turn; recorded
  as {webhook_id, timestamp, signature, body, verified_by (indexes of the secrets that verify it),
  status (what it answered), received_at, finished_at}; answered 204 unless a fault says otherwise.
- `POST /_config/<name>` {"secrets": ["whsec_…", …], "faults": {…}} — replaces the name's setup.
- `POST /_faults/<name>` {"latency_ms": int (answer that late), "status": int (answer every
  request with it, e.g. 410 or 500), "fail_next": n, "fail_status": int (the next n requests get
  fail_status, default 500), "retry_after": "…" (sent with 429 and 503), "response_bytes": n (the
  answer's body is n bytes)} — replaces the name's faults; `{}` clears them.
- `GET /_received/<name>` — {"received": [...], "max_in_flight": n}; `POST /_reset` forgets everything.

A receiver that is down (connection refused) is `FakeReceiverServer.stop()` then `.start()` on
the same port; stop() also closes the connections kept alive.

Served by http.server with HTTP/1.1 keep-alive (a thread per connection), not werkzeug's
development server, which closes every connection after one answer: the senders keep their
connections to an endpoint alive, as they would to a partner's real server.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response


@dataclass
class ReceiverFaults:
    latency_ms: int = 0
    status: int = 0
    fail_next: int = 0
    fail_status: int = 500
    retry_after: str = ""
    response_bytes: int = 0

    @classmethod
    def from_json(cls, data: dict) -> ReceiverFaults:
        return cls(latency_ms=int(data.get("latency_ms") or 0), status=int(data.get("status") or 0),
                   fail_next=int(data.get("fail_next") or 0), fail_status=int(data.get("fail_status") or 500),
                   retry_after=str(data.get("retry_after") or ""),
                   response_bytes=int(data.get("response_bytes") or 0))


@dataclass
class ReceivingEndpoint:
    secrets: list[str] = field(default_factory=list)
    faults: ReceiverFaults = field(default_factory=ReceiverFaults)
    received: list[dict] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


def signatures_verifying(*, secrets: list[str], body: bytes, headers: dict[str, str]) -> list[int]:
    """The indexes of `secrets` that verify the message (Standard Webhooks, 5 minutes' tolerance)."""
    verified = []
    for index, secret in enumerate(secrets):
        try:
            Webhook(secret).verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError):
            continue
        verified.append(index)
    return verified


class FakeReceiverApp:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.endpoints: dict[str, ReceivingEndpoint] = {}
        self.url_map = Map([
            Rule("/hooks/<name>", endpoint="hook", methods=["POST"]),
            Rule("/_config/<name>", endpoint="config", methods=["POST"]),
            Rule("/_faults/<name>", endpoint="faults", methods=["POST"]),
            Rule("/_received/<name>", endpoint="received", methods=["GET"]),
            Rule("/_reset", endpoint="reset", methods=["POST"]),
        ])

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = _json({"message": exc.description or exc.name}, exc.code or 500)
        return response(environ, start_response)

    def _endpoint(self, name: str) -> ReceivingEndpoint:
        return self.endpoints.setdefault(name, ReceivingEndpoint())

    def on_hook(self, request: Request, name: str) -> Response:
        received_at = time.time()
        body = request.get_data(cache=False)
        headers = {key: request.headers.get(key, "") for key in ("webhook-id", "webhook-timestamp",
                                                                 "webhook-signature")}
        with self.lock:
            endpoint = self._endpoint(name)
            endpoint.in_flight += 1
            endpoint.max_in_flight = max(endpoint.max_in_flight, endpoint.in_flight)
            faults = endpoint.faults
            status = faults.status or 204
            if faults.fail_next > 0:
                faults.fail_next -= 1
                status = faults.fail_status
            secrets = list(endpoint.secrets)
        try:
            if faults.latency_ms:
                time.sleep(faults.latency_ms / 1000)
            verified_by = signatures_verifying(secrets=secrets, body=body, headers=headers)
            with self.lock:
                endpoint.received.append({
                    "webhook_id": headers["webhook-id"], "timestamp": headers["webhook-timestamp"],
                    "signature": headers["webhook-signature"], "host": request.headers.get("Host", ""),
                    "body": body.decode("utf-8", "replace"), "verified_by": verified_by, "status": status,
                    "received_at": received_at, "finished_at": time.time(),
                })
        finally:
            with self.lock:
                endpoint.in_flight -= 1
        response_headers = {}
        if faults.retry_after and status in (429, 503):
            response_headers["Retry-After"] = faults.retry_after
        text = "x" * faults.response_bytes if faults.response_bytes else ""
        return Response(text, status=status, headers=response_headers, content_type="text/plain")

    def on_config(self, request: Request, name: str) -> Response:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return _json({"message": "send a JSON object"}, 400)
        with self.lock:
            self.endpoints[name] = ReceivingEndpoint(secrets=[str(s) for s in data.get("secrets") or []],
                                                     faults=ReceiverFaults.from_json(data.get("faults") or {}))
        return _json({"name": name})

    def on_faults(self, request: Request, name: str) -> Response:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return _json({"message": "send a JSON object"}, 400)
        try:
            faults = ReceiverFaults.from_json(data)
        except (TypeError, ValueError) as exc:
            return _json({"message": str(exc)}, 400)
        with self.lock:
            self._endpoint(name).faults = faults
        return _json({"faults": faults.__dict__})

    def on_received(self, request: Request, name: str) -> Response:
        with self.lock:
            endpoint = self._endpoint(name)
            return _json({"received": list(endpoint.received), "max_in_flight": endpoint.max_in_flight})

    def on_reset(self, request: Request) -> Response:
        with self.lock:
            self.endpoints.clear()
        return _json({})


def _json(data: dict, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


class _KeepAliveHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive in front of the WSGI app (bodies with a Content-Length only)."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle kept-alive connection is closed after this
    app: FakeReceiverApp  # set per server

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        self.server.open_connections.discard(self.connection)
        super().finish()

    def log_message(self, format, *args) -> None:
        pass  # every webhook is in the log of what was received

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        environ = {
            "REQUEST_METHOD": self.command, "PATH_INFO": unquote(parts.path), "QUERY_STRING": parts.query,
            "SCRIPT_NAME": "", "CONTENT_LENGTH": str(length), "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "SERVER_NAME": self.server.server_address[0], "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version, "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(), "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False, "REMOTE_ADDR": self.client_address[0],
        }
        for key, value in self.headers.items():
            name = "HTTP_" + key.upper().replace("-", "_")
            if name not in ("HTTP_CONTENT_LENGTH", "HTTP_CONTENT_TYPE"):
                environ[name] = value
        started: list = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]

        chunks = self.app(environ, start_response)
        try:
            payload = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        status, headers = started
        self.send_response(int(status.split(" ", 1)[0]), status.split(" ", 1)[1] if " " in status else "")
        for key, value in headers:
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler):
        self.open_connections: set[socket.socket] = set()
        super().__init__(address, handler)


class FakeReceiverServer:
    """A running fake receiver (in a background thread) and the helpers tests drive it with."""

    def __init__(self, app: FakeReceiverApp, *, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.host = host
        self.port = port
        self._server = None
        self._thread: threading.Thread | None = None
        self.start()
        reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - only compared
        self.url = f"http://{reachable}:{self.port}"

    def start(self) -> None:
        """Serve (again, on the same port after stop(): the state is kept)."""
        handler = type("Handler", (_KeepAliveHandler,), {"app": self.app})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-receiver-{self.port}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving: connections are refused until start()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            for connection in list(self._server.open_connections):  # kept-alive ones too: down is down
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._thread.join(timeout=5)
            self._server = None

    def serve_forever(self) -> None:
        self._thread.join()

    def endpoint_url(self, name: str) -> str:
        return f"{self.url}/hooks/{name}"

    def configure(self, name: str, *, secrets: list[str], **faults) -> None:
        response = requests.post(f"{self.url}/_config/{name}", json={"secrets": secrets, "faults": faults}, timeout=5)
        response.raise_for_status()

    def set_faults(self, name: str, **faults) -> dict:
        response = requests.post(f"{self.url}/_faults/{name}", json=faults, timeout=5)
        response.raise_for_status()
        return response.json()["faults"]

    def received(self, name: str) -> list[dict]:
        response = requests.get(f"{self.url}/_received/{name}", timeout=5)
        response.raise_for_status()
        return response.json()["received"]

    def max_in_flight(self, name: str) -> int:
        response = requests.get(f"{self.url}/_received/{name}", timeout=5)
        response.raise_for_status()
        return response.json()["max_in_flight"]

    def reset(self) -> None:
        requests.post(f"{self.url}/_reset", timeout=5).raise_for_status()


def start_fake_receiver(*, port: int = 0, host: str = "127.0.0.1") -> FakeReceiverServer:
    return FakeReceiverServer(FakeReceiverApp(), host=host, port=port)
