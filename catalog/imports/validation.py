"""Validation: every row is checked, against the catalog and the vehicles, before anything is written."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection
from django.utils.translation import gettext as _

from catalog.imports.kinds import ImportKind
from catalog.imports.reading import _Table
from catalog.imports.report import PROGRESS_EVERY, Progress, RowError
from catalog.models import Brand, Category, PartStatus, Position
from catalog.normalise import PART_NUMBER_MAX_LENGTH, part_number_normalise
from catalog.selectors import supersession_loops
from okto88.bounds import INTEGER_MAX
from vehicles.models import Make, VehicleModel, VehicleVariant

MAX_SMALLINT = 32_767


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
        elif len(number) > PART_NUMBER_MAX_LENGTH:
            self.error(column, "too_long", _("A part number has at most %(max)d characters.")
                       % {"max": PART_NUMBER_MAX_LENGTH})
        return number, key

    def integer(self, column: str, *, default: int, minimum: int = 0,
                maximum: int = INTEGER_MAX) -> int:
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
