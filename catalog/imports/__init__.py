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
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import events
from catalog.errors import (
    CatalogImportEmptyFile,
    CatalogImportEncodingError,
    CatalogImportHeaderError,
    CatalogImportMalformed,
    CatalogImportTooLarge,
    CatalogImportUnknownKind,
)
from catalog.models import Brand, Category, Fitment, Part, PartStatus, Position
from catalog.normalise import part_number_normalise
from catalog.selectors import supersession_loops
from catalog.services import catalog_cache_version_bump, part_search_document_refresh, variant_facet_rebuild
from okto88.errors import UploadRefused
from okto88.services import NewOutboxEvent, outbox_events_write
from okto88.uploads import upload_columns_check, upload_line_check, upload_rows_check
from vehicles.models import Make, VehicleModel, VehicleVariant

logger = logging.getLogger(__name__)

# Serialises imports; a constant no other advisory lock uses.
CATALOG_IMPORT_LOCK_ID = 0x0C70881D
PROGRESS_EVERY = 2000
EVENT_BATCH = 5000
MAX_INT = 2_147_483_647
MAX_SMALLINT = 32_767


class ImportKind(TextChoices):
    PARTS = "parts", gettext_lazy("Parts")
    CROSSREFS = "crossrefs", gettext_lazy("Cross references")
    FITMENT = "fitment", gettext_lazy("Fitment")


# kind: (required columns, optional columns)
COLUMNS: dict[str, tuple[list[str], list[str]]] = {
    ImportKind.PARTS: (
        ["brand", "part_number", "category", "name_id", "name_en", "weight_g", "length_mm",
         "width_mm", "height_mm", "status"],
        ["superseded_by_number", "attributes"],
    ),
    ImportKind.CROSSREFS: (["brand", "part_number", "ref_brand", "ref_number"], ["is_oe"]),
    ImportKind.FITMENT: (
        ["brand", "part_number", "make", "model", "variant", "year_from"],
        ["position", "quantity", "note"],
    ),
}


def import_expected_header(*, kind: str) -> str:
    required, optional = COLUMNS[kind]
    return ",".join(required + optional)


# --- Errors and the report --------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    code: str
    message: str


@dataclass
class ImportReport:
    kind: str
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    parts_changed: int = 0
    events: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False
    dry_run: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "total_rows": self.total_rows, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged,
            "parts_changed": self.parts_changed, "events": self.events,
            "rejected_rows": self.rejected_rows, "committed": self.committed,
            "dry_run": self.dry_run, "seconds": round(self.seconds, 3),
            "errors": [e.__dict__ for e in self.errors],
        }


Progress = Callable[..., None]  # progress(stage=str, done=int, total=int)


