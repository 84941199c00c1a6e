"""Catalog domain errors: master data (parts, fitment, categories) and the catalog import file.

Codes are stable; see okto88.errors for the rules every error follows.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import ApplicationError, Conflict, NotFound


class CatalogImportFileError(ApplicationError):
    """The file as a whole cannot be read; no row was looked at, nothing was written."""

    code = "catalog_import_file_invalid"
    title = gettext_lazy("The import file cannot be read.")


class CatalogImportUnknownKind(CatalogImportFileError):
    code = "catalog_import_unknown_kind"


class CatalogImportEncodingError(CatalogImportFileError):
    code = "catalog_import_encoding"


class CatalogImportEmptyFile(CatalogImportFileError):
    code = "catalog_import_empty_file"


class CatalogImportHeaderError(CatalogImportFileError):
    code = "catalog_import_header"


class CatalogImportMalformed(CatalogImportFileError):
    code = "catalog_import_malformed"


class CatalogImportTooLarge(CatalogImportFileError):
    code = "catalog_import_too_large"
    status = 413


class InvalidPartNumber(ApplicationError):
    code = "invalid_part_number"
    title = gettext_lazy("The part number must contain at least one letter or digit.")


class DuplicatePart(Conflict):
    code = "duplicate_part"
    title = gettext_lazy("This brand already has a part with this number.")


class SupersessionCycle(Conflict):
    code = "supersession_cycle"
    title = gettext_lazy("This supersession would make a part replace itself.")


class InvalidFitment(ApplicationError):
    code = "invalid_fitment"
    title = gettext_lazy("The fitment list is not valid.")


class UnknownVariant(NotFound):
    code = "unknown_variant"
    title = gettext_lazy("No such vehicle variant.")


class InvalidCategory(ApplicationError):
    code = "invalid_category"
    title = gettext_lazy("A category cannot be its own ancestor.")
