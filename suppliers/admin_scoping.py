"""Supplier-scoped admin: the second admin site for supplier members and the mixin that keeps
each member inside their own supplier's data.

Supplier members are not staff (a staff user is an operator), so they do not reach /admin/.
They log in at /supplier-admin/, whose ModelAdmins use SupplierScopedAdminMixin:

- get_queryset filters by the member's supplier through `supplier_path`
  ("supplier", "offer__supplier", "stock__offer__supplier", or "pk" for Supplier itself);
  the changelist, bulk actions (they act on the changelist queryset), exports and
  autocomplete all start from it;
- get_object answers 404 (not Django's "doesn't exist" redirect) when the id is not in that
  queryset, so another supplier's change/delete/history URL looks exactly like a missing one;
- foreign-key choices (warehouse, offer, stock, supplier) are limited to the member's supplier;
- new objects get the member's supplier on save; the supplier field is hidden from members;
- members get view/add/change (and delete only where `member_can_delete`) on their own data
  without Django model permissions; operators keep the normal permission checks.

Usage (the feed import admin does the same):

    @admin.register(FeedImport, site=supplier_admin_site)
    class SupplierFeedImportAdmin(SupplierScopedAdminMixin, admin.ModelAdmin):
        supplier_path = "supplier"
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from suppliers.models import Offer, Stock, Supplier, SupplierStatus, Warehouse
from suppliers.selectors import actor_is_operator, supplier_for_actor_or_none

# How to reach the supplier from a related model, for foreign-key choices.
RELATED_SUPPLIER_PATHS: dict[type, str] = {
    Supplier: "pk",
    Warehouse: "supplier",
    Offer: "supplier",
    Stock: "offer__supplier",
}

_REQUEST_CACHE_ATTR = "_okto88_admin_supplier"


def admin_supplier(request) -> tuple[bool, Supplier | None]:
    """(allowed, supplier) for the request's user, cached on the request. Operators: (True, None)."""
    cached = getattr(request, _REQUEST_CACHE_ATTR, None)
    if cached is None:
        cached = supplier_for_actor_or_none(actor=request.user)
        allowed, supplier = cached
        if allowed and supplier is not None and supplier.status == SupplierStatus.SUSPENDED:
            cached = (False, None)
        setattr(request, _REQUEST_CACHE_ATTR, cached)
    return cached


def admin_is_operator(request) -> bool:
    return actor_is_operator(actor=request.user)


def admin_is_supplier_member(request) -> bool:
    """A member of a supplier the admin admits (not an operator, not a suspended supplier's)."""
    if admin_is_operator(request):
        return False
    allowed, supplier = admin_supplier(request)
    return allowed and supplier is not None


def _supplier_id_of(obj: Any, path: str) -> int | None:
    """Follow `path` ("offer__supplier") from obj to the supplier's id without a query when possible."""
    if path == "pk":
        return obj.pk
    *hops, last = path.split("__")
    target = obj
    for hop in hops:
        target = getattr(target, hop, None)
        if target is None:
            return None
    return getattr(target, f"{last}_id", None)


class SupplierAdminLoginForm(AdminAuthenticationForm):
    """The login form of /supplier-admin/. Django's admin form lets only staff in; here the test is
    the site's own: members of a supplier that is not suspended, and operators."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "not_supplier_member": _(
            "This account is not a member of a supplier (or the supplier is suspended). "
            "Workshops sign in on the main login page."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        if not user.is_active:
            raise ValidationError(self.error_messages["inactive"], code="inactive")
        if actor_is_operator(actor=user):
            return
        allowed, supplier = supplier_for_actor_or_none(actor=user)
        if not allowed or supplier is None or supplier.status == SupplierStatus.SUSPENDED:
            raise ValidationError(self.error_messages["not_supplier_member"], code="not_supplier_member")


class SupplierAdminSite(admin.AdminSite):
    """/supplier-admin/: supplier members (of a supplier that is not suspended) and operators."""

    login_form = SupplierAdminLoginForm
    site_header = _("okto88 · supplier")
    site_title = _("okto88 supplier admin")
    index_title = _("Your offers, stock and warehouses")

    def has_permission(self, request) -> bool:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return False
        if admin_is_operator(request):
            return True
        allowed, supplier = admin_supplier(request)
        return allowed and supplier is not None


supplier_admin_site = SupplierAdminSite(name="supplier_admin")


class SupplierWarehouseListFilter(admin.SimpleListFilter):
    """Filter by warehouse, listing only the member's own warehouses (Django's field filter on
    `warehouse__code` would list every supplier's codes). Operators see all, up to a bound."""

    title = _("warehouse")
    parameter_name = "warehouse"
    field_path = "warehouse"
    OPERATOR_CHOICES = 200

    def lookups(self, request, model_admin):
        warehouses = Warehouse.objects.order_by("code", "pk")
        if admin_is_operator(request):
            warehouses = warehouses.select_related("supplier")[:self.OPERATOR_CHOICES]
            return [(w.pk, f"{w} ({w.supplier})") for w in warehouses]
        allowed, supplier = admin_supplier(request)
        if not allowed or supplier is None:
            return []
        return [(w.pk, str(w)) for w in warehouses.filter(supplier=supplier.pk)]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit() or len(value) > 18:
            raise IncorrectLookupParameters(_("Choose a warehouse from the list."))
        # The changelist queryset is already the member's own: a foreign id simply matches nothing.
        return queryset.filter(**{f"{self.field_path}_id": int(value)})


