"""Catalog import files are bounded while read, by the same limits as feeds (okto88/uploads.py)."""

from __future__ import annotations

import pytest

from catalog.errors import CatalogImportTooLarge
from catalog.imports import catalog_import
from tests.catalog_import.csv_files import GOOD_PARTS, catalog_state, parts_csv

ROW = "Denso,k16r-u11,busi,Busi Denso,Spark plug Denso,45,,,,active,,"


def test_too_many_rows_are_refused_and_nothing_is_written(catalog, settings):
    settings.IMPORT_MAX_ROWS = 2
    before = catalog_state()
    with pytest.raises(CatalogImportTooLarge, match="more than 2 rows"):
        catalog_import(kind="parts", file=parts_csv(ROW, ROW, ROW))
    assert catalog_state() == before


def test_the_row_limit_itself_is_allowed(catalog, settings):
    settings.IMPORT_MAX_ROWS = 3
    assert catalog_import(kind="parts", file=GOOD_PARTS).committed


def test_an_overlong_line_is_refused_with_its_number(catalog, settings):
    settings.IMPORT_MAX_LINE_BYTES = 500
    with pytest.raises(CatalogImportTooLarge, match=r"Line 3 .* longer than 500 bytes"):
        catalog_import(kind="parts", file=parts_csv(ROW, ROW.replace("Busi Denso", "B" * 600)))


def test_too_many_columns_are_refused(catalog, settings):
    settings.IMPORT_MAX_COLUMNS = 5
    with pytest.raises(CatalogImportTooLarge, match="12 columns; at most 5"):
        catalog_import(kind="parts", file=GOOD_PARTS)


def test_the_upload_page_shows_the_refusal(client, catalog, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.platform.factories import OperatorFactory

    settings.IMPORT_MAX_ROWS = 2
    client.force_login(OperatorFactory())
    response = client.post("/admin-tools/catalog/import/",
                           {"kind": "parts", "file": SimpleUploadedFile("p.csv", GOOD_PARTS)})
    assert response.status_code == 400
    assert "more than 2 rows" in response.content.decode()
