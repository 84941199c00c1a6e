"""Serializers of the webhooks API. Input shapes are checked here; the rules (which URLs, which
event types, how many endpoints) live in partners.services.endpoints."""

from __future__ import annotations

from rest_framework import serializers

from okto88.api.validators import NOT_BLANK_TEXT
from partners.models import WebhookEndpoint
from partners.selectors import webhook_endpoint_state
from partners.services.endpoints import DESCRIPTION_MAX_LENGTH, URL_MAX_LENGTH

EVENT_TYPE_MAX_LENGTH = 100
EVENT_TYPES_MAX = 100
OVERLAP_HOURS_MAX = 7 * 24


class EventTypesField(serializers.ListField):
    child = serializers.CharField(max_length=EVENT_TYPE_MAX_LENGTH, validators=[NOT_BLANK_TEXT])

    def __init__(self, **kwargs):
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", EVENT_TYPES_MAX)
        kwargs.setdefault("help_text", "Topics of the event contract (docs/events.md) this API client may see; "
                                       "GET /api/v1/webhooks/event-types/ lists them")
        super().__init__(**kwargs)


class EndpointCreateInSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=URL_MAX_LENGTH, validators=[NOT_BLANK_TEXT],
                                help_text="https outside development, resolving to public addresses only")
    event_types = EventTypesField()
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True,
                                        default="")


class EndpointUpdateInSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=URL_MAX_LENGTH, validators=[NOT_BLANK_TEXT], required=False)
    event_types = EventTypesField(required=False)
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="false pauses the endpoint, true resumes it")


class EndpointOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField(help_text="false: paused by its owner")
    state = serializers.SerializerMethodField(help_text="active, paused (by its owner) or disabled (by the "
                                                        "platform: see disabled_reason)")
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(help_text="gone (the receiver answered 410), failing (every delivery "
                                                      "failed for days), operator; empty when not disabled")
    failing_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_state(self, endpoint: WebhookEndpoint) -> str:
        return webhook_endpoint_state(endpoint=endpoint)


class EndpointCreatedOutSerializer(EndpointOutSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…). Shown only in this response.")


class SecretRotateInSerializer(serializers.Serializer):
    overlap_hours = serializers.IntegerField(
        min_value=0, max_value=OVERLAP_HOURS_MAX, required=False,
        help_text="How long the old secret keeps signing (default 24); each message carries both signatures")


class SecretRotateOutSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret (whsec_…). Shown only in this response.")
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then messages are signed with the old secret too")


class TestSendInSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class DeliveryOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.CharField(help_text="The webhook-id header: the same on every attempt and replay")
    event_type = serializers.CharField(source="topic")
    event = serializers.IntegerField(source="event_id", allow_null=True,
                                     help_text="The event's id in the events feed; null for a test message")
    status = serializers.CharField(help_text="pending, succeeded, failed or discarded")
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    succeeded_at = serializers.DateTimeField(allow_null=True)


class AttemptOutSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    outcome = serializers.CharField(help_text="ok, rejected (4xx), error (5xx, 429, connection), timeout, blocked "
                                              "(the address is not allowed)")
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    response_excerpt = serializers.CharField(help_text="The start of the receiver's answer")


class DeliveryDetailOutSerializer(DeliveryOutSerializer):
    attempt_log = AttemptOutSerializer(many=True, help_text="Every attempt, first first")


class ReplayFailedInSerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Replay the failed deliveries created since then")


class ReplayFailedOutSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()


class TestSendOutSerializer(serializers.Serializer):
    delivery = serializers.IntegerField(source="pk")
    message_id = serializers.CharField()


class EventTypesOutSerializer(serializers.Serializer):
    event_types = serializers.ListField(child=serializers.CharField())
