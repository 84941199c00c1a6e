"""Limits on uploaded import files (supplier feeds, catalog imports), checked before parsing.

A parser's memory and time follow what the file unpacks to, not what was uploaded: a 463 KB
XLSX whose shared-strings part inflates to 300 MB held a worker at 1.1 GB for half an hour.
So an XLSX (a zip) is judged by its central directory before openpyxl opens it: the number
of parts, the total uncompressed size, and each large part's compression ratio. Python's
zipfile never returns more bytes of a part than the directory says (and fails on a CRC
mismatch), so the directory is a bound the parser cannot exceed. CSV is bounded while it is
read: the line length, the number of data rows, the number of columns. The importers stop at
the row and column limits too, so memory and time are bounded by construction; the Celery
time limits of the import task are only the last resort.

Every limit is a setting (okto88/settings.py, IMPORT_*). A refusal raises UploadRefused with
a message that says which limit and what to do; the importers turn it into their own error.
"""

from __future__ import annotations

import struct
import zipfile
from typing import IO, NoReturn

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from okto88.errors import UploadRefused

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_MAX_COMMENT = 0xFFFF
# Small parts cannot hurt and compress unevenly (a 2 KB styles part may well be 60:1).
RATIO_CHECKED_FROM_BYTES = 1 << 20


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f}"


def upload_zip_check(*, file: IO[bytes]) -> None:
    """Refuse a zip (XLSX) whose directory promises too much. Reads only the directory; leaves
    the file's position at 0. Raises UploadRefused; a file that is not a zip passes (the
    parser then says it is not a workbook)."""
    max_bytes = settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES
    max_members = settings.IMPORT_XLSX_MAX_MEMBERS
    max_ratio = settings.IMPORT_XLSX_MAX_RATIO
    file.seek(0, 2)
    size = file.tell()
    if size > max_bytes:
        raise UploadRefused(_("The Excel file is larger than %(mb)s MB. Split it, or upload the feed as CSV.")
                            % {"mb": _mb(max_bytes)}, extra={"limit": "size", "max_bytes": max_bytes})
    # The member count is read from the end record first: zipfile would otherwise build an
    # object per directory entry before anything could be counted.
    tail_size = min(size, _EOCD_SIZE + _MAX_COMMENT)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    file.seek(0)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        return
    entries, directory_size = struct.unpack("<HI", tail[at + 10:at + 16])
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF or entries > max_members:  # zip64 is never this small
        raise UploadRefused(_("The Excel file has too many parts (more than %(max)d); it is not a plain "
                              "workbook. Save it again from Excel, or upload the feed as CSV.")
                            % {"max": max_members}, extra={"limit": "members", "max_members": max_members})
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        file.seek(0)
        return
    file.seek(0)
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_CHECKED_FROM_BYTES and ratio > max_ratio:
            raise UploadRefused(
                _("The Excel file's part “%(part)s” unpacks %(ratio)d times larger than it is stored "
                  "(the limit is %(max)d:1), as a “zip bomb” does. Save the workbook again from Excel, "
                  "or upload the feed as CSV.") % {"part": member.filename, "ratio": ratio, "max": max_ratio},
                extra={"limit": "ratio", "part": member.filename, "max_ratio": max_ratio},
            )
        if total > max_bytes:
            raise UploadRefused(
                _("The Excel file unpacks to more than %(mb)s MB. Split it, or upload the feed as CSV.")
                % {"mb": _mb(max_bytes)}, extra={"limit": "uncompressed", "max_bytes": max_bytes},
            )


def upload_columns_check(*, columns: int) -> None:
    limit = settings.IMPORT_MAX_COLUMNS
    if columns > limit:
        raise UploadRefused(_("The header has %(n)d columns; at most %(max)d are allowed.")
                            % {"n": columns, "max": limit}, extra={"limit": "columns", "max_columns": limit})


def upload_rows_check(*, rows: int) -> None:
    """Call with the number of data rows read so far; refuses once it passes the limit."""
    limit = settings.IMPORT_MAX_ROWS
    if rows > limit:
        raise UploadRefused(_("The file has more than %(max)s rows. Split it into files of at most %(max)s "
                              "rows each.") % {"max": number_format(limit, force_grouping=True)},
                            extra={"limit": "rows", "max_rows": limit})


def upload_line_check(*, block: bytes, lines_before: int) -> None:
    """Refuse a block of CSV lines (whole lines) with a line over the limit; names the line."""
    limit = settings.IMPORT_MAX_LINE_BYTES
    if len(block) <= limit:
        return
    for n, line in enumerate(block.split(b"\n"), start=lines_before + 1):
        if len(line) > limit:
            _line_too_long(line_no=n, limit=limit)


def upload_pending_check(*, pending: bytes, lines_before: int) -> None:
    """A reader that buffers until a record ends calls this with its buffer (which starts at a
    record): a record with no end in sight must not grow the buffer without bound."""
    limit = settings.IMPORT_MAX_LINE_BYTES
    if len(pending) > limit:
        _line_too_long(line_no=lines_before + 1, limit=limit)


def _line_too_long(*, line_no: int, limit: int) -> NoReturn:
    raise UploadRefused(_("Line %(line)d of the file is longer than %(max)d bytes. Check that it is a CSV "
                          "file with one row per line.") % {"line": line_no, "max": limit},
                        extra={"limit": "line", "line": line_no, "max_line_bytes": limit})
