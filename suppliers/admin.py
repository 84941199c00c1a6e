"""Admin for suppliers: the operator admin (/admin/) and the supplier admin (/supplier-admin/).

The same ModelAdmin classes are registered on both sites. SupplierScopedAdminMixin
(suppliers/admin_scoping.py) does nothing for operators and keeps supplier members inside
their own supplier's data. Every write with a rule goes through suppliers.services: stock is
never edited as a row here, only "set on hand to" / "adjust by", which write the ledger.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import transaction
from django.db.models import Exists, F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export import fields as ie_fields
from import_export import resources
from import_export.admin import ExportMixin

from catalog.models import Part
from okto88.areas import area_resolve
from okto88.errors import ApplicationError, error_message
from okto88.models import AuditActorKind, AuditEntry
from okto88.money import rupiah, rupiah_digits
from okto88.selectors import ACTOR_NAME_RELATED, actor_name
from suppliers import offer_limits, services
from suppliers.admin_scoping import (
    SupplierScopedAdminMixin,
    SupplierWarehouseListFilter,
    admin_is_operator,
    admin_supplier,
    supplier_admin_site,
)
from suppliers.errors import DuplicateSku, InvalidPrice, SupplierMismatch
from suppliers.models import (
    MovementReason,
    Offer,
    Stock,
    StockMovement,
    Supplier,
    SupplierApiClient,
    SupplierMember,
    Warehouse,
)


def _copy_saved(target, saved) -> None:
    """Admin keeps using the object it built; give it what the service saved."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False


def _error_to_form(form: forms.BaseForm, exc: ApplicationError, default_field: str | None = None) -> None:
    name = exc.extra.get("field") or default_field
    form.add_error(name if name in form.fields else None, error_message(exc, staff=True))


# --- Suppliers (operators) -------------------------------------------------------------------

class SupplierForm(forms.ModelForm):
    class Meta:
        model = Supplier
        fields = ["legal_name", "npwp", "contact_name", "contact_email", "contact_phone", "status"]

    def clean_npwp(self) -> str:
        try:
            return services.npwp_normalise(self.cleaned_data["npwp"])
        except ApplicationError as exc:
            raise forms.ValidationError(error_message(exc, staff=True), code=exc.code) from exc


class SupplierMemberInline(admin.TabularInline):
    model = SupplierMember
    extra = 0
    autocomplete_fields = ["user"]


class SupplierApiClientInline(admin.TabularInline):
    model = SupplierApiClient
    extra = 0
    autocomplete_fields = ["api_client"]


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    form = SupplierForm
    list_display = ["legal_name", "npwp", "status", "contact_email", "created_at"]
    list_filter = ["status"]
    search_fields = ["legal_name", "npwp", "contact_email"]
    inlines = [SupplierMemberInline, SupplierApiClientInline]

    def save_model(self, request, obj, form, change) -> None:
        data = {name: form.cleaned_data[name] for name in SupplierForm.Meta.fields}
        saved = services.supplier_update(supplier=obj, data=data) if change else services.supplier_create(**data)
        _copy_saved(obj, saved)

    def delete_model(self, request, obj) -> None:
        services.supplier_delete(supplier=obj)

    def delete_queryset(self, request, queryset) -> None:
        for supplier in queryset.order_by("pk"):
            services.supplier_delete(supplier=supplier)


@admin.register(SupplierMember)
class SupplierMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "supplier", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "supplier__legal_name"]
    autocomplete_fields = ["user", "supplier"]
    list_select_related = ["user", "supplier"]


@admin.register(SupplierApiClient)
class SupplierApiClientAdmin(admin.ModelAdmin):
    list_display = ["api_client", "supplier", "created_at"]
    search_fields = ["api_client__name", "supplier__legal_name"]
    autocomplete_fields = ["api_client", "supplier"]
    list_select_related = ["api_client", "supplier"]


# --- Warehouses ----------------------------------------------------------------------------------

