"""The project's fake payment gateway: a Midtrans-style Core API over real HTTP.

Development (`manage.py fake_gateway --port 8401`, started by `make run`) and the tests
(`start_fake_gateway(port=0)`) talk to it instead of a real gateway. Plain WSGI on the
standard library's wsgiref with a thread per request; state lives in memory per order id.

The contract (what payments/adapters/gateway.py relies on):

    POST /v2/charge              Basic auth (server key as user). payment_type bank_transfer |
                                 qris | gopay → 201 with va_numbers / qr_string + actions.
                                 A known order id → 406 "duplicate order id".
    GET  /v2/{order_id}/status   200 (201 while pending) with the transaction; 404 unknown
    POST /v2/{order_id}/cancel   pending → cancel (200); already cancelled → 200; else 412
    POST /v2/{order_id}/refund   settlement → refund (200), or partial_refund while less than the
                                 whole amount is refunded (more refunds may follow up to it);
                                 same refund_key → same answer; else 412

Every change is notified asynchronously (one sender thread, in order) by POSTing JSON to
the URL of the charge's `X-Override-Notification` header, signed with
signature_key = sha512(order_id + status_code + gross_amount + server_key). status_code is
"200" for settlement/refund, "201" for pending, "202" for deny/expire/cancel. A notification
that is not answered 2xx is retried a few times.

For people and tests:

    GET/POST /pay/{order_id}     a "Bayar sekarang / Pay now" page; POST settles and notifies
    POST /_simulate/{order_id}   {"status": "settlement"|"expire"|"deny"|"cancel"}
    POST /_faults                replaces the faults: {"latency_ms", "fail_next" (500),
                                 "timeout_next" (sleep `timeout_ms`, default 6000, then carry
                                 on as if the answer was lost), "reject_next" (400),
                                 "duplicate_notifications" (send each n times),
                                 "out_of_order" (hold a charge's pending notification back and
                                 send it after the next one, e.g. after settlement)}
    GET  /_state                 orders, faults and every notification sent
    POST /_sink                  answers 200 and records the body: a notification URL for
                                 tests that do not need a real receiver
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import queue
import socketserver
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

DEFAULT_SERVER_KEY = "SB-Mid-server-okto88-development"
PAYMENT_TYPES = {"bank_transfer", "qris", "gopay"}
BANKS = {"bca", "bni", "bri", "permata", "cimb", "mandiri"}
STATUS_CODES = {"pending": "201", "settlement": "200", "capture": "200", "refund": "200", "partial_refund": "200",
                "deny": "202", "expire": "202", "cancel": "202"}
SIMULATED = {"settlement", "expire", "deny", "cancel"}
DELIVERY_ATTEMPTS = 3
DELIVERY_BACKOFF_SECONDS = (0.2, 0.5)


def gross_amount_text(amount: int) -> str:
    return f"{int(amount)}.00"


def sign_notification(*, order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def notification_body(
    *, order_id: str, transaction_status: str, gross_amount: int, server_key: str,
    transaction_id: str | None = None, payment_type: str = "bank_transfer", status_code: str | None = None,
    signature_key: str | None = None, **extra: Any,
) -> bytes:
    """A notification exactly as the fake sends it (tests build their own with this)."""
    status_code = status_code or STATUS_CODES[transaction_status]
    amount = gross_amount_text(gross_amount)
    body = {
        "transaction_time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "transaction_status": transaction_status,
        "transaction_id": transaction_id or str(uuid.uuid4()),
        "status_message": f"midtrans payment notification ({transaction_status})",
        "status_code": status_code,
        "signature_key": signature_key or sign_notification(
            order_id=order_id, status_code=status_code, gross_amount=amount, server_key=server_key),
        "payment_type": payment_type,
        "order_id": order_id,
        "merchant_id": "OKTO88-FAKE",
        "gross_amount": amount,
        "fraud_status": "accept",
        "currency": "IDR",
        **extra,
    }
    return json.dumps(body).encode()


@dataclass
class Faults:
    latency_ms: int = 0
    fail_next: int = 0
    timeout_next: int = 0
    timeout_ms: int = 6000
    reject_next: int = 0
    duplicate_notifications: int = 1
    out_of_order: bool = False

    @classmethod
    def from_json(cls, data: dict) -> Faults:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        faults = cls(**known)
        faults.duplicate_notifications = max(1, int(faults.duplicate_notifications))
        return faults


@dataclass
class Transaction:
    order_id: str
    transaction_id: str
    gross_amount: int
    payment_type: str
    status: str = "pending"
    bank: str = ""
    va_number: str = ""
    qr_string: str = ""
    notification_url: str = ""
    customer: dict = field(default_factory=dict)
    transaction_time: str = ""
    expiry_time: str = ""
    settlement_time: str = ""
    refunds: list[dict] = field(default_factory=list)

    def status_code(self) -> str:
        return STATUS_CODES.get(self.status, "200")


class FakeGateway:
    """The WSGI app and its in-memory state."""

    def __init__(self, *, server_key: str = DEFAULT_SERVER_KEY, base_url: str = ""):
        self.server_key = server_key
        self.base_url = base_url
        self.lock = threading.RLock()
        self.transactions: dict[str, Transaction] = {}
        self.faults = Faults()
        self.sent: list[dict] = []  # every delivery attempt's outcome
        self.sink: list[dict] = []
        self.held: dict[str, list[tuple[str, bytes]]] = {}  # out_of_order: pending held back
        self._va_counter = itertools.count(1)
        self._outbox: queue.Queue = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="fake-gateway-notifier", daemon=True)
        self._sender.start()

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            status, headers, body = self.route(method, path, raw, environ)
        except Exception as exc:  # a fake must say what broke, not hang up
            status, headers, body = self._json(500, {"status_code": "500", "status_message": repr(exc)})
        start_response(status, headers)
        return [body]

    def route(self, method: str, path: str, raw: bytes, environ) -> tuple[str, list, bytes]:
        parts = [p for p in path.split("/") if p]
        if path == "/_state" and method == "GET":
            return self._json(200, self.state())
        if path == "/_faults" and method == "POST":
            with self.lock:
                self.faults = Faults.from_json(self._load(raw) or {})
            return self._json(200, self.faults.__dict__)
        if path == "/_sink" and method == "POST":
            with self.lock:
                self.sink.append({"body": raw.decode(errors="replace")})
            return self._json(200, {"status": "ok"})
        if len(parts) == 2 and parts[0] == "_simulate" and method == "POST":
            wanted = (self._load(raw) or {}).get("status", "")
            return self._simulate(parts[1], wanted)
        if len(parts) == 2 and parts[0] == "pay":
            return self._pay_page(parts[1], method)
        if parts[:1] == ["v2"]:
            return self._core_api(method, parts[1:], raw, environ)
        return self._json(404, {"status_code": "404", "status_message": "Not found"})

    def _core_api(self, method: str, parts: list[str], raw: bytes, environ) -> tuple[str, list, bytes]:
        with self.lock:
            faults = self.faults
            latency = faults.latency_ms / 1000
            timeout = fail = reject = False
            if faults.timeout_next > 0:
                faults.timeout_next -= 1
                timeout = True
            elif faults.fail_next > 0:
                faults.fail_next -= 1
                fail = True
            elif faults.reject_next > 0:
                faults.reject_next -= 1
                reject = True
        if latency:
            time.sleep(latency)
        if timeout:
            # Past the client's timeout; then carry on as a real gateway would: the request
            # may well have been processed although its answer never arrived.
            time.sleep(faults.timeout_ms / 1000)
        if fail:
            return self._json(500, {"status_code": "500", "status_message": "Internal server error (injected)"})
        if reject:
            return self._json(400, {"status_code": "400", "status_message": "Bad request (injected)"})
        if not self._authorized(environ):
            return self._json(401, {"status_code": "401", "status_message": "Access denied: unknown server key"})
        if parts == ["charge"] and method == "POST":
            return self._charge(self._load(raw), environ.get("HTTP_X_OVERRIDE_NOTIFICATION", ""))
        if len(parts) == 2 and method == "GET" and parts[1] == "status":
            return self._status(parts[0])
        if len(parts) == 2 and method == "POST" and parts[1] == "cancel":
            return self._cancel(parts[0])
        if len(parts) == 2 and method == "POST" and parts[1] == "refund":
            return self._refund(parts[0], self._load(raw) or {})
        return self._json(404, {"status_code": "404", "status_message": "Not found"})

    # --- Core API -------------------------------------------------------------------------

    def _authorized(self, environ) -> bool:
        header = environ.get("HTTP_AUTHORIZATION", "")
        if not header.startswith("Basic "):
            return False
        try:
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except ValueError:
            return False
        return user == self.server_key

    def _charge(self, body: dict | None, notify_url: str) -> tuple[str, list, bytes]:
        if not isinstance(body, dict):
            return self._json(400, {"status_code": "400", "status_message": "Body must be JSON"})
        details = body.get("transaction_details") or {}
        order_id = str(details.get("order_id") or "")
        amount = details.get("gross_amount")
        payment_type = body.get("payment_type")
        if not order_id or isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return self._json(400, {"status_code": "400",
                                    "status_message": "transaction_details.order_id and gross_amount are required"})
        if payment_type not in PAYMENT_TYPES:
            return self._json(400, {"status_code": "400", "status_message": f"Unsupported payment_type {payment_type}"})
        bank = ""
        if payment_type == "bank_transfer":
            bank = str((body.get("bank_transfer") or {}).get("bank") or "")
            if bank not in BANKS:
                return self._json(400, {"status_code": "400", "status_message": f"Unsupported bank {bank!r}"})
        now = datetime.now(UTC)
        expiry = body.get("custom_expiry") or {}
        minutes = int(expiry.get("expiry_duration") or 24 * 60) if isinstance(expiry, dict) else 24 * 60
        with self.lock:
            if order_id in self.transactions:
                return self._json(406, {"status_code": "406",
                                        "status_message": "The request could not be processed: duplicate order id"})
            serial = next(self._va_counter)
            txn = Transaction(
                order_id=order_id, transaction_id=str(uuid.uuid4()), gross_amount=amount,
                payment_type=payment_type, bank=bank,
                va_number=f"12345{serial:06d}" if bank else "",
                qr_string=self._qr_string(order_id, amount) if payment_type in {"qris", "gopay"} else "",
                notification_url=notify_url.split(",")[0].strip(),
                customer=body.get("customer_details") or {},
                transaction_time=now.strftime("%Y-%m-%d %H:%M:%S"),
                expiry_time=(now + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S"),
            )
            self.transactions[order_id] = txn
            self._notify(txn, hold=self.faults.out_of_order)
            answer = self._describe(txn, status_message="Success, transaction is created")
        return self._json(201, answer)

    def _status(self, order_id: str) -> tuple[str, list, bytes]:
        with self.lock:
            txn = self.transactions.get(order_id)
            if txn is None:
                return self._json(404, {"status_code": "404", "status_message": "Transaction doesn't exist."})
            answer = self._describe(txn, status_message="Success, transaction is found")
        return self._json(200, answer)

    def _cancel(self, order_id: str) -> tuple[str, list, bytes]:
        with self.lock:
            txn = self.transactions.get(order_id)
            if txn is None:
                return self._json(404, {"status_code": "404", "status_message": "Transaction doesn't exist."})
            if txn.status == "pending":
                self._move(txn, "cancel")
            elif txn.status != "cancel":
                return self._json(412, {"status_code": "412", "transaction_status": txn.status,
                                        "status_message": "Merchant cannot modify the status of the transaction"})
            answer = self._describe(txn, status_message="Success, transaction is canceled")
        answer["status_code"] = "200"
        return self._json(200, answer)

    def _refund(self, order_id: str, body: dict) -> tuple[str, list, bytes]:
        refund_key = str(body.get("refund_key") or "")
        with self.lock:
            txn = self.transactions.get(order_id)
            if txn is None:
                return self._json(404, {"status_code": "404", "status_message": "Transaction doesn't exist."})
            done = next((r for r in txn.refunds if refund_key and r["refund_key"] == refund_key), None)
            if done is None:
                refunded = sum(r["refund_amount"] for r in txn.refunds)
                amount = body.get("amount", txn.gross_amount - refunded)
                if txn.status not in {"settlement", "partial_refund"}:
                    return self._json(412, {"status_code": "412", "transaction_status": txn.status,
                                            "status_message": "Transaction status cannot be refunded"})
                if (isinstance(amount, bool) or not isinstance(amount, int)
                        or not 0 < amount <= txn.gross_amount - refunded):
                    return self._json(400, {"status_code": "400", "status_message": "Invalid refund amount"})
                done = {"refund_key": refund_key or str(uuid.uuid4()), "refund_amount": amount,
                        "reason": str(body.get("reason", "")),
                        "refund_chargeback_id": len(txn.refunds) + 1}
                txn.refunds.append(done)
                self._move(txn, "refund" if refunded + amount == txn.gross_amount else "partial_refund")
            answer = self._describe(txn, status_message="Success, refund request is approved")
        answer.update(status_code="200", refund_key=done["refund_key"], refund_amount=gross_amount_text(
            done["refund_amount"]), refund_chargeback_id=done["refund_chargeback_id"])
        return self._json(200, answer)

    # --- State changes and notifications --------------------------------------------------

    def _move(self, txn: Transaction, status: str) -> None:
        txn.status = status
        if status == "settlement":
            txn.settlement_time = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        self._notify(txn)

    def _simulate(self, order_id: str, wanted: str) -> tuple[str, list, bytes]:
        if wanted not in SIMULATED:
            return self._json(400, {"status_code": "400",
                                    "status_message": f"status must be one of {sorted(SIMULATED)}"})
        with self.lock:
            txn = self.transactions.get(order_id)
            if txn is None:
                return self._json(404, {"status_code": "404", "status_message": "Transaction doesn't exist."})
            if txn.status != "pending":
                return self._json(409, {"status_code": "409", "transaction_status": txn.status,
                                        "status_message": f"Transaction is {txn.status}, not pending"})
            self._move(txn, wanted)
            answer = self._describe(txn, status_message="Simulated")
        return self._json(200, answer)

    def _notify(self, txn: Transaction, *, hold: bool = False) -> None:
        """Queue this state's notification (caller holds self.lock)."""
        if not txn.notification_url:
            return
        extra: dict[str, Any] = {"transaction_time": txn.transaction_time, "expiry_time": txn.expiry_time}
        if txn.va_number:
            extra["va_numbers"] = [{"bank": txn.bank, "va_number": txn.va_number}]
        if txn.settlement_time:
            extra["settlement_time"] = txn.settlement_time
        body = notification_body(
            order_id=txn.order_id, transaction_status=txn.status, gross_amount=txn.gross_amount,
            server_key=self.server_key, transaction_id=txn.transaction_id, payment_type=txn.payment_type, **extra,
        )
        if hold:
            self.held.setdefault(txn.order_id, []).append((txn.notification_url, body))
            return
        for _ in range(self.faults.duplicate_notifications):
            self._outbox.put((txn.notification_url, body))
        for url, held_body in self.held.pop(txn.order_id, []):
            for _ in range(self.faults.duplicate_notifications):
                self._outbox.put((url, held_body))

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None:
                return
            url, body = item
            self._deliver(url, body)
            self._outbox.task_done()

    def _deliver(self, url: str, body: bytes) -> None:
        record: dict[str, Any] = {"url": url, "body": body.decode(), "attempts": 0, "status": None}
        for attempt in range(DELIVERY_ATTEMPTS):
            record["attempts"] = attempt + 1
            request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - our own URL
                                             headers={"Content-Type": "application/json",
                                                      "Accept": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    record["status"] = response.status
            except urllib.error.HTTPError as exc:
                record["status"] = exc.code
            except (urllib.error.URLError, OSError) as exc:
                record["status"] = f"error: {exc}"
            if isinstance(record["status"], int) and (200 <= record["status"] < 300 or record["status"] == 403):
                break  # delivered (a 403 "forged" will not change by sending it again)
            if attempt < len(DELIVERY_BACKOFF_SECONDS):
                time.sleep(DELIVERY_BACKOFF_SECONDS[attempt])
        with self.lock:
            self.sent.append(record)

    def wait_idle(self, timeout: float = 10) -> None:
        """Block until every queued notification has been delivered (or given up on)."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self._outbox.put(None)

    # --- Pages and helpers ----------------------------------------------------------------

    def _pay_page(self, order_id: str, method: str) -> tuple[str, list, bytes]:
        with self.lock:
            txn = self.transactions.get(order_id)
            if txn is None:
                return self._html(404, "<h1>Transaksi tidak ditemukan / Transaction not found</h1>")
            paid_now = False
            if method == "POST" and txn.status == "pending":
                self._move(txn, "settlement")
                paid_now = True
            amount = f"Rp {txn.gross_amount:,}".replace(",", ".")
            lines = [f"<h1>Pembayaran / Payment {html.escape(txn.order_id)}</h1>",
                     f"<p class='amount'>{amount}</p>"]
            if txn.va_number:
                lines.append(f"<p>Virtual account {html.escape(txn.bank.upper())}: "
                             f"<strong class='va'>{html.escape(txn.va_number)}</strong></p>")
            if txn.qr_string:
                lines.append(f"<p>QRIS: <code class='qr'>{html.escape(txn.qr_string)}</code></p>")
            lines.append(f"<p>Status: <strong class='status'>{html.escape(txn.status)}</strong></p>")
            if paid_now:
                lines.append("<p class='paid'>Pembayaran berhasil / Payment successful</p>")
            if txn.status == "pending":
                lines.append("<form method='post'><button type='submit'>Bayar sekarang / Pay now</button></form>")
        return self._html(200, "\n".join(lines))

    def _describe(self, txn: Transaction, *, status_message: str) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "status_code": txn.status_code(),
            "status_message": status_message,
            "transaction_id": txn.transaction_id,
            "order_id": txn.order_id,
            "merchant_id": "OKTO88-FAKE",
            "gross_amount": gross_amount_text(txn.gross_amount),
            "currency": "IDR",
            "payment_type": txn.payment_type,
            "transaction_time": txn.transaction_time,
            "transaction_status": txn.status,
            "fraud_status": "accept",
            "expiry_time": txn.expiry_time,
        }
        if txn.va_number:
            answer["va_numbers"] = [{"bank": txn.bank, "va_number": txn.va_number}]
        if txn.qr_string:
            answer["qr_string"] = txn.qr_string
            pay_url = f"{self.base_url}/pay/{txn.order_id}"
            answer["actions"] = [{"name": "generate-qr-code", "method": "GET", "url": pay_url}]
            if txn.payment_type == "gopay":
                answer["actions"].append({"name": "deeplink-redirect", "method": "GET", "url": pay_url})
        if txn.settlement_time:
            answer["settlement_time"] = txn.settlement_time
        return answer

    @staticmethod
    def _qr_string(order_id: str, amount: int) -> str:
        digest = hashlib.sha256(order_id.encode()).hexdigest()[:16].upper()
        return (f"00020101021226620014COM.OKTO88.WWW0118{digest}0215{order_id[:15]:<15}"
                f"5204599953033605405{amount}5802ID5912OKTO88 FAKE6007JAKARTA6304ABCD")

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "transactions": {k: {**v.__dict__, "refunds": list(v.refunds)} for k, v in self.transactions.items()},
                "faults": dict(self.faults.__dict__),
                "notifications": list(self.sent),
                "sink": list(self.sink),
            }

    @staticmethod
    def _load(raw: bytes) -> Any:
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return None

    @staticmethod
    def _json(status: int, body: dict) -> tuple[str, list, bytes]:
        data = json.dumps(body).encode()
        return _status_line(status), [("Content-Type", "application/json"), ("Content-Length", str(len(data)))], data

    @staticmethod
    def _html(status: int, content: str) -> tuple[str, list, bytes]:
        page = ("<!doctype html><html lang='id'><head><meta charset='utf-8'><title>Fake gateway</title></head>"
                f"<body>{content}</body></html>").encode()
        return _status_line(status), [("Content-Type", "text/html; charset=utf-8"),
                                      ("Content-Length", str(len(page)))], page


_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            406: "Not Acceptable", 409: "Conflict", 412: "Precondition Failed", 500: "Internal Server Error"}


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Status')}"


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


class FakeGatewayServer:
    """A running fake gateway (see start_fake_gateway)."""

    def __init__(self, *, host: str, port: int, server_key: str, quiet: bool = True):
        self.app = FakeGateway(server_key=server_key)
        handler = _QuietHandler if quiet else WSGIRequestHandler
        self._server = make_server(host, port, self.app, server_class=_ThreadingWSGIServer, handler_class=handler)
        self.host, self.port = host, self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self.app.base_url = self.url
        self._thread: threading.Thread | None = None

    @property
    def server_key(self) -> str:
        return self.app.server_key

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> FakeGatewayServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.app.close()

    def set_faults(self, **faults: Any) -> None:
        """Replace the faults (no arguments: none)."""
        with self.app.lock:
            self.app.faults = Faults.from_json(faults)

    def simulate(self, order_id: str, status: str) -> dict:
        _status, _headers, body = self.app._simulate(order_id, status)
        answer = json.loads(body)
        if not _status.startswith("200"):
            raise ValueError(f"cannot simulate {status} for {order_id}: {answer.get('status_message')}")
        return answer

    def state(self) -> dict:
        return self.app.state()

    def notifications(self, order_id: str | None = None) -> list[dict]:
        """Notifications delivered (or given up on) so far, oldest first."""
        sent = self.app.state()["notifications"]
        return [n for n in sent if order_id is None or json.loads(n["body"]).get("order_id") == order_id]

    def wait_idle(self, timeout: float = 10) -> None:
        self.app.wait_idle(timeout)


def start_fake_gateway(*, host: str = "127.0.0.1", port: int = 0,
                       server_key: str = DEFAULT_SERVER_KEY) -> FakeGatewayServer:
    """Start the fake on `port` (0: a free one) in a background thread."""
    return FakeGatewayServer(host=host, port=port, server_key=server_key).start()
