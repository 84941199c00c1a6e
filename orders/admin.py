"""Orders in admin, read-only: statuses, stock and money move only through orders.services and
the workflow. Operators see everything on admin.site; supplier members see their own supplier
orders (with lines) on the supplier admin site."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from okto88.errors import ApplicationError, error_message
from okto88.selectors import ACTOR_NAME_RELATED, actor_name
from orders import documents
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


def order_timeline_url(number: str) -> str:
    """The order's timeline in the operations view (analytics' page: admin cannot import it)."""
    try:
        return reverse("analytics:order_timeline", args=[number])
    except NoReverseMatch:
        return f"/ops/orders/{number}/"


class OrderTimelineLinkMixin:
    @admin.display(description=_("step timeline"))
    def timeline_link(self, obj) -> str:
        number = obj.number if isinstance(obj, Order) else obj.order.number
        return format_html('<a href="{}">{}</a>', order_timeline_url(number), _("timeline"))


@admin.register(Order)
class OrderAdmin(OrderTimelineLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "workshop", "status", "payment_method", "grand_total", "created_at", "timeline_link"]
    readonly_fields = ["timeline_link"]
    list_filter = ["status", "payment_method"]
    search_fields = ["number", "workshop__name", "idempotency_key"]
    list_select_related = ["workshop"]
    date_hierarchy = "created_at"
    inlines = [SupplierOrderInline, OrderEventInline]


class SupplierOrderDocumentsMixin:
    """The supplier order's shipping label and packing slip (orders.documents) as PDFs under its
    change page, `<id>/label.pdf` and `<id>/packing-slip.pdf`, linked from the list and the page
    while the supplier order's status allows them. The object is read through get_object, so on
    the supplier admin site another supplier's supplier order is a 404 like a missing one."""

    DOCUMENTS = (
        ("label", _("Shipping label"), documents.shipping_label_pdf, documents.label_available),
        ("packing-slip", _("Packing slip"), documents.packing_slip_pdf, documents.packing_slip_available),
    )

    def _document_url_name(self, kind: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{kind.replace('-', '_')}"

    def get_urls(self):
        urls = [path(f"<path:object_id>/{kind}.pdf", self.admin_site.admin_view(self._document_view(kind, render)),
                     name=self._document_url_name(kind))
                for kind, _title, render, _available in self.DOCUMENTS]
        return urls + super().get_urls()

    def _document_view(self, kind: str, render):
        def view(request, object_id):
            supplier_order = self.get_object(request, object_id)
            if supplier_order is None or not self.has_view_permission(request, supplier_order):
                raise Http404(_("Not found."))
            try:
                content = render(supplier_order=supplier_order)
            except ApplicationError as exc:
                messages.error(request, error_message(exc))
                return HttpResponseRedirect(reverse(f"{self.admin_site.name}:{self._document_url_name('change')}",
                                                    args=[supplier_order.pk]))
            return documents.pdf_response(content=content, kind=kind, number=supplier_order.number)
        return view

    @admin.display(description=_("documents"))
    def documents_links(self, obj: SupplierOrder) -> str:
        links = [(reverse(f"{self.admin_site.name}:{self._document_url_name(kind)}", args=[obj.pk]), title)
                 for kind, title, _render, available in self.DOCUMENTS if available(supplier_order=obj)]
        if not links:
            return "–"
        return format_html_join(" · ", '<a href="{}" target="_blank" rel="noopener">{}</a>', links)


@admin.register(SupplierOrder)
class SupplierOrderAdmin(SupplierOrderDocumentsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "supplier", "status", "subtotal", "shipping_cost", "carrier_code", "service_level",
                    "documents_links"]
    readonly_fields = ["documents_links"]
    list_select_related = ["supplier", "shipment"]
    list_filter = ["status", "carrier_code"]
    search_fields = ["number", "order__number", "supplier__legal_name"]
    inlines = [OrderLineInline]


def _milliseconds(start, end) -> str:
    if start is None or end is None:
        return "–"
    return f"{(end - start).total_seconds() * 1000:,.1f} ms"


@admin.register(StepRun)
class StepRunAdmin(OrderTimelineLinkMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order", "step", "attempt", "status", "error_code", "started_at_ms", "wait_ms", "run_ms",
                    "timeline_link"]
    list_filter = ["step", "status", "error_code"]
    search_fields = ["order__number", "task_id", "trace_id"]
    list_select_related = ["order"]
    readonly_fields = ["timeline_link", "wait_ms", "run_ms"]

    @admin.display(description=_("started at"), ordering="started_at")
    def started_at_ms(self, obj: StepRun) -> str:
        return timezone.localtime(obj.started_at).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    @admin.display(description=_("queue wait"))
    def wait_ms(self, obj: StepRun) -> str:
        return _milliseconds(obj.enqueued_at, obj.started_at)

    @admin.display(description=_("run time"))
    def run_ms(self, obj: StepRun) -> str:
        return _milliseconds(obj.started_at, obj.finished_at)


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
class SupplierScopedSupplierOrderAdmin(SupplierOrderDocumentsMixin, SupplierScopedAdminMixin, ReadOnlyAdminMixin,
                                       admin.ModelAdmin):
    supplier_path = "supplier"
    member_can_add = False
    member_can_change = False
    member_can_delete = False
    list_display = ["number", "status", "subtotal", "shipping_cost", "carrier_code", "service_level", "weight_g",
                    "documents_links"]
    list_filter = ["status"]
    search_fields = ["number"]
    fields = ["number", "status", "warehouse", "subtotal", "shipping_cost", "carrier_code", "service_level",
              "weight_g", "delivery_city", "documents_links"]
    readonly_fields = fields
    inlines = [SupplierOrderLineInline]
    list_select_related = ["order", "shipment"]

    @admin.display(description=_("delivery city"))
    def delivery_city(self, obj) -> str:
        return (obj.order.delivery_address or {}).get("city", "")
