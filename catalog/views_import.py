"""The staff upload page for the catalog import: choose the kind, upload a CSV, read the report.

Thin: the form checks what a browser can get wrong, catalog.imports does the rest. The page
renders the report in the response to the POST (no redirect): the report is the result.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from catalog.errors import CatalogImportFileError
from catalog.imports import COLUMNS, ImportKind, catalog_import, import_expected_header
from okto88.errors import error_message

# The page lists this many rejected rows; the command prints them all.
ROWS_SHOWN = 500
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class CatalogImportForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"), choices=ImportKind.choices)
    file = forms.FileField(label=gettext_lazy("CSV file (UTF-8)"))
    dry_run = forms.BooleanField(label=gettext_lazy("Only check, do not import"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB; split it or use the catalog_import command.")
                % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload


@staff_member_required(login_url="login")
@require_http_methods(["GET", "POST"])
def catalog_import_page(request):
    form = CatalogImportForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                report = catalog_import(
                    kind=form.cleaned_data["kind"], file=form.cleaned_data["file"],
                    actor=request.user, dry_run=form.cleaned_data["dry_run"],
                )
            except CatalogImportFileError as exc:
                messages.error(request, error_message(exc, staff=True))
                status = 400
            else:
                _report_message(request, report)
                status = 200 if report.ok else 400
        else:
            status = 400
    headers = [(kind, label, import_expected_header(kind=kind), COLUMNS[kind][0])
               for kind, label in ImportKind.choices]
    context = {
        "form": form,
        "report": report,
        "errors_shown": report.errors[:ROWS_SHOWN] if report else [],
        "errors_hidden": max(len(report.errors) - ROWS_SHOWN, 0) if report else 0,
        "headers": headers,
    }
    return render(request, "catalog/import.html", context, status=status)


def _report_message(request, report) -> None:
    counts = {"rows": report.total_rows, "created": report.created, "updated": report.updated,
              "unchanged": report.unchanged}
    if not report.ok:
        messages.error(request, _("%(rejected)d of %(rows)d rows were rejected; nothing was "
                                  "imported. Correct them and upload the file again.")
                       % {"rejected": report.rejected_rows, "rows": report.total_rows})
    elif report.dry_run:
        messages.info(request, _("All %(rows)d rows are valid; nothing was imported (check only).")
                      % counts)
    else:
        messages.success(request, _("Imported %(rows)d rows: %(created)d created, %(updated)d "
                                    "updated, %(unchanged)d unchanged.") % counts)
