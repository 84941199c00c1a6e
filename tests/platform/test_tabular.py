"""okto88.tabular: what the supplier feed and the catalog import do alike to read an uploaded table."""

from __future__ import annotations

import datetime
import io

import pytest
from django.utils import translation

from okto88 import tabular
from okto88.errors import UploadEmpty, UploadEncodingError, UploadMalformed


@pytest.fixture(autouse=True)
def _english_messages():
    """These tests read the English texts; Indonesian is the default everywhere else."""
    with translation.override("en"):
        yield


def test_the_start_drops_a_utf8_bom_and_refuses_utf16_and_an_empty_file():
    assert tabular.table_start(b"\xef\xbb\xbfsku,price\n") == b"sku,price\n"
    with pytest.raises(UploadEncodingError, match="UTF-16"):
        tabular.table_start("sku,price\n".encode("utf-16"))
    for empty in (b"", b" \r\n\n", b"\xef\xbb\xbf\n"):
        with pytest.raises(UploadEmpty, match="empty"):
            tabular.table_start(empty)


def test_decoding_names_the_bad_byte_and_its_line_in_the_whole_file():
    block = b"a,b\nc,d\ne,\xe9\n"
    with pytest.raises(UploadEncodingError, match=r"byte 0xE9 on line 13") as exc:
        tabular.table_decode(block, lines_before=10)
    assert exc.value.extra == {"line": 13}
    assert tabular.table_decode("é,ü\n".encode(), lines_before=0) == "é,ü\n"
    with pytest.raises(UploadMalformed, match="NUL"):
        tabular.table_decode(b"a,b\n\x00\n", lines_before=0)


def test_the_delimiter_is_the_header_line_s_more_frequent_separator():
    assert tabular.table_delimiter("sku;brand;part_number,x;price") == ";"
    assert tabular.table_delimiter("sku,brand;part_number,price") == ","
    assert tabular.table_delimiter("sku") == ","


def test_header_problems_name_missing_unknown_empty_and_repeated_columns():
    names = tabular.table_header_names([" SKU ", "Price", "prcie", None, "price", ""])
    assert names == ["sku", "price", "prcie", "", "price", ""]
    problems = tabular.table_header_problems(names=names, required=["sku", "brand", "price"],
                                     known=lambda name: name in ("sku", "brand", "price"))
    assert problems
    assert (problems.missing, problems.unknown, problems.repeated) == (["brand"], ["prcie", "(empty)", "(empty)"],
                                                                       ["price"])
    assert problems.describe() == ("missing columns: brand; unknown columns: prcie, (empty), (empty); "
                                   "repeated columns: price")
    assert not tabular.table_header_problems(names=["price", "sku"], required=["sku"], known=lambda name: True)


def test_a_header_without_rows_is_refused():
    tabular.table_rows_present(rows=1)
    with pytest.raises(UploadEmpty, match="header but no rows"):
        tabular.table_rows_present(rows=0)


def test_xlsx_cells_read_as_the_text_a_csv_would_hold():
    assert tabular.table_xlsx_text(None) is None
    assert tabular.table_xlsx_text(True) == "1" and tabular.table_xlsx_text(False) == "0"
    assert tabular.table_xlsx_text(189000.0) == "189000"
    # A fraction keeps the decimal comma, so it can never pass for a thousands group.
    assert tabular.table_xlsx_text(189.123) == "189,123"
    assert tabular.table_xlsx_text(12) == "12"
    assert tabular.table_xlsx_text(datetime.date(2026, 1, 31)) == "2026-01-31"
    assert tabular.table_xlsx_text(" JKT1 ") == " JKT1 "


def test_an_xlsx_is_told_by_its_zip_magic_or_its_name_and_the_file_is_left_at_its_start():
    zipped = io.BytesIO(b"PK\x03\x04rest")
    zipped.read(2)
    assert tabular.table_is_xlsx(file=zipped, name="feed.csv") and zipped.tell() == 0
    assert tabular.table_is_xlsx(file=io.BytesIO(b"sku,price\n"), name="Feed.XLSX")
    plain = io.BytesIO(b"sku,price\n")
    assert not tabular.table_is_xlsx(file=plain, name="feed.csv") and plain.tell() == 0
