"""A supplier's own business figures in the supplier admin (/supplier-admin/): sales by day,
fill rate, orders by status, top parts, why orders were lost, for a period it chooses.

The page hangs on the SalesDay model's changelist, so the admin's index and side navigation
link it ("Analytics · Sales figures") with nothing else to wire. A member sees its own
supplier's figures only (analytics.selectors.business with its supplier's id); an operator
chooses a supplier. Anybody else is refused by the site (suppliers.admin_scoping).
The figures are shown as on the operators' pages: `{% ops_figure %}`, static/js/ops-charts.js,
and `?csv=<figure key>` through analytics.figure_export.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from analytics.figure_export import figure_csv_response, period_slug
from analytics.models import SalesDay, SecurityAlert
from analytics.periods import PRESETS, InvalidPeriod, period_parse
from analytics.selectors.business import business_figures
from suppliers.admin_scoping import admin_is_operator, admin_is_supplier_member, admin_supplier, supplier_admin_site
from suppliers.models import Supplier

# The periods a supplier chooses from (analytics.periods presets; a range by dates too).
SUPPLIER_PERIODS = ("7d", "30d")
DEFAULT_SUPPLIER_PERIOD = "30d"
# Operators pick the supplier from a list of at most this many (by name).
OPERATOR_SUPPLIER_CHOICES = 500


@admin.register(SalesDay, site=supplier_admin_site)
class SupplierSalesFiguresAdmin(admin.ModelAdmin):
    """The supplier's figures page, in place of a list of SalesDay rows."""

    def _allowed(self, request) -> bool:
        return admin_is_operator(request) or admin_is_supplier_member(request)

    def has_module_permission(self, request) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return obj is None and self._allowed(request)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        # The figures page only: no change, add, delete or history views of read-model rows.
        return super().get_urls()[:1]

    def _supplier(self, request) -> tuple[Supplier | None, list[Supplier]]:
        """The supplier whose figures are shown, and for an operator the suppliers to choose from."""
        if not admin_is_operator(request):
            _allowed, supplier = admin_supplier(request)
            return supplier, []
        choices = list(Supplier.objects.order_by("legal_name", "pk")[:OPERATOR_SUPPLIER_CHOICES])
        chosen = request.GET.get("supplier", "")
        supplier = next((s for s in choices if str(s.pk) == chosen), None)
        if supplier is None and chosen.isdigit():
            supplier = Supplier.objects.filter(pk=int(chosen)).first()
        return supplier or (choices[0] if choices else None), choices

    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            raise PermissionDenied
        supplier, choices = self._supplier(request)
        params = request.GET.copy()
        if not (params.get("period") or params.get("start") or params.get("end")):
            params["period"] = DEFAULT_SUPPLIER_PERIOD
        try:
            if not (params.get("start") or params.get("end")) and params.get("period") not in SUPPLIER_PERIODS:
                # The presets the page offers; an hour or a day of a supplier's figures by whole days is none.
                raise InvalidPeriod(_("Unknown period; choose one of %(names)s.")
                                    % {"names": ", ".join(SUPPLIER_PERIODS)})
            period = period_parse(params)
        except InvalidPeriod as exc:
            messages.error(request, str(exc))
            params = {"period": DEFAULT_SUPPLIER_PERIOD}
            period = period_parse(params)
        figures = business_figures(period=period, supplier_id=supplier.pk) if supplier else []
        if "csv" in request.GET:
            return figure_csv_response(figures, request.GET["csv"], section=f"supplier-{supplier.pk}"
                                       if supplier else "supplier", period_text=period_slug(period))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Sales figures"),
            "subtitle": supplier.legal_name if supplier else "",
            "supplier": supplier,
            "supplier_choices": choices,
            "period": period,
            "period_name": period.name,
            "periods": [(name, PRESETS[name][2]) for name in SUPPLIER_PERIODS],
            "start": params.get("start", ""),
            "end": params.get("end", ""),
            "figures": figures,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "analytics/supplier_figures.html", context)


@admin.register(SecurityAlert)
class SecurityAlertAdmin(admin.ModelAdmin):
    """Read-only: alerts are written by the detectors and answered on /ops/security/
    (analytics.services.security_alerts), never edited by hand."""

    list_display = ["id", "detector", "ident", "mode", "action_taken", "status", "first_seen_at", "last_seen_at",
                    "occurrences"]
    list_filter = ["status", "detector", "mode", "action_taken"]
    search_fields = ["ident"]
    readonly_fields = ["detector", "ident", "mode", "action_taken", "status", "first_seen_at", "last_seen_at",
                       "occurrences", "details", "acknowledged_by", "acknowledged_at", "muted_until"]
    ordering = ["-last_seen_at"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
