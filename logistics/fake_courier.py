"""The project's fake courier aggregator: a real HTTP server with in-memory state.

It speaks the contract of logistics/adapters/courier.py, so development (`manage.py
fake_courier --port 8402`) and the tests (`start_fake_courier(port=0)`) exercise the real
client over real HTTP. Nothing here imports the rest of okto88.

API (header `X-Api-Key` required):
- `POST /v1/rates` — prices from weight and the origin/destination areas (same city < same
  province < same island group < elsewhere; Java = postal codes starting 1, 4, 5, 6).
- `POST /v1/shipments` — books once per `Idempotency-Key`: the same key answers the same
  waybill (200) and never books again; a key reused for a different courier/service → 409.
- `GET /v1/shipments?reference=` — the bookings made under a reference.
- `POST /v1/shipments/{waybill}/cancel` — booked → cancelled; idempotent; 409 once picked up.

Tracking callbacks are POSTed to the booking's `callback_url` as JSON {event_id, waybill,
reference, status, occurred_at, location} with `X-Courier-Signature: hex(HMAC-SHA256(secret,
raw body))`.

Test and demo controls (no API key):
- `POST /_advance/{waybill}` {"status": "picked_up"|"in_transit"|"delivered"|"returned"} —
  moves the shipment and sends the callback; answers the callback deliveries' HTTP statuses.
- `POST /_faults` {"latency_ms": int, "fail_next": n (500s), "timeout_next": n (the request is
  processed — a booking is made — but the answer comes only after `timeout_seconds`, default
  3), "reject_destination_postal_prefix": "99" (422 "destination not served"),
  "duplicate_callbacks": n (each callback is sent n extra times), "out_of_order": bool (a
  callback is held back and sent after the next one for the same waybill)}. Each POST replaces
  all faults; `{}` clears them.
- `GET /_state` — {"bookings": {reference: count}, "shipments": {waybill: {...}}, "calls": {endpoint:
  count}} (every partner API request received since the server started, answered or not).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

logger = logging.getLogger(__name__)

TRACKING_STATUSES = ("picked_up", "in_transit", "delivered", "returned")
AUTO_ADVANCE_NEXT = {"booked": "picked_up", "picked_up": "in_transit", "in_transit": "delivered"}

# courier code → (display name, waybill prefix, {service: (first kg, next kg, base eta days)})
COURIERS: dict[str, tuple[str, str, dict[str, tuple[int, int, int]]]] = {
    "jne": ("JNE", "JNE", {"REG": (9_000, 7_000, 2), "YES": (18_000, 14_000, 1)}),
    "sicepat": ("SiCepat", "SCP", {"REG": (8_500, 6_500, 2), "BEST": (16_000, 12_000, 1)}),
    "jnt": ("J&T Express", "JT", {"EZ": (9_000, 7_500, 2)}),
    "anteraja": ("AnterAja", "AA", {"REG": (8_000, 6_500, 3)}),
}
# same city, same province, same island group, elsewhere
ZONE_FACTOR = (1.0, 1.3, 2.0, 3.5)
ZONE_EXTRA_DAYS = (0, 0, 1, 3)
JAVA_POSTAL_FIRST_DIGITS = {"1", "4", "5", "6"}


def _norm(value) -> str:
    return " ".join(str(value or "").lower().split())


def _zone(origin: dict, destination: dict) -> int:
    if _norm(origin.get("city")) and _norm(origin.get("city")) == _norm(destination.get("city")):
        return 0
    if _norm(origin.get("province")) and _norm(origin.get("province")) == _norm(destination.get("province")):
        return 1
    a, b = str(origin.get("postal_code") or "")[:1], str(destination.get("postal_code") or "")[:1]
    if a and (a == b or (a in JAVA_POSTAL_FIRST_DIGITS and b in JAVA_POSTAL_FIRST_DIGITS)):
        return 2
    return 3


def rate_price(*, courier: str, service: str, origin: dict, destination: dict, weight_g: int) -> int:
    first_kg, next_kg, _ = COURIERS[courier][2][service]
    kilos = max(1, math.ceil(weight_g / 1000))
    raw = (first_kg + next_kg * (kilos - 1)) * ZONE_FACTOR[_zone(origin, destination)]
    return int(math.ceil(raw / 500) * 500)  # couriers quote in steps of Rp 500


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Faults:
    latency_ms: int = 0
    fail_next: int = 0
    timeout_next: int = 0
    timeout_seconds: float = 3.0
    reject_destination_postal_prefix: str = ""
    duplicate_callbacks: int = 0
    out_of_order: bool = False

    @classmethod
    def from_json(cls, data: dict) -> Faults:
        # Counts: `true` means once (int(True) == 1).
        return cls(
            latency_ms=int(data.get("latency_ms") or 0),
            fail_next=int(data.get("fail_next") or 0),
            timeout_next=int(data.get("timeout_next") or 0),
            timeout_seconds=float(data.get("timeout_seconds") or 3.0),
            reject_destination_postal_prefix=str(data.get("reject_destination_postal_prefix") or ""),
            duplicate_callbacks=int(data.get("duplicate_callbacks") or 0),
            out_of_order=bool(data.get("out_of_order")),
        )


@dataclass
class FakeShipment:
    waybill: str
    reference: str
    courier: str
    service: str
    origin: dict
    destination: dict
    weight_g: int
    price: int
    callback_url: str
    status: str = "booked"
    deliveries: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"waybill": self.waybill, "reference": self.reference, "courier": self.courier,
                "service": self.service, "status": self.status, "price": self.price,
                "callback_url": self.callback_url, "deliveries": list(self.deliveries)}


class FakeCourierApp:
    """The WSGI application. State is guarded by one lock; callbacks are sent outside it."""

    def __init__(self, *, api_key: str, webhook_secret: str):
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.lock = threading.Lock()
        self.faults = Faults()
        self.shipments: dict[str, FakeShipment] = {}
        self.by_key: dict[str, str] = {}  # Idempotency-Key → waybill
        self.bookings: dict[str, int] = {}  # reference → bookings actually made
        self.held: dict[str, bytes] = {}  # waybill → callback body held back (out_of_order)
        self.calls: dict[str, int] = {}  # partner API endpoint → requests received (tests count them)
        self.url_map = Map([
            Rule("/v1/rates", endpoint="rates", methods=["POST"]),
            Rule("/v1/shipments", endpoint="shipment_create", methods=["POST"]),
            Rule("/v1/shipments", endpoint="shipment_list", methods=["GET"]),
            Rule("/v1/shipments/<waybill>/cancel", endpoint="shipment_cancel", methods=["POST"]),
            Rule("/_advance/<waybill>", endpoint="advance", methods=["POST"]),
            Rule("/_faults", endpoint="faults", methods=["POST"]),
            Rule("/_state", endpoint="state", methods=["GET"]),
        ])

    # --- WSGI ----------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            if endpoint.startswith(("rates", "shipment")):
                response = self._partner_api(request, endpoint, args)
            else:
                response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = _json({"message": exc.description or exc.name}, exc.code or 500)
        return response(environ, start_response)

    def _partner_api(self, request: Request, endpoint: str, args: dict) -> Response:
        if not hmac.compare_digest(request.headers.get("X-Api-Key", ""), self.api_key):
            return _json({"error": "unauthorized", "message": "invalid api key"}, 401)
        with self.lock:
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            faults = self.faults
            fail = faults.fail_next > 0
            if fail:
                faults.fail_next -= 1
            stall = not fail and faults.timeout_next > 0
            if stall:
                faults.timeout_next -= 1
            latency = faults.latency_ms / 1000
            stall_seconds = faults.timeout_seconds
        if latency:
            time.sleep(latency)
        if fail:
            return _json({"error": "internal_error", "message": "courier backend failure"}, 500)
        body = request.get_json(silent=True)
        if not isinstance(body, dict) and endpoint in ("rates", "shipment_create"):
            return _json({"error": "invalid_request", "message": "send a JSON object"}, 400)
        response = getattr(self, f"on_{endpoint}")(request, body or {}, **args)
        if stall:
            # Processed, then answered too late: the client times out not knowing the outcome.
            time.sleep(stall_seconds)
        return response

    # --- partner API ---------------------------------------------------------------------

    def _rejected_destination(self, destination: dict) -> bool:
        prefix = self.faults.reject_destination_postal_prefix
        return bool(prefix) and str(destination.get("postal_code") or "").startswith(prefix)

    def on_rates(self, request: Request, body: dict) -> Response:
        problem = _address_problem(body)
        if problem:
            return _json({"error": "invalid_request", "message": problem}, 422)
        if self._rejected_destination(body["destination"]):
            return _json({"error": "destination_not_served", "message": "destination not served"}, 422)
        zone = _zone(body["origin"], body["destination"])
        rates = [
            {"courier": code, "courier_name": name, "service": service,
             "price": rate_price(courier=code, service=service, origin=body["origin"],
                                 destination=body["destination"], weight_g=body["weight_g"]),
             "eta_days": eta + ZONE_EXTRA_DAYS[zone]}
            for code, (name, _prefix, services) in COURIERS.items()
            for service, (_first, _next, eta) in services.items()
        ]
        return _json({"rates": sorted(rates, key=lambda rate: rate["price"])})

    def on_shipment_create(self, request: Request, body: dict) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return _json({"error": "invalid_request", "message": "Idempotency-Key header is required"}, 400)
        problem = _address_problem(body)
        if problem:
            return _json({"error": "invalid_request", "message": problem}, 422)
        courier, service = body.get("courier"), body.get("service")
        if courier not in COURIERS or service not in COURIERS[courier][2]:
            return _json({"error": "unknown_service", "message": f"unknown service {courier} {service}"}, 422)
        with self.lock:
            if key in self.by_key:
                existing = self.shipments[self.by_key[key]]
                if (existing.courier, existing.service) != (courier, service):
                    return _json({"error": "idempotency_conflict",
                                  "message": "Idempotency-Key reused for a different request"}, 409)
                return _json({"waybill": existing.waybill, "status": existing.status, "price": existing.price})
            if self._rejected_destination(body["destination"]):
                return _json({"error": "destination_not_served", "message": "destination not served"}, 422)
            reference = str(body.get("reference") or key)
            waybill = f"{COURIERS[courier][1]}{secrets.randbelow(10**12):012d}"
            shipment = FakeShipment(
                waybill=waybill, reference=reference, courier=courier, service=service,
                origin=body["origin"], destination=body["destination"], weight_g=body["weight_g"],
                price=rate_price(courier=courier, service=service, origin=body["origin"],
                                 destination=body["destination"], weight_g=body["weight_g"]),
                callback_url=str(body.get("callback_url") or ""),
            )
            self.shipments[waybill] = shipment
            self.by_key[key] = waybill
            self.bookings[reference] = self.bookings.get(reference, 0) + 1
        return _json({"waybill": waybill, "status": "booked", "price": shipment.price}, 201)

    def on_shipment_list(self, request: Request, body: dict) -> Response:
        reference = request.args.get("reference", "")
        with self.lock:
            found = [s.as_json() for s in self.shipments.values() if s.reference == reference]
        return _json({"shipments": found})

    def on_shipment_cancel(self, request: Request, body: dict, waybill: str) -> Response:
        with self.lock:
            shipment = self.shipments.get(waybill)
            if shipment is None:
                return _json({"error": "not_found", "message": f"unknown waybill {waybill}"}, 404)
            if shipment.status not in ("booked", "cancelled"):
                return _json({"error": "not_cancellable",
                              "message": f"shipment already {shipment.status.replace('_', ' ')}"}, 409)
            shipment.status = "cancelled"
        return _json({"waybill": waybill, "status": "cancelled"})

    # --- controls ------------------------------------------------------------------------

    def on_faults(self, request: Request) -> Response:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return _json({"message": "send a JSON object"}, 400)
        try:
            faults = Faults.from_json(data)
        except (TypeError, ValueError) as exc:
            return _json({"message": str(exc)}, 400)
        with self.lock:
            self.faults = faults
        return _json({"faults": faults.__dict__})

    def on_state(self, request: Request) -> Response:
        with self.lock:
            return _json({"bookings": dict(self.bookings),
                          "shipments": {w: s.as_json() for w, s in self.shipments.items()},
                          "faults": dict(self.faults.__dict__), "calls": dict(self.calls)})

    def on_advance(self, request: Request, waybill: str) -> Response:
        data = request.get_json(silent=True) or {}
        status = data.get("status")
        if status not in TRACKING_STATUSES:
            return _json({"message": f"status must be one of {', '.join(TRACKING_STATUSES)}"}, 400)
        try:
            deliveries = self.advance(waybill, status)
        except KeyError:
            raise NotFound(f"unknown waybill {waybill}") from None
        return _json({"waybill": waybill, "status": status, "deliveries": deliveries})

    def advance(self, waybill: str, status: str) -> list[int | str]:
        """Move the shipment and send its callback(s); return each delivery's HTTP status."""
        with self.lock:
            shipment = self.shipments[waybill]
            shipment.status = status
            location = {"picked_up": shipment.origin.get("city"),
                        "in_transit": f"Hub {shipment.origin.get('province') or ''}".strip(),
                        "delivered": shipment.destination.get("city"),
                        "returned": shipment.origin.get("city")}[status]
            body = json.dumps({
                "event_id": f"evt_{uuid.uuid4().hex}", "waybill": waybill, "reference": shipment.reference,
                "status": status, "occurred_at": datetime.now(UTC).isoformat(), "location": location or "",
            }).encode()
            copies = 1 + max(0, self.faults.duplicate_callbacks)
            to_send = [body] * copies
            if self.faults.out_of_order:
                held = self.held.pop(waybill, None)
                if held is None:
                    self.held[waybill] = body  # sent after the next callback for this waybill
                    to_send = []
                else:
                    to_send.append(held)
            callback_url = shipment.callback_url
        results = [self._deliver(callback_url, payload) for payload in to_send]
        with self.lock:
            shipment.deliveries.extend({"status": status, "result": r} for r in results)
        return results

    def _deliver(self, url: str, body: bytes) -> int | str:
        if not url:
            return "no callback_url"
        try:
            response = requests.post(url, data=body, timeout=10, headers={
                "Content-Type": "application/json", "X-Courier-Signature": sign(self.webhook_secret, body)})
        except requests.RequestException as exc:
            logger.warning("fake courier: callback to %s failed: %s", url, exc)
            return exc.__class__.__name__
        return response.status_code

    def auto_advance_once(self) -> None:
        with self.lock:
            due = [(w, AUTO_ADVANCE_NEXT[s.status]) for w, s in self.shipments.items() if s.status in AUTO_ADVANCE_NEXT]
        for waybill, status in due:
            self.advance(waybill, status)


