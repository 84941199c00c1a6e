"""Catalog import: parts, cross references and fitment from CSV, all or nothing.

One file holds one kind of row; the operator says which (`--kind` on the command, a choice on
the upload page). A file is UTF-8 CSV (a BOM is fine; `;` as separator is recognised, as
Excel writes it in an Indonesian locale) whose first line is the header. Column names are
case-insensitive; a missing required column or an unknown column rejects the whole file
(a typo such as `weigth_g` must not drop data silently).

    parts      required: brand, part_number, category (slug), name_id, name_en, weight_g,
                         length_mm, width_mm, height_mm, status
               optional: superseded_by_number (same brand; in the catalog or in the file),
                         attributes (a JSON object)
    crossrefs  required: brand, part_number, ref_brand, ref_number
               optional: is_oe (1/0, true/false, yes/no, ya/tidak; empty = no)
    fitment    required: brand, part_number, make, model, variant (its name), year_from
               optional: position, quantity (default 1), note

Brands are matched by name or slug, makes and models by name or slug, all case-insensitive;
part numbers by their normalised key, so `04465-0K240` finds `04465 0k240`. An empty value
means 0 (dimensions), `active` (status; `superseded` with a successor), the Indonesian name
(name_en) and 1 (quantity).

Rules:
- Every row is validated before anything is written; the report lists every rejected row
  (row = line number in the file, the header is row 1) with the column and the reason. If
  any row is rejected nothing is written.
- A row is the whole truth about its part, except that an optional column left out of the
  header leaves the stored values alone (no `attributes` column: attributes are kept; no
  `superseded_by_number` column: successors are kept). A supersession that would make a
  loop (A replaced by B replaced by A, through stored parts too) rejects the row.
- Parts are upserted by (brand, normalised number); cross references by (part, ref brand,
  ref number) and fitment by (variant, part, position). Rows equal to what is stored change
  nothing, so importing the same file twice is a no-op: no version bump, no event.
- Each changed part gets `version + 1` (new parts start at 1) and one outbox event in the
  same transaction, with the topics and payload of catalog.services: `part.created`,
  `part.updated` (`changed`: field names or `cross_references`), `part.superseded`,
  `part.fitment_changed`.
- Nothing is deleted: a row missing from the file leaves the stored row alone.
- Imports run one at a time (a transaction-scoped advisory lock), so two operators
  uploading overlapping files cannot interleave.
- A file is bounded like a supplier feed (okto88.uploads, settings IMPORT_*): a line longer
  than IMPORT_MAX_LINE_BYTES, more than IMPORT_MAX_COLUMNS columns or IMPORT_MAX_ROWS rows
  rejects the whole file (CatalogImportTooLarge) before any row is validated.

The package, by step: `reading` (the file as a table; what it shares with the supplier feed —
encoding, delimiter, header — is okto88.tabular's), `validation`, `writing`, `events`, and `run`
(the service, catalog_import); `kinds` and `report` hold what they all name. The names below are
what the rest of the code uses.
"""

from catalog.imports.kinds import COLUMNS, ImportKind, import_expected_header
from catalog.imports.report import ImportReport, Progress, RowError
from catalog.imports.run import CATALOG_IMPORT_LOCK_ID, catalog_import

__all__ = [
    "CATALOG_IMPORT_LOCK_ID",
    "COLUMNS",
    "ImportKind",
    "ImportReport",
    "Progress",
    "RowError",
    "catalog_import",
    "import_expected_header",
]
