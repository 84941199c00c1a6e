"""Payment intents and what the gateway told us. Payments know nothing of orders: an intent
holds the order's number as `reference` (the gateway's order_id) and the order workflow
reacts to outbox events (`payment.settled`, ...)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PaymentMethod(models.TextChoices):
    TERMS = "terms", _("Pay later (terms)")
    VIRTUAL_ACCOUNT = "virtual_account", _("Virtual account")
    QRIS = "qris", _("QRIS")
    EWALLET = "ewallet", _("E-wallet")


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for payment")
    SETTLED = "settled", _("Paid")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    DENIED = "denied", _("Denied")
    REFUNDED = "refunded", _("Refunded")
    VOIDED = "voided", _("Voided")


class PaymentIntent(models.Model):
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    amount = models.BigIntegerField(_("amount (Rp)"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    status = models.CharField(_("status"), max_length=12, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    bank = models.CharField(_("bank"), max_length=20, blank=True)
    va_number = models.CharField(_("virtual account number"), max_length=40, blank=True)
    qr_string = models.TextField(_("QR string"), blank=True)
    payment_url = models.URLField(_("payment page"), blank=True)
    gateway_transaction_id = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    settled_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_gt_0")]

    def __str__(self) -> str:
        return f"{self.reference} {self.method} {self.status}"


class PaymentEvent(models.Model):
    """Every notification the gateway sent, verified or not, kept as received."""

    intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    dedupe_key = models.CharField(max_length=200, unique=True, help_text=_("transaction id + status"))
    reference = models.CharField(max_length=40, blank=True)
    transaction_status = models.CharField(max_length=20, blank=True)
    signature_valid = models.BooleanField(default=False)
    applied = models.BooleanField(default=False, help_text=_("moved the payment forward"))
    outcome = models.CharField(max_length=200, blank=True)
    raw_body = models.TextField()
    payload = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
        indexes = [models.Index(fields=["reference", "received_at"], name="payment_event_reference")]

    def __str__(self) -> str:
        return f"{self.reference} {self.transaction_status} ({'valid' if self.signature_valid else 'forged'})"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class Refund(models.Model):
    intent = models.ForeignKey(PaymentIntent, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField(_("amount (Rp)"))
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=RefundStatus.choices, default=RefundStatus.REQUESTED)
    gateway_refund_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_gt_0")]

    def __str__(self) -> str:
        return f"refund {self.amount} of {self.intent_id}"
