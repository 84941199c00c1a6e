"""Operator admin for payments (the default admin site: staff, i.e. operators, only).

Everything is read-only here: money and statuses change only through payments.services,
driven by the order workflow and the gateway's notifications. The one action asks the
gateway for a payment's status and takes over what a lost notification did not tell us.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from okto88.errors import error_message
from payments import services
from payments.errors import GatewayRejected, GatewayUnavailable
from payments.models import PaymentEvent, PaymentIntent, Refund


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and super().has_module_permission(request)


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    can_delete = False
    fields = ["received_at", "transaction_status", "signature_valid", "applied", "outcome"]
    readonly_fields = fields
    ordering = ["received_at"]
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["created_at", "amount", "reason", "status", "gateway_refund_key"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PaymentIntent)
class PaymentIntentAdmin(ReadOnlyAdmin):
    list_display = ["reference", "method", "amount", "status", "bank", "va_number", "created_at", "settled_at",
                    "expires_at"]
    list_filter = ["status", "method"]
    search_fields = ["=reference", "=va_number", "=gateway_transaction_id"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    inlines = [PaymentEventInline, RefundInline]
    actions = ["refresh_from_gateway"]

    def has_change_permission(self, request, obj=None) -> bool:
        # The change page (read-only) and the action need "change"; the form saves nothing.
        return request.user.is_staff and super(ReadOnlyAdmin, self).has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def save_model(self, request, obj, form, change) -> None:
        pass  # statuses and money change only through payments.services

    @admin.action(description=_("Ask the gateway for the current status"))
    def refresh_from_gateway(self, request, queryset) -> None:
        changed = 0
        for intent in queryset.order_by("pk"):
            before = intent.status
            try:
                intent = services.payment_intent_refresh(intent=intent)
            except (GatewayUnavailable, GatewayRejected) as exc:
                self.message_user(request, f"{intent.reference}: {error_message(exc, staff=True)}", messages.ERROR)
                continue
            changed += intent.status != before
        self.message_user(request, _("%(count)d payment(s) changed status.") % {"count": changed}, messages.SUCCESS)


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "reference", "transaction_status", "signature_valid", "applied", "outcome"]
    list_filter = ["signature_valid", "applied", "transaction_status"]
    search_fields = ["=reference", "=dedupe_key"]
    list_select_related = ["intent"]
    ordering = ["-received_at"]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_staff and super().has_view_permission(request, obj)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "intent", "amount", "status", "reason", "gateway_refund_key"]
    list_filter = ["status"]
    search_fields = ["=intent__reference", "=gateway_refund_key"]
    list_select_related = ["intent"]
    ordering = ["-created_at"]
