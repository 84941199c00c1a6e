"""Carriers, shipments and tracking. Logistics knows nothing of orders: a shipment holds the
supplier order's number as `reference`, and publishes outbox events (`shipment.delivered`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Carrier(models.Model):
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=80)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("carrier")
        verbose_name_plural = _("carriers")

    def __str__(self) -> str:
        return self.name


class ShipmentStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    BOOKED = "booked", _("Booked")
    PICKED_UP = "picked_up", _("Picked up")
    IN_TRANSIT = "in_transit", _("In transit")
    DELIVERED = "delivered", _("Delivered")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")


class Shipment(models.Model):
    reference = models.CharField(_("reference"), max_length=40, unique=True)
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="shipments")
    service_level = models.CharField(_("service"), max_length=20)
    origin = models.JSONField(_("origin"), help_text=_("province, city, district, postal_code"))
    destination = models.JSONField(_("destination"))
    weight_g = models.PositiveIntegerField(_("weight (g)"))
    cost = models.BigIntegerField(_("cost (Rp)"), default=0)
    waybill = models.CharField(_("waybill"), max_length=40, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=12, choices=ShipmentStatus.choices, default=ShipmentStatus.REQUESTED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [models.CheckConstraint(condition=Q(cost__gte=0), name="shipment_cost_gte_0")]

    def __str__(self) -> str:
        return f"{self.reference} {self.waybill or '—'} {self.status}"


class TrackingEvent(models.Model):
    """Every tracking callback the courier sent, verified or not."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="tracking")
    event_id = models.CharField(max_length=80, unique=True)
    waybill = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=120, blank=True)
    signature_valid = models.BooleanField(default=False)
    applied = models.BooleanField(default=False)
    outcome = models.CharField(max_length=200, blank=True)
    raw_body = models.TextField()
    payload = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")

    def __str__(self) -> str:
        return f"{self.waybill} {self.status}"
