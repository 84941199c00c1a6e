"""Webhook endpoints of partners' API clients, their signing secrets, and every delivery and
attempt (Standard Webhooks: https://www.standardwebhooks.com)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from okto88.models import ApiClient, OutboxEvent


class EndpointDisabledReason(models.TextChoices):
    GONE = "gone", _("The receiver answered 410 Gone")
    FAILING = "failing", _("Every delivery failed for days")
    OPERATOR = "operator", _("Disabled by an operator")


class WebhookEndpoint(models.Model):
    """A URL of a partner's system that receives the events its API client may see (partners.selectors)."""

    api_client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="webhook_endpoints",
                                   verbose_name=_("API client"))
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Topic names (okto88.events); checked against what the client may see when saved and again
    # when each event is fanned out.
    event_types = ArrayField(models.CharField(max_length=100), default=list, verbose_name=_("event types"))
    # Paused by its owner; a disabled endpoint (below) was stopped by the platform.
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("disabled because"), max_length=20, blank=True,
                                       choices=EndpointDisabledReason.choices)
    # Since when every attempt has failed (cleared by a success): past WEBHOOK_DISABLE_AFTER_DAYS
    # the endpoint is disabled and its owner told.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        indexes = [models.Index(fields=["api_client"], condition=Q(is_active=True, disabled_at__isnull=True),
                                name="webhook_endpoint_live")]

    def __str__(self) -> str:
        return f"{self.api_client.name}: {self.url}"

    @property
    def is_live(self) -> bool:
        return self.is_active and self.disabled_at is None


class WebhookSecret(models.Model):
    """A `whsec_` signing secret. Rotation adds a new one and gives the old an expiry: until it
    passes, each message carries both signatures. Kept as is: an HMAC needs the secret itself."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(_("secret"), max_length=100, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook secret")
        verbose_name_plural = _("webhook secrets")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.secret[:10]}… ({self.endpoint_id})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for its next attempt (next_attempt_at)
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")  # gave up: schedule exhausted, endpoint disabled, or 4xx
    DISCARDED = "discarded", _("Discarded")  # no longer visible to the client, or its endpoint was deleted


class WebhookDelivery(models.Model):
    """One event for one endpoint: one `webhook-id` however many attempts it takes."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # Null for a test message (then `test_payload` is its data).
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    message_id = models.CharField(_("message id"), max_length=64, unique=True)
    topic = models.CharField(_("event type"), max_length=100)
    test_payload = models.JSONField(_("test message"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    succeeded_at = models.DateTimeField(_("succeeded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], condition=Q(event__isnull=False),
                                    name="webhook_delivery_once_per_event"),
            models.CheckConstraint(condition=Q(event__isnull=False) | Q(test_payload__isnull=False),
                                   name="webhook_delivery_has_a_body"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"),
            # An endpoint's drain: its pending deliveries, oldest first.
            models.Index(fields=["endpoint", "next_attempt_at"], condition=Q(status="pending"),
                         name="webhook_delivery_endpoint_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} {self.topic} → {self.endpoint_id}"


class AttemptOutcome(models.TextChoices):
    OK = "ok", _("Delivered (2xx)")
    REJECTED = "rejected", _("Refused by the receiver (4xx)")
    ERROR = "error", _("Receiver error (5xx, 429, connection)")
    TIMEOUT = "timeout", _("Timed out")
    BLOCKED = "blocked", _("Address not allowed")


class WebhookAttempt(models.Model):
    """One HTTP request of a delivery, as the receiver answered it (its body cut to an excerpt)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("number"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_once")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.outcome} {self.status_code or ''}"
