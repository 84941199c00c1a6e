"""HTTP client for the courier aggregator (rates, bookings, cancellations).

The contract (served in development and tests by logistics/fake_courier.py):

- `POST {base}/v1/rates` {"origin", "destination", "weight_g"}
  → 200 {"rates": [{"courier", "courier_name", "service", "price", "eta_days"}, ...]}
- `POST {base}/v1/shipments` with `Idempotency-Key: <reference>`
  {"reference", "courier", "service", "origin", "destination", "weight_g", "callback_url"}
  → 201 (or 200 for a replayed key) {"waybill", "status": "booked", "price"}
- `GET {base}/v1/shipments?reference=` → 200 {"shipments": [{"waybill", "status", "price", ...}]}
- `POST {base}/v1/shipments/{waybill}/cancel` → 200 {"waybill", "status": "cancelled"}

Every request carries `X-Api-Key`. Failures are sorted once, here: connection errors,
timeouts, 5xx and 429 are CourierUnavailable (the same request may be sent again: bookings
are idempotent on the key), any other 4xx is CourierRejected with the courier's message.
Every request goes through okto88.partner_calls (partner "courier", operations rates, book,
lookup, cancel): recorded, and refused without being sent while the courier's circuit breaker
is open (CourierCircuitOpen, a CourierUnavailable).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from urllib.parse import quote

import requests
from django.conf import settings

from logistics.errors import CourierCircuitOpen, CourierRejected, CourierUnavailable
from okto88.circuit_breaker import CircuitOpen
from okto88.partner_calls import partner_call

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CourierRate:
    courier: str
    courier_name: str
    service: str
    price: int
    eta_days: int


@dataclass(frozen=True)
class CourierBooking:
    waybill: str
    status: str
    price: int


_sessions = threading.local()


def _session() -> requests.Session:
    # One pooled session per thread: requests.Session is not documented as thread-safe, and
    # a Celery worker or gunicorn thread reuses its connections to the courier.
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


class CourierClient:
    def __init__(self, *, base_url: str, api_key: str, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _post(self, operation: str, path: str, *, body: dict | None = None, headers: dict | None = None) -> dict:
        return self._request(operation, "POST", path, body=body or {}, headers=headers)

    def _request(self, operation: str, method: str, path: str, *, body: dict | None = None,
                 headers: dict | None = None, params: dict | None = None) -> dict:
        url = f"{self.base_url}{path}"
        try:
            with partner_call(partner="courier", operation=operation) as call:
                response = _session().request(
                    method, url, json=body, params=params, timeout=self.timeout,
                    headers={"X-Api-Key": self.api_key, "Accept": "application/json", **(headers or {})},
                )
                call.status = response.status_code
        except CircuitOpen as exc:
            raise CourierCircuitOpen(until=exc.until, retry_after_seconds=exc.retry_after_seconds) from exc
        except requests.RequestException as exc:
            logger.warning("courier unreachable: %s %s", path, exc.__class__.__name__)
            raise CourierUnavailable(f"The courier did not answer ({exc.__class__.__name__}).") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise CourierUnavailable(f"The courier answered {response.status_code}; try again later.",
                                     extra={"courier_status": response.status_code})
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            message = _courier_message(data) or f"The courier refused the request ({response.status_code})."
            raise CourierRejected(message, extra={"courier_status": response.status_code})
        if not isinstance(data, dict):
            # A 2xx we cannot read: the booking may have happened, so it is safe only to retry.
            raise CourierUnavailable("The courier sent an unreadable answer.")
        return data

    def rates_get(self, *, origin: dict, destination: dict, weight_g: int) -> list[CourierRate]:
        data = self._post("rates", "/v1/rates",
                          body={"origin": origin, "destination": destination, "weight_g": weight_g})
        try:
            return [
                CourierRate(courier=str(rate["courier"]), courier_name=str(rate.get("courier_name") or rate["courier"]),
                            service=str(rate["service"]), price=int(rate["price"]), eta_days=int(rate["eta_days"]))
                for rate in data.get("rates", [])
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise CourierUnavailable("The courier sent rates we cannot read.") from exc

    def shipment_create(self, *, reference: str, courier: str, service: str, origin: dict, destination: dict,
                        weight_g: int, callback_url: str) -> CourierBooking:
        data = self._post(
            "book", "/v1/shipments",
            headers={"Idempotency-Key": reference},
            body={"reference": reference, "courier": courier, "service": service, "origin": origin,
                  "destination": destination, "weight_g": weight_g, "callback_url": callback_url},
        )
        try:
            return CourierBooking(waybill=str(data["waybill"]), status=str(data.get("status", "booked")),
                                  price=int(data.get("price", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise CourierUnavailable("The courier sent a booking we cannot read.") from exc

    def shipment_find(self, *, reference: str) -> CourierBooking | None:
        """The live booking made under this reference (its Idempotency-Key), if any."""
        data = self._request("lookup", "GET", "/v1/shipments", params={"reference": reference})
        try:
            found = [CourierBooking(waybill=str(item["waybill"]), status=str(item["status"]),
                                    price=int(item.get("price", 0)))
                     for item in data.get("shipments", [])]
        except (KeyError, TypeError, ValueError) as exc:
            raise CourierUnavailable("The courier sent shipments we cannot read.") from exc
        return found[0] if found else None

    def shipment_cancel(self, *, waybill: str) -> str:
        data = self._post("cancel", f"/v1/shipments/{quote(waybill, safe='')}/cancel")
        return str(data.get("status", "cancelled"))


def _courier_message(data) -> str:
    if isinstance(data, dict):
        for key in ("message", "detail", "error"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key][:300]
    return ""


def courier_client() -> CourierClient:
    return CourierClient(base_url=settings.COURIER_URL, api_key=settings.COURIER_API_KEY,
                         timeout=settings.PARTNER_HTTP_TIMEOUT_SECONDS)
