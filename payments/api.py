"""The payment gateway's notifications (webhook).

- POST /api/v1/payments/notifications/ (public: the gateway has no API key; the signature
  inside the body is the authentication)

The body is verified exactly as received (request.body), never re-serialised, and every change
it announces is confirmed with the gateway's status request before it is applied. Answers:
200 {"status": "ok"} applied, "ignored" (valid but not forward: late, replayed out of order,
unknown reference), "duplicate" (received before), "refused" (the gateway's status request
disagrees: status, transaction id or amount; a late genuine one looks the same, so no retry is
asked for); 403 `invalid_signature`; 400 `invalid_notification`, `notification_status_mismatch`
(transaction_status does not go with the signed status_code); 503 `notification_unconfirmed`
(the status request failed: the gateway retries). Every attempt is stored as a PaymentEvent
(of one that does not verify, only an excerpt). 413 `payload_too_large` past
NOTIFICATION_MAX_BODY_BYTES (nothing read or stored); 429 past NOTIFICATION_THROTTLE_RATE
from one source address.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from okto88.api.notifications import NotificationSourceThrottle, notification_body_read
from payments import services


class PaymentNotificationApi(APIView):
    public = True
    authentication_classes = []
    # Per source address, generously (NOTIFICATION_THROTTLE_RATE): the gateway sends from a
    # few addresses and retries what it could not deliver; a flood from elsewhere stops early.
    throttle_classes = [NotificationSourceThrottle]
    parser_classes = [JSONParser]  # documents the media type; the view reads the raw bytes
    problem_statuses = [403, 413, 503]

    @extend_schema(
        operation_id="payments_notifications_create", tags=["payments"],
        request=inline_serializer("PaymentNotification", {
            "order_id": serializers.CharField(help_text="Our order number (the payment's reference)"),
            "transaction_id": serializers.CharField(),
            "transaction_status": serializers.ChoiceField(
                choices=["pending", "settlement", "capture", "expire", "cancel", "deny", "refund"]),
            "status_code": serializers.CharField(help_text='"200", "201" or "202"'),
            "gross_amount": serializers.CharField(help_text='Rupiah with two decimals, e.g. "150000.00"'),
            "payment_type": serializers.CharField(required=False),
            "signature_key": serializers.CharField(
                help_text="SHA-512 hex of order_id + status_code + gross_amount + server key"),
        }),
        responses={
            200: inline_serializer("PaymentNotificationReceived", {
                "status": serializers.ChoiceField(choices=["ok", "ignored", "duplicate", "refused"]),
            }),
            400: OpenApiResponse(description="`invalid_notification`: not JSON or a required field is missing; "
                                             "`notification_status_mismatch`: transaction_status does not go "
                                             "with status_code (problem+json)"),
            403: OpenApiResponse(description="`invalid_signature`: the signature_key does not verify; the "
                                             "attempt is recorded (problem+json)"),
            503: OpenApiResponse(description="`notification_unconfirmed`: the gateway's status request failed; "
                                             "the notification is stored, not applied; send it again "
                                             "(problem+json)"),
        },
        examples=[OpenApiExample("settlement", request_only=True, value={
            "order_id": "OK-2026-000123", "transaction_id": "9aed5972-5b6a-401e-894b-a32c91ed1a3a",
            "transaction_status": "settlement", "status_code": "200", "gross_amount": "150000.00",
            "payment_type": "bank_transfer", "signature_key": "<sha512 hex>",
        })],
        description="Asynchronous payment notifications from the payment gateway. Idempotent: the same "
                    "notification again answers `duplicate`; a status that would move the payment backwards "
                    "(a late `pending` after `settlement`) answers `ignored`; one the gateway's status request "
                    "does not confirm answers `refused` and changes nothing.",
    )
    def post(self, request):
        event = services.payment_notification_receive(raw_body=notification_body_read(request))
        applied = "ok" if event.applied else "ignored"
        if getattr(event, "is_refused", False):
            applied = "refused"
        status = "duplicate" if getattr(event, "is_duplicate", False) else applied
        return Response({"status": status})