# --- Reading the file -------------------------------------------------------------------


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


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CatalogImportEncodingError(
            _("The file is UTF-16 (Excel “Unicode text”), not UTF-8. Save it as “CSV UTF-8” "
              "and upload it again.")
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CatalogImportEncodingError(
            _("The file is not UTF-8 text (byte 0x%(byte)02X on line %(line)d). Save it as "
              "“CSV UTF-8” and upload it again.") % {"byte": data[exc.start], "line": line},
            extra={"line": line},
        ) from exc


def _header_check(*, kind: str, columns: list[str]) -> None:
    required, optional = COLUMNS[kind]
    missing = [c for c in required if c not in columns]
    unknown = [c or "(empty)" for c in columns if c not in required + optional]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if not (missing or unknown or repeated):
        return
    problems = []
    if missing:
        problems.append(_("missing columns: %s") % ", ".join(missing))
    if unknown:
        problems.append(_("unknown columns: %s") % ", ".join(unknown))
    if repeated:
        problems.append(_("repeated columns: %s") % ", ".join(repeated))
    expected = import_expected_header(kind=kind)
    raise CatalogImportHeaderError(
        _("The header is wrong (%(problems)s). The first line must be: %(expected)s")
        % {"problems": "; ".join(problems), "expected": expected},
        extra={"missing": missing, "unknown": unknown, "expected": expected},
    )


def _read_table(*, kind: str, file) -> _Table:
    try:
        return _read_bounded(kind=kind, file=file)
    except UploadRefused as exc:
        raise CatalogImportTooLarge(exc.message, extra=exc.extra) from exc


def _read_bounded(*, kind: str, file) -> _Table:
    """The limits every import file has (okto88.uploads): line length, columns, rows."""
    data = _read_bytes(file)
    upload_line_check(block=data, lines_before=0)
    text = _decode(data)
    if not text.strip():
        raise CatalogImportEmptyFile(_("The file is empty."))
    if "\x00" in text:
        raise CatalogImportMalformed(_("The file contains NUL bytes; it is not a CSV file."))
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        columns = [c.strip().lower() for c in next(reader)]
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
    if not rows:
        raise CatalogImportEmptyFile(_("The file has a header but no rows."))
    return _Table(columns=columns, rows=rows)


# --- Validation -------------------------------------------------------------------------


class _Rows:
    """Validation state for one file: the errors so far and the current row's cells."""

    def __init__(self, *, table: _Table, progress: Progress | None):
        self.table = table
        self.errors: list[RowError] = []
        self.progress = progress
        self.index = {c: i for i, c in enumerate(table.columns)}
        self.row = 0
        self.cells: list[str] = []
        self.row_ok = True

    def __iter__(self):
        total, width = len(self.table.rows), len(self.table.columns)
        for n, (row, cells) in enumerate(self.table.rows, start=1):
            self.row, self.cells, self.row_ok = row, cells, True
            if len(cells) != width:
                self.error("", "field_count", _("Expected %(expected)d fields, found %(found)d.")
                           % {"expected": width, "found": len(cells)})
            else:
                yield row
            if self.progress and (n % PROGRESS_EVERY == 0 or n == total):
                self.progress(stage="validate", done=n, total=total)

    def error(self, column: str, code: str, message: str) -> None:
        self.row_ok = False
        self.errors.append(RowError(row=self.row, column=column, code=code, message=message))

    def get(self, column: str) -> str:
        i = self.index.get(column)
        return "" if i is None else self.cells[i].strip()

    def text(self, column: str, *, max_length: int, required: bool = True) -> str:
        value = self.get(column)
        if required and not value:
            self.error(column, "required", _("A value is required."))
        elif len(value) > max_length:
            self.error(column, "too_long", _("At most %(max)d characters (this one has %(n)d).")
                       % {"max": max_length, "n": len(value)})
        return value

    def number_key(self, column: str, *, required: bool = True) -> tuple[str, str]:
        number = self.get(column)
        if not number:
            if required:
                self.error(column, "required", _("A part number is required."))
            return "", ""
        key = part_number_normalise(number)
        if not key:
            self.error(column, "bad_number",
                       _("“%(value)s” has no letters or digits.") % {"value": number})
        elif len(number) > 60:
            self.error(column, "too_long", _("A part number has at most 60 characters."))
        return number, key

    def integer(self, column: str, *, default: int, minimum: int = 0,
                maximum: int = MAX_INT) -> int:
        value = self.get(column)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            self.error(column, "not_an_integer",
                       _("“%(value)s” is not a whole number.") % {"value": value})
            return default
        if number < 0 <= minimum:
            self.error(column, "negative",
                       _("Must not be negative (got %(value)s).") % {"value": value})
        elif number < minimum:
            self.error(column, "too_small", _("Must be at least %(min)d (got %(value)s).")
                       % {"min": minimum, "value": value})
        elif number > maximum:
            self.error(column, "too_large", _("Must be at most %(max)d (got %(value)s).")
                       % {"max": maximum, "value": value})
        return number

    def choice(self, column: str, *, choices: dict[str, str], default: str) -> str:
        value = self.get(column).lower()
        if not value:
            return default
        if value not in choices:
            allowed = ", ".join(sorted({c for c in choices.values() if c}))
            self.error(column, "invalid_choice", _("“%(value)s” is not one of: %(choices)s.")
                       % {"value": value, "choices": allowed})
            return default
        return choices[value]

    def duplicate(self, seen: dict, key, column: str) -> None:
        if key in seen:
            self.error(column, "duplicate", _("Same row as row %(row)d.") % {"row": seen[key]})
        else:
            seen[key] = self.row


def _brand_ids() -> dict[str, int]:
    ids: dict[str, int] = {}
    for pk, name, slug in Brand.objects.values_list("id", "name", "slug"):
        ids[name.casefold()] = pk
        ids.setdefault(slug.casefold(), pk)
    return ids


def _brand_id(rows: _Rows, brands: dict[str, int], column: str = "brand") -> int | None:
    value = rows.get(column)
    if not value:
        rows.error(column, "required", _("A brand is required."))
        return None
    brand_id = brands.get(value.casefold())
    if brand_id is None:
        rows.error(column, "unknown_brand", _("Unknown brand “%(value)s”.") % {"value": value})
    return brand_id


def _existing_part_ids(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Part ids for (brand_id, number_key) pairs, in one query however many."""
    pairs = list(set(pairs))
    if not pairs:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.brand_id, p.number_key, p.id FROM catalog_part p "
            "JOIN unnest(%s::bigint[], %s::text[]) AS k(brand_id, number_key) "
            "ON p.brand_id = k.brand_id AND p.number_key = k.number_key",
            [[b for b, _k in pairs], [k for _b, k in pairs]],
        )
        return {(b, k): pk for b, k, pk in cursor.fetchall()}


def _attributes(rows: _Rows) -> str:
    raw = rows.get("attributes")
    if not raw:
        return "{}"
    try:
        parsed = json.loads(raw)
    except ValueError:
        rows.error("attributes", "bad_json", _("Not valid JSON."))
        return "{}"
    if not isinstance(parsed, dict):
        rows.error("attributes", "not_an_object",
                   _("Must be a JSON object, like {\"thread\": \"M14x1.25\"}."))
        return "{}"
    return json.dumps(parsed, ensure_ascii=False, sort_keys=True)


def _validate_parts(rows: _Rows) -> list[tuple]:
    brands = _brand_ids()
    categories = {slug.casefold(): pk for pk, slug in Category.objects.values_list("id", "slug")}
    statuses = {s.value: s.value for s in PartStatus}
    clean: list[tuple] = []
    seen: dict[tuple[int, str], int] = {}
    successors: list[tuple[int, int, str]] = []  # (row, brand_id, key)
    for row in rows:
        brand_id = _brand_id(rows, brands)
        number, key = rows.number_key("part_number")
        slug = rows.get("category")
        category_id = categories.get(slug.casefold()) if slug else None
        if not slug:
            rows.error("category", "required", _("A category slug is required."))
        elif category_id is None:
            rows.error("category", "unknown_category",
                       _("Unknown category “%(value)s”.") % {"value": slug})
        name_id = rows.text("name_id", max_length=200)
        # Like catalog.services.part_create: no English name means the Indonesian one.
        name_en = rows.text("name_en", max_length=200, required=False) or name_id
        weight, length, width, height = (
            rows.integer(c, default=0) for c in ("weight_g", "length_mm", "width_mm", "height_mm")
        )
        status = rows.choice("status", choices=statuses, default="")
        _successor, successor_key = rows.number_key("superseded_by_number", required=False)
        if successor_key:
            if successor_key == key:
                rows.error("superseded_by_number", "superseded_by_itself",
                           _("A part cannot be superseded by itself."))
            elif brand_id is not None:
                successors.append((row, brand_id, successor_key))
            if status not in ("", PartStatus.SUPERSEDED):
                rows.error("status", "status_not_superseded",
                           _("A part with superseded_by_number must have status “superseded”."))
            status = PartStatus.SUPERSEDED
        attributes = _attributes(rows)
        if brand_id is not None and key:
            rows.duplicate(seen, (brand_id, key), "part_number")
        if rows.row_ok:
            clean.append((row, brand_id, category_id, number, key, name_id, name_en, attributes,
                          weight, length, width, height, status or PartStatus.ACTIVE,
                          brand_id if successor_key else None, successor_key or None))
    # A successor is a new part of this very file or a part already stored.
    outside = [(row, b, k) for row, b, k in successors if (b, k) not in seen]
    stored = _existing_part_ids((b, k) for _row, b, k in outside)
    bad_rows = set()
    for row, b, k in outside:
        if (b, k) not in stored:
            bad_rows.add(row)
            rows.errors.append(RowError(
                row=row, column="superseded_by_number", code="unknown_part",
                message=_("No part %(number)s of this brand in the catalog or in the file.")
                % {"number": k},
            ))
    if "superseded_by_number" in rows.index:
        edges = {(r[1], r[4]): (r[13], r[14]) if r[14] else None for r in clean}
        # The file's rows replace the stored successors; chains continue through stored parts.
        for node in supersession_loops(successors=edges, stored_successors=_stored_successors):
            bad_rows.add(seen[node])
            rows.errors.append(RowError(
                row=seen[node], column="superseded_by_number", code="supersession_cycle",
                message=_("This supersession makes a loop: following the successors of %(number)s "
                          "leads back to it.") % {"number": node[1]},
            ))
    return [r for r in clean if r[0] not in bad_rows]


Node = tuple[int, str]  # (brand_id, number_key)


def _stored_successors(nodes: set[Node]) -> dict[Node, Node | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.brand_id, p.number_key, s.brand_id, s.number_key FROM catalog_part p "
            "JOIN unnest(%s::bigint[], %s::text[]) AS k(brand_id, number_key) "
            "ON p.brand_id = k.brand_id AND p.number_key = k.number_key "
            "LEFT JOIN catalog_part s ON s.id = p.superseded_by_id",
            [[b for b, _k in nodes], [k for _b, k in nodes]],
        )
        return {(b, k): (sb, sk) if sb is not None else None for b, k, sb, sk in cursor.fetchall()}


def _attach_part_ids(rows: _Rows, staged: list[tuple]) -> list[tuple]:
    """Replace (brand_id, key) at positions 1-2 by the stored part id; unknown parts are errors."""
    part_ids = _existing_part_ids((r[1], r[2]) for r in staged)
    clean = []
    for r in staged:
        part_id = part_ids.get((r[1], r[2]))
        if part_id is None:
            rows.errors.append(RowError(
                row=r[0], column="part_number", code="unknown_part",
                message=_("No part %(number)s of this brand in the catalog; import parts first.")
                % {"number": r[2]},
            ))
        else:
            clean.append((r[0], part_id, *r[3:]))
    return clean


_BOOLEANS = {"": False, "0": False, "false": False, "no": False, "n": False, "tidak": False,
             "1": True, "true": True, "yes": True, "y": True, "ya": True}


def _validate_crossrefs(rows: _Rows) -> list[tuple]:
    brands = _brand_ids()
    brand_names = dict(Brand.objects.values_list("id", "name"))
    staged: list[tuple] = []
    seen: dict[tuple, int] = {}
    for row in rows:
        brand_id = _brand_id(rows, brands)
        _number, key = rows.number_key("part_number")
        ref_brand = rows.text("ref_brand", max_length=80)
        # A known brand is stored under its own name, so "denso" and "DENSO" are one reference.
        known = brands.get(ref_brand.casefold())
        if known is not None:
            ref_brand = brand_names[known]
        ref_number, ref_key = rows.number_key("ref_number")
        raw_oe = rows.get("is_oe").lower()
        if raw_oe not in _BOOLEANS:
            rows.error("is_oe", "not_a_boolean",
                       _("“%(value)s” is not yes/no (1/0).") % {"value": raw_oe})
        if brand_id is not None and key and ref_key:
            rows.duplicate(seen, (brand_id, key, ref_brand, ref_key), "ref_number")
        if rows.row_ok:
            staged.append((row, brand_id, key, ref_brand, ref_number, ref_key, _BOOLEANS[raw_oe]))
    return _attach_part_ids(rows, staged)


def _vehicle_index() -> tuple[dict, dict, dict]:
    """Lookups for fitment rows: makes, models per make, variants per model by (name, year)."""
    makes: dict[str, int] = {}
    for pk, name, slug in Make.objects.values_list("id", "name", "slug"):
        makes[name.casefold()] = pk
        makes.setdefault(slug.casefold(), pk)
    models: dict[tuple[int, str], int] = {}
    found_models = VehicleModel.objects.values_list("id", "make_id", "name", "slug")
    for pk, make_id, name, slug in found_models:
        models[(make_id, name.casefold())] = pk
        models.setdefault((make_id, slug.casefold()), pk)
    variants: dict[tuple[int, str, int], list[int]] = {}
    found = VehicleVariant.objects.values_list("id", "model_id", "name", "year_from")
    for pk, model_id, name, year_from in found.iterator(chunk_size=5000):
        variants.setdefault((model_id, name.casefold(), year_from), []).append(pk)
    return makes, models, variants


def _variant_id(rows: _Rows, index: tuple[dict, dict, dict]) -> int | None:
    makes, models, variants = index
    make, model, variant = rows.get("make"), rows.get("model"), rows.get("variant")
    year = rows.integer("year_from", default=0, minimum=1950, maximum=2100)
    if not make:
        rows.error("make", "required", _("A make is required."))
    elif (make_id := makes.get(make.casefold())) is None:
        rows.error("make", "unknown_make", _("Unknown make “%(value)s”.") % {"value": make})
    elif not model:
        rows.error("model", "required", _("A model is required."))
    elif (model_id := models.get((make_id, model.casefold()))) is None:
        rows.error("model", "unknown_model", _("Unknown model “%(model)s” of %(make)s.")
                   % {"model": model, "make": make})
    elif not variant:
        rows.error("variant", "required", _("A variant name is required."))
    elif not rows.get("year_from"):
        rows.error("year_from", "required", _("The variant's first year is required."))
    elif rows.row_ok:
        candidates = variants.get((model_id, variant.casefold(), year), [])
        names = {"variant": variant, "year": year, "make": make, "model": model}
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            rows.error("variant", "unknown_variant",
                       _("No variant “%(variant)s” from %(year)d of %(make)s %(model)s.") % names)
        else:
            rows.error("variant", "ambiguous_variant",
                       _("%(n)d variants of %(make)s %(model)s are called “%(variant)s” from "
                         "%(year)d; give them distinct names.") % {**names, "n": len(candidates)})
    return None


def _validate_fitment(rows: _Rows) -> list[tuple]:
    brands = _brand_ids()
    index = _vehicle_index()
    positions = {p.value: p.value for p in Position}
    positions.update({p.value.replace("_", " "): p.value for p in Position})
    staged: list[tuple] = []
    seen: dict[tuple, int] = {}
    for row in rows:
        brand_id = _brand_id(rows, brands)
        _number, key = rows.number_key("part_number")
        variant_id = _variant_id(rows, index)
        position = rows.choice("position", choices=positions, default="")
        quantity = rows.integer("quantity", default=1, minimum=1, maximum=MAX_SMALLINT)
        note = rows.text("note", max_length=200, required=False)
        if brand_id is not None and key and variant_id is not None:
            rows.duplicate(seen, (brand_id, key, variant_id, position), "variant")
        if rows.row_ok:
            staged.append((row, brand_id, key, variant_id, position, quantity, note))
    return _attach_part_ids(rows, staged)


_VALIDATORS = {
    ImportKind.PARTS: _validate_parts,
    ImportKind.CROSSREFS: _validate_crossrefs,
    ImportKind.FITMENT: _validate_fitment,
}


# --- Writing (set-based) ----------------------------------------------------------------
# The SQL below is assembled only from the constant column lists of this module.


def _copy_into_temp(cursor, *, table: str, columns: str, rows: list[tuple]) -> None:
    # ON COMMIT DROP cleans up after the service; the DROP covers a second import inside
    # one outer transaction (the tests).
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
    cursor.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    names = ", ".join(c.strip().split()[0] for c in columns.split(","))
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(f"ANALYZE {table}")


# (column, its name in the event's `changed` list): what decides whether a stored part changed.
_PART_FIELDS = [
    ("category_id", "category"), ("number", "number"), ("name_id", "name_id"),
    ("name_en", "name_en"), ("attributes", "attributes"), ("weight_g", "weight_g"),
    ("length_mm", "length_mm"), ("width_mm", "width_mm"), ("height_mm", "height_mm"),
    ("status", "status"),
]
_PART_COLUMNS = [c for c, _name in _PART_FIELDS]


def _joined(prefix: str) -> str:
    return ", ".join(prefix + c for c in _PART_COLUMNS)


@dataclass
class _Changes:
    created: list[int] = field(default_factory=list)
    # Stored parts that changed -> what changed (field names; link ids for crossrefs/fitment).
    updated: dict[int, dict[str, list]] = field(default_factory=dict)

    def part_ids(self) -> list[int]:
        return sorted(set(self.created) | set(self.updated))


def _write_parts(cursor, clean: list[tuple], *, columns: set[str]) -> _Changes:
    _copy_into_temp(
        cursor, table="catalog_import_part",
        columns="row_no int, brand_id bigint, category_id bigint, number text, number_key text, "
                "name_id text, name_en text, attributes jsonb, weight_g int, length_mm int, "
                "width_mm int, height_mm int, status text, sup_brand_id bigint, sup_key text",
        rows=clean,
    )
    cursor.execute("DROP TABLE IF EXISTS pg_temp.catalog_import_created")
    cursor.execute(
        "CREATE TEMP TABLE catalog_import_created (id bigint PRIMARY KEY) ON COMMIT DROP"
    )
    # New parts first, without their successor: it may be another new part of the file.
    cursor.execute(
        f"""
        WITH inserted AS (
            INSERT INTO catalog_part (brand_id, number_key, {_joined("")}, description,
                superseded_by_id, version, search_text, created_at, updated_at)
            SELECT i.brand_id, i.number_key, {_joined("i.")}, '', NULL, 1, '', now(), now()
            FROM catalog_import_part i ORDER BY i.row_no
            ON CONFLICT (brand_id, number_key) DO NOTHING
            RETURNING id
        )
        INSERT INTO catalog_import_created SELECT id FROM inserted
        """  # noqa: S608
    )
    cursor.execute("SELECT id FROM catalog_import_created ORDER BY id")
    changes = _Changes(created=[r[0] for r in cursor.fetchall()])
    # Then every part that differs from its row, new parts with a successor included. An
    # optional column left out of the header leaves the stored value alone. `o` is the row as
    # this statement found it, so RETURNING can say what changed. A stored part's version
    # goes up by one; a new part stays at 1.
    fields = [(c, f"i.{c}", name) for c, name in _PART_FIELDS
              if c != "attributes" or "attributes" in columns]
    if "superseded_by_number" in columns:
        fields.append(("superseded_by_id", "s.id", "superseded_by"))
    changed = ", ".join(f"CASE WHEN o.{c} IS DISTINCT FROM {new} THEN '{name}' END"
                        for c, new, name in fields)
    cursor.execute(
        f"""
        UPDATE catalog_part p
        SET {", ".join(f"{c} = {new}" for c, new, _name in fields)}, updated_at = now(),
            version = p.version + CASE WHEN EXISTS (
                SELECT 1 FROM catalog_import_created c WHERE c.id = p.id) THEN 0 ELSE 1 END
        FROM catalog_import_part i
        JOIN catalog_part o ON o.brand_id = i.brand_id AND o.number_key = i.number_key
        LEFT JOIN catalog_part s ON s.brand_id = i.sup_brand_id AND s.number_key = i.sup_key
        WHERE p.id = o.id
          AND ({", ".join("o." + c for c, _new, _name in fields)})
              IS DISTINCT FROM ({", ".join(new for _c, new, _name in fields)})
        RETURNING p.id, array_remove(ARRAY[{changed}], NULL)
        """  # noqa: S608
    )
    created = set(changes.created)
    for part_id, names in cursor.fetchall():
        if part_id not in created:
            changes.updated[part_id] = {"changed": sorted(names)}
    return changes


_LINK_SQL = {
    ImportKind.CROSSREFS: (
        "row_no int, part_id bigint, brand_name text, number text, number_key text, is_oe boolean",
        """
        INSERT INTO catalog_crossreference AS t (part_id, brand_name, number, number_key, is_oe)
        SELECT part_id, brand_name, number, number_key, is_oe
        FROM catalog_import_link ORDER BY row_no
        ON CONFLICT (part_id, brand_name, number_key) DO UPDATE
            SET number = EXCLUDED.number, is_oe = EXCLUDED.is_oe
            WHERE (t.number, t.is_oe) IS DISTINCT FROM (EXCLUDED.number, EXCLUDED.is_oe)
        RETURNING t.part_id, (t.xmax = 0) AS inserted, t.id
        """,
    ),
    ImportKind.FITMENT: (
        "row_no int, part_id bigint, variant_id bigint, position text, quantity int, note text",
        """
        INSERT INTO catalog_fitment AS t (part_id, variant_id, position, quantity, note)
        SELECT part_id, variant_id, position, quantity, note
        FROM catalog_import_link ORDER BY row_no
        ON CONFLICT (variant_id, part_id, position) DO UPDATE
            SET quantity = EXCLUDED.quantity, note = EXCLUDED.note
            WHERE (t.quantity, t.note) IS DISTINCT FROM (EXCLUDED.quantity, EXCLUDED.note)
        RETURNING t.part_id, (t.xmax = 0) AS inserted, t.variant_id
        """,
    ),
}


def _write_links(cursor, *, kind: str, clean: list[tuple]) -> tuple[int, int, _Changes]:
    columns, upsert = _LINK_SQL[kind]
    _copy_into_temp(cursor, table="catalog_import_link", columns=columns, rows=clean)
    # Rows equal to the stored ones are not returned; (xmax = 0) tells an inserted row from
    # one the upsert updated.
    cursor.execute(upsert)
    results = cursor.fetchall()
    changes = _Changes()
    for part_id, inserted, link_id in results:
        entry = changes.updated.setdefault(part_id, {"added": [], "modified": []})
        entry["added" if inserted else "modified"].append(link_id)
    if changes.updated:
        cursor.execute(
            "UPDATE catalog_part SET version = version + 1, updated_at = now() WHERE id = ANY(%s)",
            [sorted(changes.updated)],
        )
    created = sum(1 for _part_id, inserted, _link_id in results if inserted)
    return created, len(results) - created, changes


def _event(kind: str, *, part: dict, change: dict | None, actor_id: int | None,
           new_numbers: dict[int, str], fitted: dict[int, list[int]]) -> tuple[str, dict]:
    """The topic and payload of one part's event, from the topic's builder in catalog.events:
    the same shape a single change writes."""
    origin = {"source": events.SOURCE_IMPORT, "actor_id": actor_id}
    if change is None:
        return "part.created", events.part_created_payload(part=part, **origin)
    if kind == ImportKind.PARTS:
        changed = change["changed"]
        if "superseded_by" in changed and part["superseded_by_id"] is not None:
            return "part.superseded", events.part_superseded_payload(
                part=part, new_part_id=part["superseded_by_id"], new_number=new_numbers[part["superseded_by_id"]],
                changed=changed, **origin)
        return "part.updated", events.part_updated_payload(part=part, changed=changed, **origin)
    if kind == ImportKind.CROSSREFS:
        return "part.updated", events.part_updated_payload(
            part=part, changed=["cross_references"], cross_reference_ids=change["added"] + change["modified"], **origin)
    # The import only adds or changes fitment, never removes it (that is fitment_set's job).
    return "part.fitment_changed", events.part_fitment_changed_payload(
        part=part, variant_ids=fitted.get(part["id"], []), added_variant_ids=change["added"],
        changed_variant_ids=change["modified"], removed_variant_ids=[], **origin)


def _write_events(*, kind: str, changes: _Changes, actor, progress: Progress | None) -> int:
    ids = changes.part_ids()
    total, done = len(ids), 0
    actor_id = actor.pk if actor is not None else None
    for start in range(0, total, EVENT_BATCH):
        parts = [dict(zip(events.PART_FIELDS, values, strict=True)) for values in
                 Part.objects.filter(id__in=ids[start:start + EVENT_BATCH]).order_by("id")
                 .values_list(*events.PART_FIELDS)]
        # What the payloads name beyond the part's own row, one query per batch.
        new_numbers: dict[int, str] = {}
        fitted: dict[int, list[int]] = {}
        if kind == ImportKind.PARTS:
            successors = {p["superseded_by_id"] for p in parts if p["superseded_by_id"] is not None}
            new_numbers = dict(Part.objects.filter(pk__in=successors).values_list("pk", "number"))
        elif kind == ImportKind.FITMENT:
            for part_id, variant_id in (Fitment.objects.filter(part_id__in=[p["id"] for p in parts])
                                        .values_list("part_id", "variant_id").distinct()):
                fitted.setdefault(part_id, []).append(variant_id)
        batch = []
        for part in parts:
            topic, payload = _event(kind, part=part, change=changes.updated.get(part["id"]), actor_id=actor_id,
                                    new_numbers=new_numbers, fitted=fitted)
            batch.append(NewOutboxEvent(topic=topic, aggregate_type=events.AGGREGATE_TYPE, aggregate_id=part["id"],
                                        payload=payload, version=part["version"]))
            done += 1
            if progress and (done % PROGRESS_EVERY == 0 or done == total):
                progress(stage="events", done=done, total=total)
        outbox_events_write(events=batch)
    return total


# --- The service ------------------------------------------------------------------------


def _facet_variants(*, kind: str, changes: _Changes) -> list[int]:
    """The variants whose facet counts the import changed: those that gained a part
    (fitment), those that carry a part whose category changed (parts)."""
    if kind == ImportKind.FITMENT:
        return sorted({variant_id for change in changes.updated.values() for variant_id in change["added"]})
    if kind == ImportKind.PARTS:
        moved = [part_id for part_id, change in changes.updated.items() if "category" in change["changed"]]
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
