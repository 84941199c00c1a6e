"""The service: read, validate, then write all of it in one transaction, or nothing."""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction
from django.utils.translation import gettext as _

from catalog.errors import CatalogImportUnknownKind
from catalog.imports.events import _write_events
from catalog.imports.kinds import COLUMNS, ImportKind
from catalog.imports.reading import _read_table
from catalog.imports.report import ImportReport, Progress
from catalog.imports.validation import _VALIDATORS, _Rows
from catalog.imports.writing import _Changes, _write_links, _write_parts
from catalog.services import (
    catalog_cache_version_bump,
    fitment_part_category_refresh,
    part_search_document_refresh,
    variant_facet_rebuild,
)

logger = logging.getLogger(__package__)

# Serialises imports; a constant no other advisory lock uses.
CATALOG_IMPORT_LOCK_ID = 0x0C70881D


def _moved_parts(*, kind: str, changes: _Changes) -> list[int]:
    """The stored parts whose category the import changed."""
    if kind != ImportKind.PARTS:
        return []
    return [part_id for part_id, change in changes.updated.items() if "category" in change["changed"]]


def _facet_variants(*, kind: str, changes: _Changes) -> list[int]:
    """The variants whose facet counts the import changed: those that gained a part
    (fitment), those that carry a part whose category changed (parts)."""
    if kind == ImportKind.FITMENT:
        return sorted({variant_id for change in changes.updated.values() for variant_id in change["added"]})
    if kind == ImportKind.PARTS:
        moved = _moved_parts(kind=kind, changes=changes)
        if moved:
            with connection.cursor() as cursor:
                cursor.execute("SELECT DISTINCT variant_id FROM catalog_fitment WHERE part_id = ANY(%s)", [moved])
                return [row[0] for row in cursor.fetchall()]
    return []


def catalog_import(
    *, kind: str, file, actor=None, progress: Progress | None = None, dry_run: bool = False
) -> ImportReport:
    """Validate every row of `file`, then write all of it in one transaction, or nothing.

    `file` is a binary file object (an upload, `open(path, "rb")`), bytes, or a path.
    Raises CatalogImportFileError when the file as a whole is unreadable (kind, encoding,
    header, empty). Otherwise returns a report; when its `errors` list rejected rows,
    nothing was written. `dry_run` validates only. `progress(stage=, done=, total=)` is
    called now and then with stage validate, write or events.
    """
    started = time.monotonic()
    if kind not in COLUMNS:
        raise CatalogImportUnknownKind(
            _("Unknown import kind “%(kind)s”; use one of: %(kinds)s.")
            % {"kind": kind, "kinds": ", ".join(COLUMNS)}
        )
    table = _read_table(kind=kind, file=file)
    report = ImportReport(kind=kind, total_rows=len(table.rows), dry_run=dry_run)
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            # One import at a time, and validation sees the rows the writes will meet.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CATALOG_IMPORT_LOCK_ID])
        rows = _Rows(table=table, progress=progress)
        clean = _VALIDATORS[kind](rows)
        report.errors = sorted(rows.errors, key=lambda e: (e.row, e.column))
        if report.errors or dry_run:
            report.seconds = time.monotonic() - started
            return report
        if progress:
            progress(stage="write", done=0, total=len(clean))
        with connection.cursor() as cursor:
            if kind == ImportKind.PARTS:
                changes = _write_parts(cursor, clean, columns=set(table.columns))
                report.created, report.updated = len(changes.created), len(changes.updated)
            else:
                report.created, report.updated, changes = _write_links(
                    cursor, kind=kind, clean=clean
                )
        if progress:
            progress(stage="write", done=len(clean), total=len(clean))
        report.unchanged = len(clean) - report.created - report.updated
        report.parts_changed = len(changes.part_ids())
        report.events = _write_events(kind=kind, changes=changes, actor=actor, progress=progress)
        if kind == ImportKind.PARTS:
            # The search document is made of part, brand and category fields only.
            part_search_document_refresh(part_ids=changes.part_ids())
            fitment_part_category_refresh(part_ids=_moved_parts(kind=kind, changes=changes))
        variant_facet_rebuild(variant_ids=_facet_variants(kind=kind, changes=changes))
        catalog_cache_version_bump()
        report.committed = True
    report.seconds = time.monotonic() - started
    logger.info(
        "catalog import",
        extra={"import_kind": kind, "rows": report.total_rows, "rows_created": report.created,
               "rows_updated": report.updated, "rows_unchanged": report.unchanged,
               "actor_id": getattr(actor, "pk", None), "seconds": round(report.seconds, 2)},
    )
    return report
