"""Orders in admin, read-only: statuses, stock and money move only through orders.services and
the workflow. Operators see everything on admin.site; supplier members see their own supplier
orders (with lines) on the supplier admin site."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, Q, Value, When
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from okto88.errors import ApplicationError, error_message
from okto88.money import rupiah
from okto88.selectors import ACTOR_NAME_RELATED, actor_name
from orders import documents, services
from orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    RejectionReason,
    StepRun,
    SupplierOrder,
    SupplierOrderStatus,
)
from orders.timeline import order_event_text, order_event_title
from suppliers.admin_scoping import (
    SupplierScopedAdminMixin,
    admin_is_operator,
    admin_is_supplier_member,
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


# --- Supplier admin: the supplier's daily work place -------------------------------------------
#
# The list puts what waits for an answer first (soonest deadline first); the page of a pending
# supplier order carries the answer forms, that of an accepted one the "ready to ship" form. The
# forms post to views of their own (answer/, ready/), which call orders.services and report in
# admin messages; the data change only there. Members answer for their own supplier; operators
# see the pages read-only.

# The reasons a supplier gives (the others are the platform's own: no answer, a failed step).
SUPPLIER_REASON_CHOICES = [(value, label) for value, label in RejectionReason.choices
                           if value in {RejectionReason.OUT_OF_STOCK, RejectionReason.DISCONTINUED,
                                        RejectionReason.PRICE_ERROR}]
MAX_PARCELS = 50  # orders.services.fulfilment's bounds, for the browser's own check
MAX_WEIGHT_G = 1_000_000

_WAITING = Q(status=SupplierOrderStatus.PENDING, accept_by__isnull=False)


def time_left_text(accept_by: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'3 h 20 min left' / '3 jam 20 menit lagi'; 'overdue' once the deadline has passed."""
    if accept_by is None:
        return ""
    seconds = (accept_by - (now or timezone.now())).total_seconds()
    if seconds <= 0:
        return gettext("overdue")
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return gettext("%(days)d d %(hours)d h left") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)d h %(minutes)d min left") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min left") % {"minutes": minutes}


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%d.%m.%Y %H:%M") if moment else "—"


class SupplierOrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["sku", "part_number", "name", "quantity", "unit_price_display", "line_total_display",
              "rejected_quantity", "rejection_reason"]
    readonly_fields = fields

    @admin.display(description=_("unit price"))
    def unit_price_display(self, obj: OrderLine) -> str:
        return rupiah(obj.unit_price)

    @admin.display(description=_("line total"))
    def line_total_display(self, obj: OrderLine) -> str:
        return rupiah(obj.line_total)

    def has_view_permission(self, request, obj=None) -> bool:
        # Members hold no Django model permissions; they see the lines of their own supplier orders.
        if admin_is_operator(request):
            return super().has_view_permission(request, obj)
        allowed, supplier = admin_supplier(request)
        return allowed and supplier is not None and (obj is None or obj.supplier_id == supplier.pk)


class SupplierOrderAnswerForm(forms.Form):
    """Per line: how many units are accepted (the ordered quantity unless changed) and, for the
    rest, why. Fields `accept_<line id>` and `reason_<line id>`."""

    def __init__(self, *args, supplier_order: SupplierOrder, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(supplier_order.lines.order_by("pk"))
        for line in self.lines:
            self.fields[f"accept_{line.pk}"] = forms.IntegerField(
                label=_("Accepted quantity"), initial=line.quantity, min_value=0, max_value=line.quantity)
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(
                label=_("Reason for the rest"), required=False,
                choices=[("", _("— not needed if all accepted —")), *SUPPLIER_REASON_CHOICES])

    def line_rows(self):
        return [(line, rupiah(line.unit_price), self[f"accept_{line.pk}"], self[f"reason_{line.pk}"])
                for line in self.lines]

    def clean(self):
        data = super().clean()
        for line in self.lines:
            accepted = data.get(f"accept_{line.pk}")
            reason_name = f"reason_{line.pk}"
            if (accepted is not None and accepted < line.quantity and not data.get(reason_name)
                    and reason_name not in self.errors):
                self.add_error(reason_name, _("Choose why the other units are not accepted."))
        return data

    def rejections(self) -> dict[int, services.LineRejection]:
        return {line.pk: services.LineRejection(quantity=line.quantity - self.cleaned_data[f"accept_{line.pk}"],
                                                reason=self.cleaned_data[f"reason_{line.pk}"])
                for line in self.lines if self.cleaned_data[f"accept_{line.pk}"] < line.quantity}

    def error_texts(self) -> list[str]:
        """Each error with the line it is about: the page shows them as messages."""
        texts = []
        by_field = {f"{kind}_{line.pk}": line for line in self.lines for kind in ("accept", "reason")}
        for name, errors in self.errors.items():
            line = by_field.get(name)
            for error in errors:
                texts.append(f"{line.sku} · {line.name}: {error}" if line else str(error))
        return texts


class SupplierOrderRejectForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=SUPPLIER_REASON_CHOICES)