class WarehouseForm(forms.ModelForm):
    class Meta:
        model = Warehouse
        fields = ["supplier", "code", "name", "province", "city", "district", "postal_code", "address_line",
                  "is_active"]
        help_texts = {"city": _("e.g. Kota Surabaya"), "district": _("kecamatan, e.g. Genteng")}

    def clean(self):
        data = super().clean()
        if all(data.get(name) for name in services.AREA_FIELDS):
            try:
                area = area_resolve(**{name: data[name] for name in services.AREA_FIELDS})
            except ApplicationError as exc:
                _error_to_form(self, exc)
            else:  # show the official spelling that will be stored
                for name in services.AREA_FIELDS:
                    data[name] = getattr(area, name)
        return data


class WarehouseAdmin(SupplierScopedAdminMixin, admin.ModelAdmin):
    supplier_path = "supplier"
    form = WarehouseForm
    list_display = ["code", "name", "city", "district", "postal_code", "region_code", "is_active"]
    list_filter = ["is_active", "province"]
    search_fields = ["code", "name", "city", "district", "postal_code"]
    readonly_fields = ["region_code", "created_at"]

    def get_list_display(self, request):
        fields = list(super().get_list_display(request))
        return ["supplier", *fields] if admin_is_operator(request) else fields

    def save_model(self, request, obj, form, change) -> None:
        data = {name: form.cleaned_data[name] for name in WarehouseForm.Meta.fields
                if name in form.cleaned_data and name != "supplier"}
        if change:
            saved = services.warehouse_update(warehouse=obj, data=data)
        else:
            supplier = self.scoped_supplier(request) or form.cleaned_data["supplier"]
            saved = services.warehouse_create(supplier=supplier, **data)
        _copy_saved(obj, saved)


# --- Offers -----------------------------------------------------------------------------------

class OfferResource(resources.ModelResource):
    supplier = ie_fields.Field(attribute="supplier__legal_name", column_name="supplier")
    brand = ie_fields.Field(attribute="part__brand__name", column_name="brand")
    part_number = ie_fields.Field(attribute="part__number", column_name="part_number")
    on_hand = ie_fields.Field(attribute="total_on_hand", column_name="on_hand")
    available = ie_fields.Field(attribute="total_available", column_name="available")

    class Meta:
        model = Offer
        fields = ["id", "supplier", "sku", "brand", "part_number", "price", "min_order_qty", "pack_size",
                  "lead_time_days", "is_active", "on_hand", "available"]
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("supplier", "part__brand").annotate(
            total_on_hand=Sum("stocks__on_hand"), total_available=Sum("stocks__on_hand") - Sum("stocks__reserved"))


def _field_bounds(field: forms.IntegerField, *, min_value: int, max_value: int) -> None:
    # The model field's bounds are the column's; the offer's own (offer_limits) are narrower.
    field.min_value, field.max_value = min_value, max_value
    field.validators += [MinValueValidator(min_value), MaxValueValidator(max_value)]
    field.widget.attrs.update(min=min_value, max=max_value)


