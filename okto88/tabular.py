"""Reading an uploaded table (supplier feeds, catalog imports): what both importers do alike.

Both read one table whose first line is the header: CSV in UTF-8 (a BOM is fine, UTF-16 and
other encodings are refused with the fix), `,` or `;` as separator (Excel writes `;` in an
Indonesian locale), column names trimmed and case-insensitive, a header that misses a
required column, names an unknown one or repeats one rejected whole (a typo must not drop data
silently). The supplier feed streams its file block by block into PostgreSQL's COPY and checks
each block here; the catalog import decodes its file at once. The feed also reads XLSX, whose
cells become the same text a CSV would hold. The limits (line, columns, rows, XLSX size) are
okto88.uploads'.

A file that cannot be read raises UploadUnreadable (encoding, empty, malformed); each importer
turns it into its own error, as it does UploadRefused.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from okto88.errors import UploadEmpty, UploadEncodingError, UploadMalformed

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_XLSX_MAGIC = b"PK\x03\x04"


def table_is_xlsx(*, file: Any, name: str) -> bool:
    """An XLSX by its first bytes (a zip), or by its name; leaves the file's position at 0."""
    file.seek(0)
    head = file.read(4)
    file.seek(0)
    return head.startswith(_XLSX_MAGIC) or name.lower().endswith(".xlsx")


def table_start(head: bytes) -> bytes:
    """The file's first bytes without the UTF-8 BOM; refuses UTF-16 and an empty file."""
    if head.startswith(_UTF16_BOMS):
        raise UploadEncodingError(_("The file is UTF-16 (Excel “Unicode text”), not UTF-8. Save it as "
                                    "“CSV UTF-8” and upload it again."))
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8):]
    if not head.strip():
        raise UploadEmpty(_("The file is empty."))
    return head


def table_decode(block: bytes, *, lines_before: int) -> str:
    """A block of whole lines as text: UTF-8 without NUL bytes; an error names the file's line."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = lines_before + block.count(b"\n", 0, exc.start) + 1
        raise UploadEncodingError(
            _("The file is not UTF-8 text (byte 0x%(byte)02X on line %(line)d). Save it as “CSV UTF-8” "
              "and upload it again.") % {"byte": block[exc.start], "line": line},
            extra={"line": line},
        ) from exc
    if b"\x00" in block:
        raise UploadMalformed(_("The file contains NUL bytes; it is not a CSV file."))
    return text


def table_rows_present(*, rows: int) -> None:
    """Refuse a table whose header is all there is."""
    if not rows:
        raise UploadEmpty(_("The file has a header but no rows."))


def table_delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def table_header_names(cells: Sequence[str | None]) -> list[str]:
    """Column names as the importers compare them: trimmed, lower case (an empty cell: "")."""
    return [(c or "").strip().lower() for c in cells]


@dataclass(frozen=True)
class HeaderProblems:
    missing: list[str]
    unknown: list[str]
    repeated: list[str]

    def __bool__(self) -> bool:
        return bool(self.missing or self.unknown or self.repeated)

    def describe(self) -> str:
        problems = []
        if self.missing:
            problems.append(_("missing columns: %s") % ", ".join(self.missing))
        if self.unknown:
            problems.append(_("unknown columns: %s") % ", ".join(self.unknown))
        if self.repeated:
            problems.append(_("repeated columns: %s") % ", ".join(self.repeated))
        return "; ".join(problems)


def table_header_problems(*, names: list[str], required: Sequence[str],
                          known: Callable[[str], bool]) -> HeaderProblems:
    """What is wrong with a header (names from table_header_names); false when nothing is."""
    return HeaderProblems(
        missing=[c for c in required if c not in names],
        unknown=[name or _("(empty)") for name in names if not known(name)],
        repeated=sorted({n for n in names if n and names.count(n) > 1}),
    )


def table_xlsx_text(value: Any) -> str | None:
    """An XLSX cell as the text a CSV would hold (None for an empty cell)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        # An integer is written as digits; a fraction with the decimal comma Indonesian Excel
        # shows, so that 189.123 is never read as "189.123", which a price reads as 189123.
        return str(int(value)) if value.is_integer() else repr(value).replace(".", ",")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
