"""The error report: one CSV row per problem (row, column, value, message), from the database."""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from typing import Any

from django.core.files.base import File

from suppliers.models import FeedImport

REPORT_HEADER = ["row", "column", "value", "message"]


def feed_import_errors_head(*, feed_import: FeedImport, limit: int = 20) -> list[dict[str, Any]]:
    """The first rows of the error report, for the API and admin."""
    if not feed_import.errors_report:
        return []
    rows: list[dict[str, Any]] = []
    with feed_import.errors_report.open("rb") as handle:
        reader = csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline=""))
        for row in reader:
            rows.append({"row": int(row["row"]), "column": row["column"], "value": row["value"],
                         "message": row["message"]})
            if len(rows) >= limit:
                break
    return rows


def _save_report(cursor, feed_import: FeedImport) -> None:
    """Write the error report (CSV: row, column, value, message) from the database, streaming."""
    with tempfile.TemporaryFile() as out:
        out.write(codecs.BOM_UTF8)  # Excel then reads it as UTF-8
        out.write((",".join(REPORT_HEADER) + "\r\n").encode())
        with cursor.copy(
            "COPY (SELECT row_no, col, value, message FROM feed_error ORDER BY row_no, col) "
            "TO STDOUT (FORMAT csv)"
        ) as copy:
            for data in copy:
                out.write(data)
        out.seek(0)
        feed_import.errors_report.save(f"feed-{feed_import.pk}-errors.csv", File(out), save=False)
