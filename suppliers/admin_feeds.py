"""Feed import admin, on the operator admin (/admin/) and the supplier admin (/supplier-admin/).

Upload only: the form takes the file (and, for operators, the supplier; a supplier member's
own supplier is used automatically) and hands it to suppliers.feeds.feed_import_create, which
starts the Celery task after commit. An import is read-only afterwards. The uploaded file and
the error report are served by this admin's own views, never by a public media URL, so a
member of one supplier cannot download another's (404, like every scoped object).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import FileResponse, Http404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import escape, format_html
from django.utils.translation import gettext_lazy as _

from okto88.errors import error_message
from suppliers import feeds
from suppliers.admin_scoping import SupplierScopedAdminMixin, admin_is_operator, supplier_admin_site
from suppliers.errors import FeedUploadInvalid
from suppliers.models import FeedImport

FIRST_ERRORS = 50


class FeedUploadForm(forms.ModelForm):
    class Meta:
        model = FeedImport
        fields = ["supplier", "file"]
        help_texts = {
            "file": _("CSV (UTF-8, “,” or “;”) or Excel .xlsx. Header: sku, brand, part_number, price, "
                      "lead_time_days (optional), then one stock_<warehouse code> column per warehouse, "
                      "e.g. stock_JKT1. An empty stock cell leaves that stock as it is."),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "file" in self.fields:
            # Admin renders help texts as HTML: "stock_<warehouse code>" would be a tag and vanish.
            self.fields["file"].help_text = escape(self.fields["file"].help_text)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(feeds.ALLOWED_EXTENSIONS):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        try:
            feeds.feed_upload_check(file=upload)  # the same checks as the service, before saving
        except FeedUploadInvalid as exc:
            raise forms.ValidationError(error_message(exc, staff=True), code=exc.code) from exc
        return upload


class FeedImportAdminBase(admin.ModelAdmin):
    form = FeedUploadForm
    change_form_template = "suppliers/admin/feedimport_change_form.html"
    list_display = ["created_at", "supplier", "original_name", "status_display", "progress", "rows_per_second",
                    "offers_changed", "stock_changed", "rows_rejected", "report_link"]
    list_filter = ["status"]
    search_fields = ["original_name"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier"]
    readonly_fields = ["supplier", "original_name", "file_link", "status_display", "progress", "rows_per_second",
                       "offers_changed", "stock_changed", "rows_rejected", "error", "report_link", "first_errors",
                       "created_by", "created_at", "started_at", "finished_at"]

    # --- read-only after upload ------------------------------------------------------------
    def get_fields(self, request, obj=None):
        if obj is None:
            return super().get_fields(request, obj)
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        supplier = self.upload_supplier(request, form)
        created = feeds.feed_import_create(supplier=supplier, file=form.cleaned_data["file"], actor=request.user)
        # The admin logs and redirects with `obj`: make it the stored import.
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def upload_supplier(self, request, form):
        return form.cleaned_data["supplier"]

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, _("The feed was uploaded; the import runs in the background."), messages.SUCCESS)
        return super().response_add(request, obj, post_url_continue)

    # --- display -----------------------------------------------------------------------------
    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: FeedImport) -> str:
        # Coloured by admin.css (the Content-Security-Policy allows no style attribute).
        return format_html('<strong class="feed-status feed-status--{}">{}</strong>', obj.status,
                           obj.get_status_display())

    @admin.display(description=_("progress (rows done / total)"))
    def progress(self, obj: FeedImport) -> str:
        total = obj.rows_total if obj.finished_at else None
        return f"{obj.rows_done:,} / {total:,}" if total is not None else f"{obj.rows_done:,} / …"

    @admin.display(description=_("rows/s"))
    def rows_per_second(self, obj: FeedImport) -> str:
        rate = feeds.feed_import_rate(feed_import=obj)
        return f"{rate:,.0f}" if rate is not None else "—"

    @admin.display(description=_("error report"))
    def report_link(self, obj: FeedImport) -> str:
        if not obj.errors_report:
            return "—"
        url = reverse(f"{self.admin_site.name}:suppliers_feedimport_report", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download CSV"))

    @admin.display(description=_("file"))
    def file_link(self, obj: FeedImport) -> str:
        url = reverse(f"{self.admin_site.name}:suppliers_feedimport_file", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)

    @admin.display(description=_("first errors"))
    def first_errors(self, obj: FeedImport) -> str:
        rows = feeds.feed_import_errors_head(feed_import=obj, limit=FIRST_ERRORS)
        if not rows:
            return "—"
        return render_to_string("suppliers/admin/feed_errors.html", {"rows": rows, "more": obj.rows_rejected})

    # --- downloads (scoped: get_object is the scoped queryset) ---------------------------------
    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path("<path:object_id>/report/", self.admin_site.admin_view(self.report_view), name=f"{prefix}_report"),
            path("<path:object_id>/file/", self.admin_site.admin_view(self.file_view), name=f"{prefix}_file"),
        ]
        return own + super().get_urls()

    def _download_object(self, request, object_id) -> FeedImport:
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404()
        return obj

    def report_view(self, request, object_id):
        obj = self._download_object(request, object_id)
        if not obj.errors_report:
            raise Http404()
        return FileResponse(obj.errors_report.open("rb"), as_attachment=True,
                            filename=f"feed-{obj.pk}-errors.csv", content_type="text/csv")

    def file_view(self, request, object_id):
        obj = self._download_object(request, object_id)
        return FileResponse(obj.file.open("rb"), as_attachment=True, filename=obj.original_name)


@admin.register(FeedImport)
class FeedImportAdmin(FeedImportAdminBase):
    """Operators: every supplier's imports; the upload form asks for the supplier."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404()
        return obj


@admin.register(FeedImport, site=supplier_admin_site)
class SupplierFeedImportAdmin(SupplierScopedAdminMixin, FeedImportAdminBase):
    """Supplier members: their own supplier's imports; the upload is for their supplier."""

    supplier_path = "supplier"
    member_can_change = False

    def get_list_display(self, request):
        fields = list(super().get_list_display(request))
        if not admin_is_operator(request):
            fields.remove("supplier")
        return fields

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is not None and not admin_is_operator(request) and "supplier" in fields:
            fields.remove("supplier")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def upload_supplier(self, request, form):
        supplier = self.scoped_supplier(request)
        return supplier if supplier is not None else form.cleaned_data["supplier"]
