"""Operator admin for logistics. Shipments and tracking events are records of what the courier
did: read-only here; a shipment changes only through logistics.services (cancel is an action)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from logistics import services
from logistics.models import Carrier, Shipment, TrackingEvent
from okto88.errors import ApplicationError, error_message


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        # The code is what the courier aggregator knows the carrier by; it never changes.
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TrackingEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TrackingEvent
    fields = ["received_at", "event_id", "status", "occurred_at", "location", "signature_valid", "applied",
              "outcome"]
    readonly_fields = fields
    ordering = ["received_at"]
    extra = 0
    show_change_link = True


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["reference", "carrier", "service_level", "waybill", "status", "cost", "weight_g", "created_at"]
    list_filter = ["status", "carrier"]
    search_fields = ["reference", "waybill"]
    list_select_related = ["carrier"]
    date_hierarchy = "created_at"
    readonly_fields = ["reference", "carrier", "service_level", "waybill", "status", "cost", "weight_g", "origin",
                       "destination", "created_at", "updated_at"]
    inlines = [TrackingEventInline]
    actions = ["cancel_shipments"]

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm("logistics.change_shipment")

    @admin.action(description=_("Cancel the selected shipments (at the courier too)"), permissions=["cancel"])
    def cancel_shipments(self, request, queryset):
        cancelled = 0
        for shipment in queryset.order_by("pk"):
            try:
                services.shipment_cancel(shipment=shipment)
                cancelled += 1
            except ApplicationError as exc:
                self.message_user(request, f"{shipment.reference}: {error_message(exc, staff=True)}", messages.ERROR)
        if cancelled:
            self.message_user(request, _("%(count)d shipment(s) cancelled.") % {"count": cancelled}, messages.SUCCESS)


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "waybill", "status", "signature_valid", "applied", "outcome", "event_id"]
    list_filter = ["signature_valid", "applied", "status"]
    search_fields = ["waybill", "event_id", "shipment__reference"]
    list_select_related = ["shipment"]
    date_hierarchy = "received_at"
    readonly_fields = ["shipment", "event_id", "waybill", "status", "occurred_at", "location", "signature_valid",
                       "applied", "outcome", "raw_body", "payload", "received_at"]
