"""Orders in admin, read-only: statuses, stock and money move only through orders.services and
the workflow. Operators see everything on admin.site; supplier members see their own supplier
orders (with lines) on the supplier admin site."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from okto88.selectors import ACTOR_NAME_RELATED, actor_name
from orders.models import Order, OrderEvent, OrderLine, StepRun, SupplierOrder
from orders.timeline import order_event_text, order_event_title
from suppliers.admin_scoping import (
    SupplierScopedAdminMixin,
    admin_is_operator,
    admin_supplier,
    supplier_admin_site,
)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["sku", "part_number", "name", "quantity", "unit_price", "line_total"]
    readonly_fields = fields


class SupplierOrderInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SupplierOrder
    extra = 0
    fields = ["number", "supplier", "warehouse", "status", "subtotal", "shipping_cost", "carrier_code",
              "service_level", "shipment"]
    readonly_fields = fields
    show_change_link = True


class OrderEventTextsMixin:
    """Order events read as on the workshop's timeline (orders.timeline), in the reader's
    language; the actor as the workshop or supplier it acts for, never a login e-mail."""

    @admin.display(description=_("event"))
    def event_title(self, obj: OrderEvent) -> str:
        return order_event_title(kind=obj.kind)

    @admin.display(description=_("text"))
    def event_text(self, obj: OrderEvent) -> str:
        return order_event_text(event=obj)

    @admin.display(description=_("by"))
    def actor_display(self, obj: OrderEvent) -> str:
        if obj.api_client_id and not obj.actor_id:
            return obj.api_client.name  # a partner's system, named as the operator issued its key
        return actor_name(person=obj.actor)


class OrderEventInline(OrderEventTextsMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["created_at", "event_title", "event_text", "actor_display", "step"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("api_client",
                                                            *(f"actor__{path}" for path in ACTOR_NAME_RELATED))


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "workshop", "status", "payment_method", "grand_total", "created_at"]
    list_filter = ["status", "payment_method"]
    search_fields = ["number", "workshop__name", "idempotency_key"]
    list_select_related = ["workshop"]
    date_hierarchy = "created_at"
    inlines = [SupplierOrderInline, OrderEventInline]


@admin.register(SupplierOrder)
class SupplierOrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "supplier", "status", "subtotal", "shipping_cost", "carrier_code", "service_level"]
    list_filter = ["status", "carrier_code"]
    search_fields = ["number", "order__number", "supplier__legal_name"]
    list_select_related = ["supplier"]
    inlines = [OrderLineInline]


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "step", "attempt", "status", "started_at", "finished_at"]
    list_filter = ["step", "status"]
    search_fields = ["order__number", "task_id"]
    list_select_related = ["order"]


@admin.register(OrderEvent)
class OrderEventAdmin(OrderEventTextsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "event_title", "event_text", "step", "actor_display", "created_at"]
    fields = ["order", "created_at", "event_title", "event_text", "step", "actor_display", "data"]
    readonly_fields = fields
    list_filter = ["kind"]
    search_fields = ["order__number"]
    list_select_related = ["order", "api_client", *(f"actor__{path}" for path in ACTOR_NAME_RELATED)]


# --- Supplier admin: a supplier's own supplier orders, read-only --------------------------------

class SupplierOrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["sku", "part_number", "name", "quantity", "unit_price", "line_total"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        # Members hold no Django model permissions; they see the lines of their own supplier orders.
        if admin_is_operator(request):
            return super().has_view_permission(request, obj)
        allowed, supplier = admin_supplier(request)
        return allowed and supplier is not None and (obj is None or obj.supplier_id == supplier.pk)


@admin.register(SupplierOrder, site=supplier_admin_site)
class SupplierScopedSupplierOrderAdmin(SupplierScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    supplier_path = "supplier"
    member_can_add = False
    member_can_change = False
    member_can_delete = False
    list_display = ["number", "status", "subtotal", "shipping_cost", "carrier_code", "service_level", "weight_g"]
    list_filter = ["status"]
    search_fields = ["number"]
    fields = ["number", "status", "warehouse", "subtotal", "shipping_cost", "carrier_code", "service_level",
              "weight_g", "delivery_city"]
    readonly_fields = fields
    inlines = [SupplierOrderLineInline]
    list_select_related = ["order"]

    @admin.display(description=_("delivery city"))
    def delivery_city(self, obj) -> str:
        return (obj.order.delivery_address or {}).get("city", "")