def _address_problem(body: dict) -> str:
    for side in ("origin", "destination"):
        area = body.get(side)
        if not isinstance(area, dict) or not all(area.get(k) for k in ("province", "city", "postal_code")):
            return f"{side} needs province, city and postal_code"
    weight = body.get("weight_g")
    if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
        return "weight_g must be a positive integer"
    return ""


def _json(data: dict, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


class FakeCourierServer:
    """A running fake courier (in a background thread) and the helpers tests drive it with."""

    def __init__(self, app: FakeCourierApp, server, thread: threading.Thread, *, host: str = "127.0.0.1"):
        self.app = app
        self._server = server
        self._thread = thread
        self._auto_stop = threading.Event()
        reachable = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - only compared
        self.url = f"http://{reachable}:{server.server_port}"

    def set_faults(self, **faults) -> dict:
        response = requests.post(f"{self.url}/_faults", json=faults, timeout=5)
        response.raise_for_status()
        return response.json()["faults"]

    def advance(self, waybill: str, status: str) -> list[int | str]:
        response = requests.post(f"{self.url}/_advance/{waybill}", json={"status": status}, timeout=30)
        response.raise_for_status()
        return response.json()["deliveries"]

    def state(self) -> dict:
        response = requests.get(f"{self.url}/_state", timeout=5)
        response.raise_for_status()
        return response.json()

    def bookings(self, reference: str) -> int:
        return self.state()["bookings"].get(reference, 0)

    def calls(self, endpoint: str = "rates") -> int:
        """How many `endpoint` requests (rates, shipment_create, …) the server has received so far."""
        return self.state()["calls"].get(endpoint, 0)

    def auto_advance(self, seconds: float) -> None:
        """Demo mode: every `seconds`, move each live shipment one step towards delivered."""

        def loop() -> None:
            while not self._auto_stop.wait(seconds):
                try:
                    self.app.auto_advance_once()
                except Exception:
                    logger.exception("fake courier: auto-advance failed")

        threading.Thread(target=loop, name="fake-courier-auto-advance", daemon=True).start()

    def serve_forever(self) -> None:
        self._thread.join()

    def stop(self) -> None:
        self._auto_stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start_fake_courier(*, port: int = 0, host: str = "127.0.0.1", api_key: str,
                       webhook_secret: str) -> FakeCourierServer:
    app = FakeCourierApp(api_key=api_key, webhook_secret=webhook_secret)
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"fake-courier-{server.server_port}", daemon=True)
    thread.start()
    return FakeCourierServer(app, server, thread, host=host)
