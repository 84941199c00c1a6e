"""Reading the file: a bounded UTF-8 CSV table whose header fits the kind (okto88.tabular,
okto88.uploads)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from catalog.errors import (
    CatalogImportEmptyFile,
    CatalogImportEncodingError,
    CatalogImportHeaderError,
    CatalogImportMalformed,
    CatalogImportTooLarge,
)
from catalog.imports.kinds import COLUMNS, import_expected_header
from okto88.errors import UploadEmpty, UploadEncodingError, UploadMalformed, UploadRefused, UploadUnreadable
from okto88.tabular import (
    table_decode,
    table_delimiter,
    table_header_names,
    table_header_problems,
    table_rows_present,
    table_start,
)
from okto88.uploads import upload_columns_check, upload_line_check, upload_rows_check


@dataclass
class _Table:
    columns: list[str]
    rows: list[tuple[int, list[str]]]  # (line number, cells)


def _read_bytes(file: IO[bytes] | IO[str] | bytes | str) -> bytes:
    if isinstance(file, bytes):
        return file
    if isinstance(file, str):  # a path
        with open(file, "rb") as handle:
            return handle.read()
    if hasattr(file, "chunks"):  # a Django UploadedFile, possibly on disk
        return b"".join(file.chunks())
    data = file.read()
    if isinstance(data, str):
        # A text stream was decoded by its opener; only the result can be checked.
        return data.encode("utf-8")
    return data


def _header_check(*, kind: str, columns: list[str]) -> None:
    required, optional = COLUMNS[kind]
    problems = table_header_problems(names=columns, required=required,
                                     known=lambda name: name in required or name in optional)
    if not problems:
        return
    expected = import_expected_header(kind=kind)
    raise CatalogImportHeaderError(
        _("The header is wrong (%(problems)s). The first line must be: %(expected)s")
        % {"problems": problems.describe(), "expected": expected},
        extra={"missing": problems.missing, "unknown": problems.unknown, "expected": expected},
    )


# What okto88.uploads and okto88.tabular refuse, as the import's own errors.
_FILE_ERRORS = {UploadRefused: CatalogImportTooLarge, UploadEncodingError: CatalogImportEncodingError,
                UploadEmpty: CatalogImportEmptyFile, UploadMalformed: CatalogImportMalformed}


def _read_table(*, kind: str, file) -> _Table:
    try:
        return _read_bounded(kind=kind, file=file)
    except (UploadRefused, UploadUnreadable) as exc:
        raise _FILE_ERRORS[type(exc)](exc.message, extra=exc.extra) from exc


def _read_bounded(*, kind: str, file) -> _Table:
    """The limits every import file has (okto88.uploads): line length, columns, rows. Decoding and
    the header as a supplier feed's (okto88.tabular)."""
    data = _read_bytes(file)
    upload_line_check(block=data, lines_before=0)
    text = table_decode(table_start(data), lines_before=0)
    delimiter = table_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        columns = table_header_names(next(reader))
        upload_columns_check(columns=len(columns))
        _header_check(kind=kind, columns=columns)
        line = reader.line_num
        max_rows = settings.IMPORT_MAX_ROWS
        for cells in reader:
            start, line = line + 1, reader.line_num
            if any(c.strip() for c in cells):  # blank lines: a trailing newline, Excel
                rows.append((start, cells))
                if len(rows) > max_rows:
                    upload_rows_check(rows=len(rows))
    except csv.Error as exc:
        raise CatalogImportMalformed(
            _("The file is not valid CSV near line %(line)d: %(error)s")
            % {"line": reader.line_num, "error": exc},
        ) from exc
    table_rows_present(rows=len(rows))
    return _Table(columns=columns, rows=rows)