class OfferForm(forms.ModelForm):
    scoped_supplier: Supplier | None = None

    class Meta:
        model = Offer
        fields = ["supplier", "part", "sku", "price", "min_order_qty", "pack_size", "lead_time_days", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _field_bounds(self.fields["lead_time_days"], min_value=offer_limits.LEAD_TIME_MIN_DAYS,
                      max_value=offer_limits.LEAD_TIME_MAX_DAYS)

    def clean_price(self):
        price = self.cleaned_data["price"]
        if price is None or not offer_limits.PRICE_MIN <= price <= offer_limits.PRICE_MAX:
            raise forms.ValidationError(InvalidPrice.title, code="invalid_price")
        return price

    def clean(self):
        data = super().clean()
        supplier = self.scoped_supplier or data.get("supplier") or getattr(self.instance, "supplier", None)
        sku = (data.get("sku") or "").strip()
        if supplier is not None and sku and Offer.objects.filter(supplier=supplier, sku=sku).exclude(
                pk=self.instance.pk).exists():
            self.add_error("sku", DuplicateSku.title)
        return data


class PriceChangeForm(forms.Form):
    percent = forms.DecimalField(
        label=_("Change prices by (%)"), max_digits=7, decimal_places=2, min_value=-99.99, max_value=1000,
        help_text=_("e.g. 10 for +10 %, -5 for −5 %. Rounded half up to whole rupiah, never below Rp 1."),
    )


# The preview lists at most this many offers (the change applies to every selected one).
PRICE_PREVIEW_ROWS = 500


def _stock_available_total():
    """Available units (on hand − reserved) of an offer over its warehouses, for the list."""
    stocks = (Stock.objects.filter(offer=OuterRef("pk")).order_by().values("offer")
              .annotate(total=Sum(F("on_hand") - F("reserved"))).values("total"))
    return Coalesce(Subquery(stocks, output_field=IntegerField()), 0)


class OfferAdmin(SupplierScopedAdminMixin, ExportMixin, admin.ModelAdmin):
    supplier_path = "supplier"
    form = OfferForm
    resource_classes = [OfferResource]
    list_display = ["sku", "part", "price_display", "stock_available", "lead_time_days", "is_active", "updated_at"]
    list_filter = ["is_active"]
    search_fields = ["sku", "^part__number", "=part__number_key"]
    autocomplete_fields = ["part"]
    list_select_related = ["part", "part__brand", "supplier"]
    show_full_result_count = False
    actions = ["activate_selected", "deactivate_selected", "change_prices"]

    def get_list_display(self, request):
        fields = list(super().get_list_display(request))
        return ["supplier", *fields] if admin_is_operator(request) else fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(stock_available_total=_stock_available_total())

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "current_price", "stock_by_warehouse"] if obj is not None else fields

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if "current_price" in fields and "price" in fields:  # next to the price it shows
            fields.remove("current_price")
            fields.insert(fields.index("price") + 1, "current_price")
        return fields

    @admin.display(description=_("price"), ordering="price")
    def price_display(self, obj: Offer) -> str:
        return rupiah(obj.price)

    @admin.display(description=_("current price"))
    def current_price(self, obj: Offer) -> str:
        return rupiah(obj.price)

    @admin.display(description=_("Stock"), ordering="stock_available_total")
    def stock_available(self, obj: Offer) -> str:
        total = getattr(obj, "stock_available_total", None)
        if total is None:
            total = sum(stock.available for stock in obj.stocks.all())
        return f"{total:,}".replace(",", ".")

    @admin.display(description=_("stock per warehouse"))
    def stock_by_warehouse(self, obj: Offer) -> str:
        stocks = list(obj.stocks.select_related("warehouse").order_by("warehouse__code"))
        if not stocks:
            return _("No stock in any warehouse yet.")
        number = rupiah_digits
        rows = format_html_join("", "<tr><td>{} · {}</td><td>{}</td><td>{}</td><td><strong>{}</strong></td></tr>",
                                ((s.warehouse.code, s.warehouse.name, number(s.on_hand), number(s.reserved),
                                  number(s.available)) for s in stocks))
        total = ("", _("total"), number(sum(s.on_hand for s in stocks)), number(sum(s.reserved for s in stocks)),
                 number(sum(s.available for s in stocks)))
        return format_html(
            '<div class="offer-stock">'
            '<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody>'
            '<tfoot><tr><th>{}{}</th><th>{}</th><th>{}</th><th>{}</th></tr></tfoot></table></div>',
            _("warehouse"), _("on hand"), _("reserved"), _("available"), rows, *total)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return type(form.__name__, (form,), {"scoped_supplier": self.scoped_supplier(request)})

    def save_model(self, request, obj, form, change) -> None:
        names = [n for n in OfferForm.Meta.fields if n in form.cleaned_data and n != "supplier"]
        if change:
            saved = services.offer_update(offer=obj, data={n: form.cleaned_data[n] for n in names
                                                           if n in form.changed_data})
        else:
            supplier = self.scoped_supplier(request) or form.cleaned_data["supplier"]
            saved = services.offer_create(supplier=supplier, **{n: form.cleaned_data[n] for n in names})
        _copy_saved(obj, saved)

    # Deleting goes through the service, which refreshes the parts' best offers.
    def delete_model(self, request, obj) -> None:
        services.offer_delete(supplier=self.scoped_supplier(request), offer_ids=[obj.pk])

    def delete_queryset(self, request, queryset) -> None:
        services.offer_delete(supplier=self.scoped_supplier(request),
                              offer_ids=list(queryset.values_list("pk", flat=True)))

    # Actions run on the changelist queryset, i.e. on get_queryset: scoped to the member's
    # supplier, so a foreign id posted in _selected_action simply is not in it. The service
    # is given the supplier as well, a second fence.
    @admin.action(description=_("Activate selected offers"))
    def activate_selected(self, request, queryset):
        count = services.offer_bulk_set_active(supplier=self.scoped_supplier(request),
                                               offer_ids=list(queryset.values_list("pk", flat=True)), active=True)
        self.message_user(request, _("%(count)d offers activated.") % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Deactivate selected offers"))
    def deactivate_selected(self, request, queryset):
        count = services.offer_bulk_set_active(supplier=self.scoped_supplier(request),
                                               offer_ids=list(queryset.values_list("pk", flat=True)), active=False)
        self.message_user(request, _("%(count)d offers deactivated.") % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Change prices of selected offers by a percentage"))
    def change_prices(self, request, queryset):
        """Three steps on one URL: the percentage, then a preview of every selected offer's old
        and new price (nothing changed yet), then apply through offer_bulk_change_price."""
        offer_ids = list(queryset.values_list("pk", flat=True))
        step = "apply" if "apply" in request.POST else "preview" if "preview" in request.POST else "ask"
        form = (PriceChangeForm(request.POST) if step != "ask"
                else PriceChangeForm(initial={"percent": request.POST.get("percent")}) if "back" in request.POST
                else PriceChangeForm())
        if step == "apply" and form.is_valid():
            try:
                count = services.offer_bulk_change_price(
                    supplier=self.scoped_supplier(request), offer_ids=offer_ids, percent=form.cleaned_data["percent"],
                    actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, error_message(exc, staff=True), messages.ERROR)
                return None
            self.message_user(request, _("Prices of %(count)d offers changed.") % {"count": count}, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Change prices by a percentage"),
            "opts": self.model._meta,
            "form": form,
            "count": len(offer_ids),
            "selected": offer_ids,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "change_prices",
        }
        offers = queryset.select_related("part", "part__brand").order_by("sku", "pk")
        if step in {"preview", "apply"} and form.is_valid():
            percent = form.cleaned_data["percent"]
            rows = []
            for offer in offers[:PRICE_PREVIEW_ROWS]:
                new = services.price_change_by_percent(price=offer.price, percent=percent)
                change = (new - offer.price) * 100 / offer.price
                sign = "+" if new > offer.price else ""
                rows.append({"offer": offer, "old": rupiah(offer.price), "new": rupiah(new),
                             "change": f"{sign}{number_format(change, 1)} %", "same": new == offer.price})
            context.update(title=_("Check the new prices"), preview=rows, percent=percent,
                           percent_text=f"{'+' if percent > 0 else ''}{number_format(percent)} %",
                           more=max(len(offer_ids) - PRICE_PREVIEW_ROWS, 0))
        else:
            context["offers"] = [(offer, rupiah(offer.price)) for offer in offers[:100]]
        return TemplateResponse(request, "admin/suppliers/offer_change_price.html", context)


# --- Stock --------------------------------------------------------------------------------------

class StockResource(resources.ModelResource):
    sku = ie_fields.Field(attribute="offer__sku", column_name="sku")
    warehouse = ie_fields.Field(attribute="warehouse__code", column_name="warehouse")
    available = ie_fields.Field(attribute="available", column_name="available")

    class Meta:
        model = Stock
        fields = ["id", "sku", "warehouse", "on_hand", "reserved", "available", "updated_at"]
        export_order = fields

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("offer", "warehouse")


class StockForm(forms.ModelForm):
    """No stock numbers are edited directly: 'set on hand to' or 'adjust by' call the services."""

    set_on_hand = forms.IntegerField(label=_("Set on hand to"), min_value=0, max_value=offer_limits.STOCK_MAX,
                                     required=False)
    adjust_by = forms.IntegerField(label=_("Adjust on hand by"), required=False,
                                   help_text=_("e.g. -2 for two broken units"))
    note = forms.CharField(label=_("Note"), max_length=120, required=False)

    class Meta:
        model = Stock
        fields = ["offer", "warehouse"]

    def clean(self):
        data = super().clean()
        set_to, adjust = data.get("set_on_hand"), data.get("adjust_by")
        if set_to is not None and adjust:
            raise forms.ValidationError(_("Either set on hand or adjust it, not both."))
        stock = self.instance
        if stock.pk:
            target = set_to if set_to is not None else stock.on_hand + (adjust or 0)
            if target < stock.reserved:
                self.add_error("set_on_hand" if set_to is not None else "adjust_by",
                               _("%(reserved)d are reserved; on hand cannot go to %(target)d.")
                               % {"reserved": stock.reserved, "target": target})
        else:
            offer, warehouse = data.get("offer"), data.get("warehouse")
            if adjust is not None and adjust < 0:
                self.add_error("adjust_by", _("New stock starts at 0; it cannot be reduced."))
            if offer and warehouse:
                if offer.supplier_id != warehouse.supplier_id:
                    self.add_error("warehouse", SupplierMismatch.title)
                elif Stock.objects.filter(offer=offer, warehouse=warehouse).exists():
                    self.add_error("warehouse", _("This offer already has stock in this warehouse."))
        return data

    def validate_unique(self):  # checked in clean with a clearer message
        pass


class StockAdmin(SupplierScopedAdminMixin, ExportMixin, admin.ModelAdmin):
    supplier_path = "offer__supplier"
    form = StockForm
    resource_classes = [StockResource]
    list_display = ["offer", "part", "warehouse", "on_hand", "reserved", "available", "updated_at"]
    list_filter = [SupplierWarehouseListFilter]
    search_fields = ["offer__sku", "^offer__part__number", "warehouse__code"]
    list_select_related = ["offer", "offer__part__brand", "warehouse"]
    autocomplete_fields = ["offer"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["offer", "warehouse", "on_hand", "reserved", "available", "updated_at"]
        return []

    def get_fields(self, request, obj=None):
        if obj is not None:
            return ["offer", "warehouse", "on_hand", "reserved", "available", "set_on_hand", "adjust_by", "note"]
        return ["offer", "warehouse", "set_on_hand", "adjust_by", "note"]

    @admin.display(description=_("part"))
    def part(self, obj: Stock):
        return obj.offer.part

    @admin.display(description=_("available"))
    def available(self, obj: Stock) -> int:
        return obj.available

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        reference = f"admin: {data.get('note') or ''}".strip()[:120]
        try:
            with transaction.atomic():
                stock = obj if change else services.stock_ensure(offer=data["offer"], warehouse=data["warehouse"])
                if data.get("set_on_hand") is not None:
                    stock = services.stock_set_on_hand(stock=stock, on_hand=data["set_on_hand"], actor=request.user,
                                                       reference=reference)
                elif data.get("adjust_by"):
                    stock = services.stock_adjust(stock=stock, delta=data["adjust_by"],
                                                  reason=MovementReason.ADJUSTMENT, actor=request.user,
                                                  reference=reference)
        except ApplicationError as exc:  # a race the form could not see
            self.message_user(request, error_message(exc, staff=True), messages.ERROR)
            if not change:
                raise
            return
        _copy_saved(obj, Stock.objects.get(pk=stock.pk))


class StockMovementAdmin(SupplierScopedAdminMixin, admin.ModelAdmin):
    """The ledger, read-only for everybody: it is written only by the stock services."""

    supplier_path = "stock__offer__supplier"
    member_can_add = False
    member_can_change = False
    list_display = ["created_at", "stock", "reason", "on_hand_delta", "reserved_delta", "on_hand_after",
                    "reserved_after", "reference", "actor_display"]
    # The actor is shown as the workshop or supplier it acts for, never as the login e-mail.
    fields = ["created_at", "stock", "reason", "on_hand_delta", "reserved_delta", "on_hand_after",
              "reserved_after", "reference", "actor_display"]
    readonly_fields = fields
    list_filter = ["reason"]
    search_fields = ["reference", "stock__offer__sku"]
    list_select_related = ["stock__offer__part__brand", "stock__warehouse",
                           *(f"actor__{path}" for path in ACTOR_NAME_RELATED)]
    show_full_result_count = False

    @admin.display(description=_("by"))
    def actor_display(self, obj: StockMovement) -> str:
        return actor_name(person=obj.actor)

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PartLookupAdmin(admin.ModelAdmin):
    """Parts are shared master data: members search them (autocomplete) when adding an offer."""

    search_fields = ["=number_key", "^number", "search_text__contains"]
    list_display = ["number", "brand_name", "name_id"]
    list_select_related = ["brand"]

    @admin.display(description=_("brand"), ordering="brand__name")
    def brand_name(self, obj: Part) -> str:
        return obj.brand.name

    def has_module_permission(self, request) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_authenticated and supplier_admin_site.has_permission(
            request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SupplierAuditEntryAdmin(SupplierScopedAdminMixin, admin.ModelAdmin):
    """The supplier's own audit entries (those recorded with its supplier id), read-only. A person
    is shown by e-mail only when they are one of the supplier's members; anyone else as an operator."""

    supplier_path = "supplier_id"
    member_can_add = False
    member_can_change = False
    list_display = ["created_at", "action", "actor_display", "target_type", "target_id", "ip_display"]
    fields = ["created_at", "action", "actor_display", "target_type", "target_id", "target_label", "ip_display",
              "request_id", "changes_display"]
    readonly_fields = fields
    list_filter = ["action", "created_at"]
    date_hierarchy = "created_at"
    search_fields = ["target_id", "target_label", "request_id"]
    show_full_result_count = False
    list_per_page = 50

    def owns(self, request, obj) -> bool:
        if obj is None or admin_is_operator(request):
            return True
        allowed, supplier = admin_supplier(request)
        return allowed and supplier is not None and obj.supplier_id == supplier.pk

    def get_queryset(self, request):
        # Whether the actor is one of the entry's supplier's members, in the list's one query.
        members = SupplierMember.objects.filter(user_id=OuterRef("actor_user_id"), supplier_id=OuterRef("supplier_id"))
        return super().get_queryset(request).annotate(actor_is_member=Exists(members))

    def _own_member(self, obj: AuditEntry) -> bool:
        return obj.actor_kind == AuditActorKind.USER and getattr(obj, "actor_is_member", False)

    @admin.display(description=_("actor"))
    def actor_display(self, obj: AuditEntry) -> str:
        if obj.actor_kind == AuditActorKind.USER and not self._own_member(obj):
            return str(_("okto88 operator"))
        return obj.actor_label

    @admin.display(description=_("address"))
    def ip_display(self, obj: AuditEntry) -> str:
        shown = obj.actor_kind != AuditActorKind.USER or self._own_member(obj)
        return (obj.ip_address or "-") if shown else "-"

    @admin.display(description=_("changes"))
    def changes_display(self, obj: AuditEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.changes, indent=2, ensure_ascii=False, sort_keys=True))

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


supplier_admin_site.register(AuditEntry, SupplierAuditEntryAdmin)

for _site in (admin.site, supplier_admin_site):
    _site.register(Warehouse, WarehouseAdmin)
    _site.register(Offer, OfferAdmin)
    _site.register(Stock, StockAdmin)
    _site.register(StockMovement, StockMovementAdmin)
supplier_admin_site.register(Part, PartLookupAdmin)

# Feed import admin lives in its own module; importing it registers it.
from suppliers import admin_feeds  # noqa: F401, E402
