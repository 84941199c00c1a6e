"""Supplier domain errors: offers, stock, warehouses, the supplier's identity and the stock feed file.

Codes are stable; see okto88.errors for the rules every error follows.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import ApiClientActsElsewhere, ApplicationError, Conflict, NotFound, PermissionDenied

# Well-formed rows that name what the supplier does not have are a 404, rows that would go
# below what is reserved a 409 (the state forbids it); anything malformed, or a mix, a 400.
NOT_FOUND_ROW_CODES = frozenset({"unknown_sku", "unknown_warehouse"})
CONFLICT_ROW_CODES = frozenset({"insufficient_stock"})


def _stock_rows_status(errors: list[dict[str, str]]) -> int:
    codes = {error["code"] for error in errors}
    if codes and codes <= NOT_FOUND_ROW_CODES:
        return 404
    if codes and codes <= CONFLICT_ROW_CODES:
        return 409
    return 400


class NoSupplier(PermissionDenied):
    code = "no_supplier"
    title = gettext_lazy("This caller is not bound to a supplier.")


class FeedFileError(ApplicationError):
    """The file as a whole cannot be read: nothing was changed."""

    code = "feed_file_invalid"
    title = gettext_lazy("The feed file cannot be read.")


class FeedEncodingError(FeedFileError):
    code = "feed_encoding"


class FeedEmptyFile(FeedFileError):
    code = "feed_empty"


class FeedHeaderError(FeedFileError):
    code = "feed_header"


class FeedUploadInvalid(ApplicationError):
    code = "feed_upload_invalid"
    title = gettext_lazy("The feed upload is not acceptable.")


class FeedFileUnsupported(FeedUploadInvalid):
    """The file is neither a CSV nor an XLSX (by its name): its type is one we do not read."""

    code = "feed_file_unsupported"
    status = 415
    title = gettext_lazy("Upload a CSV (.csv) or Excel (.xlsx) file.")


class FeedUploadTooLarge(FeedUploadInvalid):
    code = "feed_upload_too_large"
    status = 413
    title = gettext_lazy("The feed file exceeds a limit.")


class FeedImportNotFound(NotFound):
    code = "feed_import_not_found"
    title = gettext_lazy("No such feed import.")


class InvalidNpwp(ApplicationError):
    code = "invalid_npwp"
    title = gettext_lazy("The NPWP (tax number) is not valid.")


class InvalidPrice(ApplicationError):
    code = "invalid_price"
    title = gettext_lazy("A price is a whole number of rupiah greater than zero.")


class InvalidPercent(ApplicationError):
    code = "invalid_percent"
    title = gettext_lazy("The percentage is not valid.")


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    title = gettext_lazy("Not enough stock.")


class UnknownStock(NotFound):
    code = "unknown_stock"
    title = gettext_lazy("No such stock row.")


class SupplierMismatch(ApplicationError):
    code = "supplier_mismatch"
    title = gettext_lazy("The offer and the warehouse belong to different suppliers.")


class DuplicateSku(Conflict):
    code = "duplicate_sku"
    title = gettext_lazy("This supplier already has an offer with this SKU.")


class DuplicateWarehouseCode(Conflict):
    code = "duplicate_warehouse_code"
    title = gettext_lazy("This supplier already has a warehouse with this code.")


class StockRowsInvalid(ApplicationError):
    """Per-row errors of a bulk stock update; nothing was written. extra["errors"] lists
    {"field": "rows.3.sku", "code": "unknown_sku", "detail": ...} as the API renders them."""

    code = "invalid_stock_rows"
    title = gettext_lazy("Some stock rows are not valid; nothing was changed.")

    def __init__(self, errors: list[dict[str, str]], message: str | None = None):
        super().__init__(message or f"{len(errors)} error(s) in the stock rows; nothing was changed.",
                         extra={"errors": errors})
        self.errors = errors
        self.status = _stock_rows_status(errors)


class UnknownSupplier(NotFound):
    code = "unknown_supplier"
    title = gettext_lazy("No such supplier.")


class ApiClientBoundElsewhere(ApiClientActsElsewhere):
    title = gettext_lazy("This API client already acts for another supplier.")