class SupplierOrderReadyForm(forms.Form):
    parcel_count = forms.IntegerField(label=_("Parcels"), min_value=1, max_value=MAX_PARCELS)
    weight_g = forms.IntegerField(label=_("Weight (g)"), min_value=1, max_value=MAX_WEIGHT_G)


@admin.register(SupplierOrder, site=supplier_admin_site)
class SupplierScopedSupplierOrderAdmin(SupplierOrderDocumentsMixin, SupplierScopedAdminMixin, ReadOnlyAdminMixin,
                                       admin.ModelAdmin):
    supplier_path = "supplier"
    member_can_add = False
    member_can_change = False
    member_can_delete = False
    change_form_template = "admin/orders/supplier_order_work.html"
    # The deadline next to the number: on a phone the table scrolls sideways inside its box.
    # Carrier, service and weight are on the page; the list keeps what a supplier sorts its day by.
    list_display = ["number", "answer_deadline", "status", "placed_at", "subtotal_display", "shipping_display",
                    "documents_links"]
    list_filter = ["status"]
    search_fields = ["number", "order__number"]
    # Waiting for an answer first, the soonest deadline first; then the rest, newest first.
    ordering = (
        Case(When(_WAITING, then=Value(0)), default=Value(1)).asc(),
        Case(When(_WAITING, then=F("accept_by"))).asc(nulls_last=True),
        "-pk",
    )
    fields = ["number", "order_number", "placed_at", "status", "answer_deadline", "decided_display", "rejection_reason",
              "warehouse", "subtotal_display", "shipping_display", "carrier_code", "service_level", "weight_g",
              "parcel_count", "ready_display", "delivery_city", "documents_links"]
    readonly_fields = fields
    inlines = [SupplierOrderLineInline]
    list_select_related = ["order", "warehouse", "shipment"]

    @admin.display(description=_("delivery city"))
    def delivery_city(self, obj) -> str:
        return (obj.order.delivery_address or {}).get("city", "")

    @admin.display(description=_("order"))
    def order_number(self, obj) -> str:
        return obj.order.number

    @admin.display(description=_("placed at"), ordering="order__created_at")
    def placed_at(self, obj) -> str:
        return _local(obj.order.created_at)

    @admin.display(description=_("answered at"))
    def decided_display(self, obj) -> str:
        return _local(obj.decided_at)

    @admin.display(description=_("packed at"))
    def ready_display(self, obj) -> str:
        return _local(obj.ready_at)

    @admin.display(description=_("subtotal"), ordering="subtotal")
    def subtotal_display(self, obj) -> str:
        return rupiah(obj.subtotal)

    @admin.display(description=_("shipping"), ordering="shipping_cost")
    def shipping_display(self, obj) -> str:
        return rupiah(obj.shipping_cost)

    @admin.display(description=_("answer before"), ordering="accept_by")
    def answer_deadline(self, obj) -> str:
        if obj.accept_by is None:
            return "—"
        when = timezone.localtime(obj.accept_by).strftime("%d.%m. %H:%M")
        if obj.status != SupplierOrderStatus.PENDING:
            return when
        left = time_left_text(obj.accept_by)
        overdue = obj.accept_by <= timezone.now()
        return format_html('<span class="so-deadline{}">{}</span><br><small>{}</small>',
                           " so-overdue" if overdue else "", left, when)

    # --- the work: answer and ready to ship -------------------------------------------------
    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path("<path:object_id>/answer/", self.admin_site.admin_view(self.answer_view), name=f"{prefix}_answer"),
            path("<path:object_id>/ready/", self.admin_site.admin_view(self.ready_view), name=f"{prefix}_ready"),
        ]
        return own + super().get_urls()

    def _url(self, name: str, obj: SupplierOrder) -> str:
        return reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}", args=[obj.pk])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        context = {"so_member": admin_is_supplier_member(request), "so_obj": obj,
                   "so_time_left": time_left_text(obj.accept_by) if obj.status == SupplierOrderStatus.PENDING else "",
                   "so_overdue": obj.accept_by is not None and obj.accept_by <= timezone.now(),
                   "so_answer_url": self._url("answer", obj), "so_ready_url": self._url("ready", obj)}
        if obj.status == SupplierOrderStatus.PENDING and obj.accept_by is not None:
            context["so_answer_form"] = SupplierOrderAnswerForm(supplier_order=obj)
            context["so_reject_form"] = SupplierOrderRejectForm()
        elif obj.status == SupplierOrderStatus.ACCEPTED:
            context["so_ready_form"] = SupplierOrderReadyForm(
                initial={"parcel_count": obj.parcel_count, "weight_g": obj.weight_g})
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})

    def _work_object(self, request, object_id) -> SupplierOrder:
        """The supplier order a member acts on: another supplier's is a 404 (the scoped queryset),
        an operator may only look."""
        obj = self.get_object(request, unquote(object_id))
        if not admin_is_supplier_member(request):
            raise PermissionDenied
        return obj

    def answer_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._work_object(request, object_id)
        back = HttpResponseRedirect(self._url("change", obj))
        action = request.POST.get("answer")
        try:
            if action == "accept_all":
                obj = services.supplier_order_accept(supplier_order=obj, actor=request.user)
            elif action == "reject_all":
                form = SupplierOrderRejectForm(request.POST)
                if not form.is_valid():
                    messages.error(request, gettext("Choose why the supplier order is rejected."))
                    return back
                obj = services.supplier_order_reject(supplier_order=obj, reason=form.cleaned_data["reason"],
                                                     actor=request.user)
            elif action == "lines":
                form = SupplierOrderAnswerForm(request.POST, supplier_order=obj)
                if not form.is_valid():
                    for text in form.error_texts():
                        messages.error(request, text)
                    return back
                obj = services.supplier_order_answer(supplier_order=obj, rejections=form.rejections(),
                                                     actor=request.user)
            else:
                messages.error(request, gettext("Unknown answer."))
                return back
        except ApplicationError as exc:
            messages.error(request, error_message(exc))
            return back
        if obj.status == SupplierOrderStatus.REJECTED:
            messages.success(request, gettext("Supplier order %(number)s rejected; the workshop gets its money back.")
                             % {"number": obj.number})
        else:
            rejected = sum(line.rejected_quantity for line in obj.lines.all())
            if rejected:
                messages.success(request, ngettext(
                    "Supplier order %(number)s accepted; %(count)d unit not accepted.",
                    "Supplier order %(number)s accepted; %(count)d units not accepted.", rejected)
                    % {"number": obj.number, "count": rejected})
            else:
                messages.success(request, gettext("Supplier order %(number)s accepted. Pack it and mark it ready "
                                                  "to ship.") % {"number": obj.number})
        return back

    def ready_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self._work_object(request, object_id)
        back = HttpResponseRedirect(self._url("change", obj))
        form = SupplierOrderReadyForm(request.POST)
        if not form.is_valid():
            for name, errors in form.errors.items():
                label = form.fields[name].label if name in form.fields else ""
                for error in errors:
                    messages.error(request, f"{label}: {error}" if label else str(error))
            return back
        try:
            obj = services.supplier_order_mark_ready(supplier_order=obj, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, error_message(exc))
            return back
        messages.success(request, gettext("Supplier order %(number)s is ready to ship; the courier is being booked.")
                         % {"number": obj.number})
        return back