class SupplierScopedAdminMixin:
    supplier_path: str = "supplier"
    ordering = ("-pk",)  # a stable order for pagination
    member_can_add: bool = True
    member_can_change: bool = True
    member_can_delete: bool = False

    # --- who and what -------------------------------------------------------------------
    def scoped_supplier(self, request) -> Supplier | None:
        """The member's supplier, or None for operators. Anybody else sees nothing."""
        if admin_is_operator(request):
            return None
        allowed, supplier = admin_supplier(request)
        if not allowed or supplier is None:
            raise Http404()
        return supplier

    def _is_member(self, request) -> bool:
        return admin_is_supplier_member(request)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if admin_is_operator(request):
            return qs
        allowed, supplier = admin_supplier(request)
        if not allowed or supplier is None:
            return qs.none()
        return qs.filter(**{self.supplier_path: supplier.pk})

    def get_object(self, request, object_id, from_field=None):
        # Django answers a missing id with a redirect and a "doesn't exist" message; another
        # supplier's object must be indistinguishable from a missing one, and a real 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("Not found."))
        return obj

    def owns(self, request, obj) -> bool:
        if obj is None or admin_is_operator(request):
            return True
        allowed, supplier = admin_supplier(request)
        return allowed and supplier is not None and _supplier_id_of(obj, self.supplier_path) == supplier.pk

    # --- permissions without Django model permissions for members ----------------------
    def has_module_permission(self, request) -> bool:
        return self._is_member(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        if self._is_member(request):
            return self.owns(request, obj)
        return super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        if self._is_member(request):
            return self.member_can_add
        return super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        if self._is_member(request):
            return self.member_can_change and self.owns(request, obj)
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if self._is_member(request):
            return self.member_can_delete and self.owns(request, obj)
        return super().has_delete_permission(request, obj)

    # --- forms --------------------------------------------------------------------------
    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if self._is_member(request) and self.supplier_path == "supplier":
            exclude.append("supplier")  # set from the member on save
        return exclude

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if self._is_member(request) and "supplier" in fields:
            fields.remove("supplier")  # it is excluded instead
        return fields

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if self._is_member(request) and self.supplier_path == "supplier" and "supplier" in fields:
            fields.remove("supplier")
        return fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if related in RELATED_SUPPLIER_PATHS and not admin_is_operator(request):
            allowed, supplier = admin_supplier(request)
            qs = kwargs.get("queryset") or related._default_manager.all()
            if not allowed or supplier is None:
                kwargs["queryset"] = qs.none()
            else:
                kwargs["queryset"] = qs.filter(**{RELATED_SUPPLIER_PATHS[related]: supplier.pk})
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        if not change and self.supplier_path == "supplier" and self._is_member(request):
            obj.supplier = self.scoped_supplier(request)
        super().save_model(request, obj, form, change)

    # --- exports (django-import-export) --------------------------------------------------
    def get_export_queryset(self, request):
        # import-export builds its queryset from the changelist, i.e. from get_queryset; filter
        # again anyway so an export can never widen beyond the member's supplier.
        qs = super().get_export_queryset(request)
        if admin_is_operator(request):
            return qs
        allowed, supplier = admin_supplier(request)
        if not allowed or supplier is None:
            return qs.none()
        return qs.filter(**{self.supplier_path: supplier.pk})

    def get_valid_export_item_pks(self, request):
        # The ids an "export selected" action may name: only the member's own.
        return self.get_queryset(request).values_list("pk", flat=True)


__all__ = [
    "RELATED_SUPPLIER_PATHS", "SupplierAdminLoginForm", "SupplierAdminSite", "SupplierScopedAdminMixin",
    "SupplierWarehouseListFilter", "admin_is_operator", "admin_supplier", "supplier_admin_site",
]
