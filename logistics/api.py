"""Courier → okto88: signed tracking callbacks.

- POST /api/v1/logistics/notifications/  public; authenticated by `X-Courier-Signature`
  (hex HMAC-SHA256 of the raw body with COURIER_WEBHOOK_SECRET), not by an API key.
  413 `payload_too_large` past NOTIFICATION_MAX_BODY_BYTES (nothing read or stored); 429 past
  NOTIFICATION_THROTTLE_RATE from one source address.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from logistics import services
from okto88.api.notifications import NotificationSourceThrottle, notification_body_read

RECEIPT_TO_STATUS = {services.RECEIPT_APPLIED: "ok", services.RECEIPT_IGNORED: "ignored",
                     services.RECEIPT_DUPLICATE: "duplicate"}


class TrackingNotificationApi(APIView):
    public = True
    authentication_classes = []
    # Per source address, generously (NOTIFICATION_THROTTLE_RATE): one courier sends every
    # callback from a few addresses, and a refused callback is retried until it gets through.
    throttle_classes = [NotificationSourceThrottle]
    problem_statuses = [403, 413]

    @extend_schema(
        operation_id="logistics_notifications_create", tags=["logistics"], auth=[],
        parameters=[OpenApiParameter("X-Courier-Signature", str, OpenApiParameter.HEADER, required=True,
                                     description="hex(HMAC-SHA256(courier webhook secret, raw request body))")],
        request=inline_serializer("TrackingNotification", {
            "event_id": serializers.CharField(max_length=80),
            "waybill": serializers.CharField(max_length=40),
            "reference": serializers.CharField(max_length=40),
            # A plain string here: an enum would collide with the receipt's `status` enum.
            "status": serializers.CharField(help_text="picked_up, in_transit, delivered or returned"),
            "occurred_at": serializers.DateTimeField(),
            "location": serializers.CharField(required=False, allow_blank=True),
        }),
        responses={
            200: inline_serializer("TrackingNotificationReceipt", {
                "status": serializers.ChoiceField(choices=["ok", "ignored", "duplicate"]),
            }),
            400: OpenApiResponse(description="`invalid_notification`: not a JSON object with event_id and "
                                             "waybill (problem+json; the body is recorded)"),
            403: OpenApiResponse(description="`invalid_signature`: the signature does not match the body "
                                             "(problem+json; the body is recorded, nothing changes)"),
        },
        examples=[OpenApiExample("delivered", request_only=True, value={
            "event_id": "evt_4f1c2e", "waybill": "JNE001234567890", "reference": "SO-2026-000123-1",
            "status": "delivered", "occurred_at": "2026-11-25T08:15:00+00:00", "location": "Kota Bandung"})],
        description="A courier's tracking callback. Every callback is recorded. A valid one is applied "
                    "once per `event_id` (`duplicate` for a redelivery) and only if it moves the shipment "
                    "forward (booked → picked_up → in_transit → delivered | returned); otherwise it is "
                    "`ignored`. Any 200 tells the courier to stop retrying.",
    )
    def post(self, request):
        # The signature covers the raw bytes, so the body is never parsed by DRF first.
        event = services.tracking_notification_receive(
            raw_body=notification_body_read(request), signature=request.headers.get("X-Courier-Signature", ""))
        return Response({"status": RECEIPT_TO_STATUS[event.receipt]})
