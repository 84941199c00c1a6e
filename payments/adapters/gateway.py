"""HTTP client for the payment gateway's Core API (Midtrans-style).

    POST {base}/v2/charge               charge (bank_transfer | qris | gopay)
    POST {base}/v2/{order_id}/cancel    cancel a pending transaction
    POST {base}/v2/{order_id}/refund    refund a settled one (refund_key makes it idempotent)
    GET  {base}/v2/{order_id}/status    the transaction as the gateway sees it

Basic auth with the server key as the user and an empty password. The gateway answers with
`status_code` in the JSON body (a string: "200", "201", "406", ...); the HTTP status usually
matches, the body wins when both are there.

Errors: connection errors, timeouts, 5xx and 429 are `GatewayUnavailable` (transient, retry
with the same order id); any other 4xx is `GatewayRejected` (permanent). A charge for an
order id the gateway already knows ("406 duplicate order id") is a retry of ours whose first
answer was lost: the charge is read back with the status call and returned as a success.

Every request goes through okto88.partner_calls (partner "gateway", operations charge, status,
cancel, refund): recorded, and refused without being sent while the gateway's circuit breaker
is open (`GatewayCircuitOpen`, a GatewayUnavailable). The body's status code is what the
recording classifies, as below.

Settings are read on every call (tests point them at the fake gateway).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.utils import timezone

from okto88.circuit_breaker import CircuitOpen
from okto88.partner_calls import partner_call
from payments.errors import GatewayCircuitOpen, GatewayRejected, GatewayUnavailable

logger = logging.getLogger(__name__)

JAKARTA = ZoneInfo("Asia/Jakarta")
DEFAULT_VA_BANK = "bca"
CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone")
# Body status codes that mean "done" for the calls we make; a status read also answers
# "202" for a denied, expired or cancelled transaction.
CHARGE_CODES = frozenset({"200", "201"})
STATUS_CODES = frozenset({"200", "201", "202"})
CHANGE_CODES = frozenset({"200"})
DUPLICATE_ORDER_ID = "406"

_session = requests.Session()


@dataclass(frozen=True)
class GatewayTransaction:
    """A transaction as the gateway described it (charge or status answer)."""

    order_id: str
    transaction_id: str
    transaction_status: str  # pending, settlement, capture, expire, cancel, deny, refund, ...
    status_code: str
    payment_type: str
    gross_amount: int
    bank: str = ""
    va_number: str = ""
    qr_string: str = ""
    payment_url: str = ""
    expiry_time: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


def _base_url() -> str:
    return settings.PAYMENT_GATEWAY_URL.rstrip("/")


def _timeout() -> float:
    return float(settings.PARTNER_HTTP_TIMEOUT_SECONDS)


def _amount(value: Any) -> int:
    # "150000.00" → 150000; rupiah have no minor unit.
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return 0


def _transaction_from(body: dict[str, Any]) -> GatewayTransaction:
    va_numbers = body.get("va_numbers") or []
    bank = va_number = ""
    if va_numbers and isinstance(va_numbers[0], dict):
        bank, va_number = str(va_numbers[0].get("bank", "")), str(va_numbers[0].get("va_number", ""))
    actions = {a.get("name"): a.get("url", "") for a in body.get("actions") or [] if isinstance(a, dict)}
    # An e-wallet pays in its app (deeplink); QRIS shows a code (its image URL).
    payment_url = actions.get("deeplink-redirect") or actions.get("generate-qr-code") or ""
    return GatewayTransaction(
        order_id=str(body.get("order_id", "")),
        transaction_id=str(body.get("transaction_id", "")),
        transaction_status=str(body.get("transaction_status", "")),
        status_code=str(body.get("status_code", "")),
        payment_type=str(body.get("payment_type", "")),
        gross_amount=_amount(body.get("gross_amount")),
        bank=bank,
        va_number=va_number,
        qr_string=str(body.get("qr_string", "")),
        payment_url=payment_url,
        expiry_time=str(body.get("expiry_time", "")),
        raw=body,
    )


def _request(operation: str, method: str, path: str, *, accepted: frozenset[str], json_body: dict | None = None,
             headers: dict | None = None) -> dict:
    """One call; returns the JSON body of a success or raises a gateway error."""
    url = f"{_base_url()}{path}"
    try:
        with partner_call(partner="gateway", operation=operation) as call:
            response = _session.request(
                method, url, json=json_body, headers={"Accept": "application/json", **(headers or {})},
                auth=(settings.PAYMENT_GATEWAY_SERVER_KEY, ""), timeout=_timeout(),
            )
            body = _json_body(response)
            status_code = str(body.get("status_code") or response.status_code)
            call.status = _effective_status(response.status_code, status_code)
    except CircuitOpen as exc:
        raise GatewayCircuitOpen(until=exc.until, retry_after_seconds=exc.retry_after_seconds) from exc
    except requests.Timeout as exc:
        raise GatewayUnavailable(f"The payment gateway did not answer in time ({method} {path}).") from exc
    except requests.RequestException as exc:
        raise GatewayUnavailable(f"The payment gateway could not be reached ({method} {path}).") from exc
    message = str(body.get("status_message") or response.reason or "")
    http_status = response.status_code
    if http_status >= 500 or http_status == 429 or status_code.startswith("5") or status_code == "429":
        logger.warning("payment gateway unavailable", extra={"path": path, "status": status_code})
        raise GatewayUnavailable(f"The payment gateway answered {status_code}: {message}".strip())
    if http_status >= 400 or status_code not in accepted:
        raise GatewayRejected(f"The payment gateway answered {status_code}: {message}".strip(),
                              gateway_status_code=status_code)
    return body


def _json_body(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _effective_status(http_status: int, status_code: str) -> int:
    """The status the call is classified by: the body's code when it is worse than the HTTP
    status (the gateway may answer 200 with "status_code": "503" in the body)."""
    body_status = int(status_code) if status_code.isdigit() else http_status
    return max(http_status, body_status) if http_status < 400 else http_status


def _custom_expiry(expires_at: datetime | None) -> dict | None:
    if expires_at is None:
        return None
    now = timezone.now()
    minutes = max(1, math.ceil((expires_at - now) / timedelta(minutes=1)))
    return {
        "order_time": now.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M:%S %z"),
        "expiry_duration": minutes,
        "unit": "minute",
    }


def gateway_charge(
    *, order_id: str, gross_amount: int, payment_type: str, customer: dict | None = None,
    expires_at: datetime | None = None, bank: str = DEFAULT_VA_BANK,
) -> GatewayTransaction:
    """Charge `gross_amount` rupiah; safe to repeat with the same order id."""
    body: dict[str, Any] = {
        "payment_type": payment_type,
        "transaction_details": {"order_id": order_id, "gross_amount": int(gross_amount)},
        "customer_details": {k: str(v) for k, v in (customer or {}).items() if k in CUSTOMER_FIELDS and v},
    }
    if payment_type == "bank_transfer":
        body["bank_transfer"] = {"bank": bank}
    custom_expiry = _custom_expiry(expires_at)
    if custom_expiry:
        body["custom_expiry"] = custom_expiry
    headers = {}
    if settings.PAYMENT_NOTIFICATION_URL:
        headers["X-Override-Notification"] = settings.PAYMENT_NOTIFICATION_URL
    try:
        answer = _request("charge", "POST", "/v2/charge", accepted=CHARGE_CODES, json_body=body, headers=headers)
    except GatewayRejected as exc:
        if exc.gateway_status_code != DUPLICATE_ORDER_ID:
            raise
        # Our earlier charge went through but its answer was lost (a timeout): read it back.
        existing = gateway_status(order_id=order_id)
        if existing.gross_amount != int(gross_amount) or existing.payment_type != payment_type:
            raise GatewayRejected(
                f"Order id {order_id} is already charged with another amount or payment type.",
                gateway_status_code=DUPLICATE_ORDER_ID,
            ) from exc
        return existing
    return _transaction_from(answer)


def gateway_status(*, order_id: str) -> GatewayTransaction:
    return _transaction_from(_request("status", "GET", f"/v2/{order_id}/status", accepted=STATUS_CODES))


def gateway_cancel(*, order_id: str) -> GatewayTransaction:
    """Cancel a pending transaction. A settled one cannot be cancelled (412): refund it."""
    return _transaction_from(_request("cancel", "POST", f"/v2/{order_id}/cancel", accepted=CHANGE_CODES))


def gateway_refund(*, order_id: str, refund_key: str, amount: int, reason: str) -> GatewayTransaction:
    """Refund a settled transaction; the same refund_key twice refunds once."""
    body = {"refund_key": refund_key, "amount": int(amount), "reason": reason[:255]}
    return _transaction_from(_request("refund", "POST", f"/v2/{order_id}/refund", accepted=CHANGE_CODES,
                                      json_body=body))
