"""Catalog reads: categories, part detail, the three searches (vehicle, number, words) and
part_search, the one parts search that chooses among them for the API and the workshop page.

Every selector returns rows with brand and category joined so a list serializes in a
fixed number of queries. The searches are written for the scale of the benchmark
(200,000 parts, 5,000,000 fitment rows): each starts from an index (fitment's unique
(variant, part, position) index, part.number_key, crossref.number_key, the GIN indexes on
the search documents' vectors and on search_text) and never sorts or counts more than it must.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple, Protocol, TypeVar

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, Count, F, FloatField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Greatest

from catalog.models import Brand, Category, CrossReference, Fitment, Part, PartSearchDocument, Position
from catalog.normalise import part_number_normalise, search_words
from okto88 import recording
from vehicles.models import VehicleVariant

logger = logging.getLogger(__name__)

SEARCH_CONFIG = "simple"
# Trigram similarity a number must reach to count as a close match of the typed number.
SIMILAR_NUMBER_THRESHOLD = 0.4
SIMILAR_NUMBER_LIMIT = 10
# The longest supersession chain followed; real chains are two or three links long.
SUPERSESSION_MAX_DEPTH = 20
DETAIL_FITMENT_LIMIT = 200


def _part_rows() -> QuerySet[Part]:
    # The search text is large and only ever read by PostgreSQL itself.
    return Part.objects.select_related("brand", "category").defer("search_text")


class PartRow(NamedTuple):
    """A part as a search page lists it, with its brand and category: read by one statement
    without the ORM (building a page of model instances with their brand and category cost
    more than the statement that reads them). The API's serializers render it as they render
    a Part of _part_rows()."""

    id: int
    number: str
    number_key: str
    name_id: str
    name_en: str
    status: str
    superseded_by_id: int | None
    attributes: object
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    version: int
    brand_id: int
    brand_name: str
    brand_kind: str
    category_id: int
    category_name_id: str
    category_name_en: str

    @property
    def pk(self) -> int:
        return self.id


# PartRow's columns, in its order; `p` is catalog_part, `b` its brand, `c` its category.
_PART_ROW_COLUMNS = (
    "p.id, p.number, p.number_key, p.name_id, p.name_en, p.status, p.superseded_by_id, p.attributes, "
    "p.weight_g, p.length_mm, p.width_mm, p.height_mm, p.version, b.id, b.name, b.kind, c.id, c.name_id, c.name_en"
)
_PART_ROW_JOINS = "JOIN catalog_brand b ON b.id = p.brand_id JOIN catalog_category c ON c.id = p.category_id"
_ATTRIBUTES = PartRow._fields.index("attributes")


def _part_row(values: tuple) -> PartRow:
    # jsonb comes back as text (Django decodes JSONField itself): decoded as JSONField does.
    attributes = values[_ATTRIBUTES]
    if isinstance(attributes, str):
        decoded = {} if attributes == "{}" else json.loads(attributes)  # most parts have none
        values = (*values[:_ATTRIBUTES], decoded, *values[_ATTRIBUTES + 1:])
    return PartRow._make(values)


# --- Best offers: the seam between catalog and suppliers --------------------------------------

class BestOfferSource(Protocol):
    """Reads the best offer of many parts at once: {part_id: offer} for the parts that have
    one. The catalog reads "price", "total_available" and "lead_time_days" (the offer sorts)
    and hands the whole dict to the pages it renders."""

    def __call__(self, *, part_ids: list[int]) -> dict[int, dict]: ...


# Why a seam: a search page shows, and may sort by, each part's best offer, but offers belong
# to suppliers, which sit above the catalog (vehicles → catalog → suppliers): the catalog may
# not import them. So the catalog owns the question (BestOfferSource) and suppliers registers
# its answer when Django starts (SuppliersConfig.ready → suppliers.selectors.part_best_offers).
# With nothing registered (the catalog on its own, or the bench's --no-best-offers) no part
# has an offer. Tests swap a source in with best_offer_source_using.
_best_offer_source: BestOfferSource | None = None


def best_offer_source_set(source: BestOfferSource | None) -> BestOfferSource | None:
    """Register `source` (None: no source) as the reader of best offers; returns the one before."""
    global _best_offer_source
    previous, _best_offer_source = _best_offer_source, source
    return previous


def best_offer_source() -> BestOfferSource | None:
    return _best_offer_source


@contextmanager
def best_offer_source_using(source: BestOfferSource | None) -> Iterator[None]:
    """`source` for the duration of the block, then the one before again."""
    previous = best_offer_source_set(source)
    try:
        yield
    finally:
        best_offer_source_set(previous)


def part_best_offers(*, part_ids: Iterable[int]) -> dict[int, dict]:
    """{part_id: best offer} from the registered BestOfferSource; one call per page, never one
    per part. Without a source no part has an offer."""
    part_ids = list(part_ids)
    source = _best_offer_source
    if source is None or not part_ids:
        return {}
    return source(part_ids=part_ids)


# --- Offer delivery: the seam between the parts pages and orders -------------------------------

class OfferDeliverySource(Protocol):
    """Delivery estimates of offers to the default address of the workshop `actor` acts for:
    {offer_id: estimate} (orders.services.OfferDelivery: quantity, cheapest, fastest,
    delivered_price, reason). Never another workshop's address; an actor who is no workshop
    gets estimates without figures."""

    def __call__(self, *, actor: Any, offer_ids: Iterable[int]) -> Mapping[int, Any]: ...


# Why a seam: the parts list (workshops) shows each part's best offer with its delivery cost and
# arrival day, which need the courier's quotes and the checkout's choice of warehouse (logistics,
# orders: above workshops). orders registers its answer when Django starts (OrdersConfig.ready →
# orders.services.offer_delivery_estimates, the one function every surface calls). Nothing is
# cached here: the estimates depend on who asks. Without a source no offer has an estimate.
# Tests swap a source in with offer_delivery_source_using.
_offer_delivery_source: OfferDeliverySource | None = None


def offer_delivery_source_set(source: OfferDeliverySource | None) -> OfferDeliverySource | None:
    """Register `source` (None: no source) as the reader of offer deliveries; returns the one before."""
    global _offer_delivery_source
    previous, _offer_delivery_source = _offer_delivery_source, source
    return previous


def offer_delivery_source() -> OfferDeliverySource | None:
    return _offer_delivery_source


@contextmanager
def offer_delivery_source_using(source: OfferDeliverySource | None) -> Iterator[None]:
    """`source` for the duration of the block, then the one before again."""
    previous = offer_delivery_source_set(source)
    try:
        yield
    finally:
        offer_delivery_source_set(previous)


def offer_deliveries(*, actor: Any, offer_ids: Iterable[int]) -> Mapping[int, Any]:
    """{offer_id: delivery estimate} from the registered OfferDeliverySource; one call per page."""
    offer_ids = list(offer_ids)
    source = _offer_delivery_source
    if source is None or not offer_ids:
        return {}
    return source(actor=actor, offer_ids=offer_ids)


# --- Catalog version (for caches of search results) ----------------------------------------

# A counter in Redis that every catalog write moves on after its commit
# (services.catalog_cache_version_bump). Caches of catalog reads put it in their keys, so a
# write makes every older entry unreachable at once, on every web process, without a scan.
CATALOG_VERSION_KEY = "catalog:version"
# The same for the parts' best offers (supplier data): whoever keeps the best offers that the
# registered BestOfferSource reads moves it on (services.best_offer_cache_version_bump).
BEST_OFFER_VERSION_KEY = "catalog:best-offer:version"


def catalog_cache_version() -> int | None:
    """The current catalog version, or None when Redis cannot be reached (then cache nothing)."""
    return cache_version(CATALOG_VERSION_KEY)


def cache_version(key: str) -> int | None:
    """The counter at `key` (CATALOG_VERSION_KEY or BEST_OFFER_VERSION_KEY), or None when
    Redis cannot be reached.

    A missing counter (first use, or the cache was flushed) starts from the clock, never
    from 0, so it cannot fall back to a value that older entries still carry."""
    try:
        version = cache.get(key)
        if version is None:
            cache.add(key, time.time_ns(), timeout=None)
            version = cache.get(key)
        return int(version) if version is not None else None
    except Exception:  # Redis down must not take the search down: it only loses its cache
        logger.warning("cache version %s unavailable; search cache bypassed", key, exc_info=True)
        return None


# --- Categories -------------------------------------------------------------------------

def category_list() -> QuerySet[Category]:
    return Category.objects.all()


def category_descendant_ids(*, category_id: int) -> list[int]:
    """`category_id` and every category below it; [] if there is no such category."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE subtree(id) AS (
                SELECT id FROM catalog_category WHERE id = %s
                UNION
                SELECT c.id FROM catalog_category c JOIN subtree s ON c.parent_id = s.id
            )
            SELECT id FROM subtree
            """,
            [category_id],
        )
        return [row[0] for row in cursor.fetchall()]


# --- Part list and detail -----------------------------------------------------------------

def _filtered(parts: QuerySet[Part], *, category_ids: list[int] | None, brand_id: int | None) -> QuerySet[Part]:
    if category_ids is not None:
        parts = parts.filter(category_id__in=category_ids)
    if brand_id is not None:
        parts = parts.filter(brand_id=brand_id)
    return parts


def _category_ids(category_id: int | None) -> list[int] | None:
    return None if category_id is None else category_descendant_ids(category_id=category_id)


@dataclass(frozen=True)
class SearchReferences:
    """What a search's ids name: whether its variant and brand exist (True when not given) and
    its category's subtree (category_descendant_ids: [] when there is no such category, None
    when no category was given)."""

    variant_found: bool
    brand_found: bool
    category_ids: list[int] | None
    # Asked for: the variant's facet counts (part_facets_for_vehicle) as the API renders them (JSON).
    vehicle_facets_json: str | None = None
    # Asked for: the first rows of the variant's parts in id order (VehicleParts.with_first_rows).
    vehicle_rows: list[PartRow] | None = None


_SUBTREE_CTE = """RECURSIVE subtree(id) AS (
    SELECT id FROM catalog_category WHERE id = %(category)s
    UNION
    SELECT c.id FROM catalog_category c JOIN subtree s ON c.parent_id = s.id
)"""
_SEARCH_REFERENCES_SQL = "WITH " + _SUBTREE_CTE + """
SELECT %(variant)s::bigint IS NULL OR EXISTS (SELECT FROM {variants} WHERE id = %(variant)s),
       %(brand)s::bigint IS NULL OR EXISTS (SELECT FROM catalog_brand WHERE id = %(brand)s),
       ARRAY(SELECT id FROM subtree)
"""  # noqa: S608 - fixed fragments only; every value is a parameter


def search_references(*, variant_id: int | None, category_id: int | None, brand_id: int | None,
                      vehicle_facets: bool = False, vehicle_rows: int | None = None) -> SearchReferences:
    """The ids a search names, checked in one statement (a round trip each cost more than the
    checks). With `vehicle_facets` (a search by a vehicle without words or position) the
    variant's facet counts under the category and brand filters come in the same round trip,
    rendered as the API renders them (_FACETS_JSON): a second statement reads the subtree
    itself (ids that name nothing count nothing). With `vehicle_rows` too, a third statement
    reads the first `vehicle_rows` of the variant's parts in id order as PartRows (what
    part_rows_by_vehicle(limit=vehicle_rows) reads; the first page of a cursor pager)."""
    if variant_id is None and category_id is None and brand_id is None:
        return SearchReferences(variant_found=True, brand_found=True, category_ids=None)
    sql = _SEARCH_REFERENCES_SQL.replace("{variants}", VehicleVariant._meta.db_table)
    params = {"variant": variant_id, "category": category_id, "brand": brand_id}
    facets = rows = None
    with_facets = vehicle_facets and variant_id is not None
    if with_facets:
        sql += ";\n" + _variant_facets_sql(subtree_of=None if category_id is None else "category", as_json=True)
        params["categories"] = None
    with_rows = with_facets and vehicle_rows is not None
    if with_rows:
        rows_sql, rows_params = _part_rows_by_vehicle_sql(
            variant_id=variant_id, category_ids=None if category_id is None else _IN_SUBTREE, brand_id=brand_id,
            limit=vehicle_rows)
        rows_sql, rows_params = _named(rows_sql, rows_params, prefix="rows_")
        if category_id is not None:
            rows_sql = "WITH " + _SUBTREE_CTE + "\n" + rows_sql
        sql += ";\n" + rows_sql
        params.update(rows_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        variant_found, brand_found, category_ids = cursor.fetchone()
        if with_facets:
            cursor.nextset()
            facets = cursor.fetchone()[0]
        if with_rows:
            cursor.nextset()
            rows = [_part_row(values) for values in cursor.fetchall()]
    return SearchReferences(variant_found=variant_found, brand_found=brand_found,
                            category_ids=None if category_id is None else list(category_ids),
                            vehicle_facets_json=facets, vehicle_rows=rows)


def _named(sql: str, params: list, *, prefix: str) -> tuple[str, dict]:
    """`sql` with its positional placeholders (%s) named <prefix>0, <prefix>1, …, and its params
    by those names: to send it in one round trip with statements that use named ones."""
    pieces = sql.split("%s")
    if len(pieces) != len(params) + 1:
        raise ValueError("one parameter per placeholder")
    named = {f"{prefix}{n}": value for n, value in enumerate(params)}
    return "".join(piece + (f"%({prefix}{n})s" if n < len(params) else "") for n, piece in enumerate(pieces)), named


def part_detail(*, part_id: int) -> Part | None:
    """One part with what its page shows: fitment (bounded), cross references, supersession,
    and `interchangeable` (part_interchangeable: what the number search lists with it) with
    `interchangeable_parts`, its parts."""
    fitments = (
        Fitment.objects.select_related("variant__model__make")
        .order_by("variant__model__make__name", "variant__model__name", "variant__year_from", "variant_id", "position")
    )
    part = (
        _part_rows()
        .select_related("superseded_by__brand")
        .prefetch_related(
            Prefetch("fitments", queryset=fitments[:DETAIL_FITMENT_LIMIT], to_attr="fitment_rows"),
            Prefetch("cross_references", queryset=CrossReference.objects.order_by("-is_oe", "brand_name", "number")),
            Prefetch("supersedes", queryset=Part.objects.select_related("brand").order_by("pk")),
        )
        .filter(pk=part_id)
        .first()
    )
    if part is not None:
        part.interchangeable = part_interchangeable(part=part)
        part.interchangeable_parts = [match.part for match in part.interchangeable.matches]
    return part


def part_fitment_count(*, part: Part) -> int:
    return Fitment.objects.filter(part=part).count()


# --- 1. By vehicle ----------------------------------------------------------------------

class FacetValue(NamedTuple):  # a tuple: a busy variant has a few hundred per search
    id: int
    name: str
    count: int
    name_en: str = ""
    parent_id: int | None = None


@dataclass(frozen=True)
class Facets:
    categories: list[FacetValue] = field(default_factory=list)
    brands: list[FacetValue] = field(default_factory=list)


@dataclass(frozen=True)
class VehicleSearch:
    variant_id: int
    parts: QuerySet[Part]
    category_ids: list[int] | None  # the category filter's subtree, for part_page_by_vehicle
    brand_id: int | None

    @cached_property
    def facets(self) -> Facets:
        """Counted when first asked for: a caller narrowing further counts its own."""
        return part_facets_for_vehicle(variant_id=self.variant_id, category_ids=self.category_ids,
                                       brand_id=self.brand_id)


def _fitted_part_ids(
    variant_id: int, *, category_ids: list[int] | None = None, brand_id: int | None = None
) -> QuerySet[Fitment]:
    # A semi-join (IN), not a join: a part fitted at two positions is still one result.
    # The fitment_unique index (variant_id, part_id, position) answers it index-only, and
    # fitment_variant_category_part with a category filter (the part's category is on fitment).
    # The brand filter goes inside the subquery, joined to part there, so PostgreSQL can narrow
    # the ids index-only before it reads any part row; filtered outside, a busy variant with a
    # rare category walked the part primary key and heap (~100 ms).
    fitted = Fitment.objects.filter(variant_id=variant_id)
    if category_ids is not None:
        fitted = fitted.filter(part_category_id__in=category_ids)
    if brand_id is not None:
        fitted = fitted.filter(part__brand_id=brand_id)
    return fitted.values("part_id")


def part_search_by_vehicle(
    *, variant_id: int, category_id: int | None = None, brand_id: int | None = None
) -> VehicleSearch:
    """The parts that fit the variant (optionally in a category subtree and of a brand),
    with facet counts per category and per brand."""
    category_ids = _category_ids(category_id)
    parts = _part_rows().filter(
        pk__in=_fitted_part_ids(variant_id, category_ids=category_ids, brand_id=brand_id))
    return VehicleSearch(variant_id=variant_id, parts=parts, category_ids=category_ids, brand_id=brand_id)


# As category_ids: the subtree that the statement's own `subtree` CTE reads (search_references).
_IN_SUBTREE = "subtree"


def _vehicle_parts_sql(
    *, variant_id: int, category_ids: list[int] | str | None, brand_id: int | None, position: str = "",
    after_id: int | None = None, before_id: int | None = None,
) -> tuple[str, list]:
    """FROM … WHERE … of the variant's fitted part ids (f.part_id) within the filters, with params."""
    where, params = ["f.variant_id = %s"], [variant_id]
    if position:
        where.append("f.position = %s")
        params.append(position)
    # The category is on fitment (Fitment.part_category_id): a category filter reads one range
    # of fitment_variant_category_part per category of the subtree, index-only; only a brand
    # filter needs the part (part_facet).
    joined = brand_id is not None
    if category_ids == _IN_SUBTREE:
        where.append("f.part_category_id = ANY(ARRAY(SELECT id FROM subtree))")
    elif category_ids is not None:
        where.append("f.part_category_id = ANY(%s::bigint[])")
        params.append(list(category_ids))
    if brand_id is not None:
        where.append("p.brand_id = %s")
        params.append(brand_id)
    # A cursor bound is written on both sides of the join: PostgreSQL carries equalities
    # across a join, not ranges, and the merge join should start its part_facet scan there.
    for bound, operator in ((after_id, ">"), (before_id, "<")):
        if bound is not None:
            where.append(f"f.part_id {operator} %s" + (f" AND p.id {operator} %s" if joined else ""))
            params += [bound, bound] if joined else [bound]
    join = " JOIN catalog_part p ON p.id = f.part_id" if joined else ""
    # Fixed fragments only; every value is a parameter.
    return f"FROM catalog_fitment f{join} WHERE {' AND '.join(where)}", params


def _vehicle_part_ids_sql(*, descending: bool = False, offset: int = 0, limit: int, **criteria) -> tuple[str, list]:
    from_where, params = _vehicle_parts_sql(**criteria)
    sql = f"SELECT DISTINCT f.part_id {from_where} ORDER BY 1 {'DESC' if descending else 'ASC'} LIMIT %s OFFSET %s"
    return sql, [*params, limit, offset]


def _vehicle_part_ids(**criteria) -> list[int]:
    sql, params = _vehicle_part_ids_sql(**criteria)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _part_rows_by_vehicle_sql(*, descending: bool = False, **criteria) -> tuple[str, list]:
    ids_sql, params = _vehicle_part_ids_sql(descending=descending, **criteria)  # fixed fragments, values as parameters
    sql = (f"SELECT {_PART_ROW_COLUMNS} FROM ({ids_sql}) ids JOIN catalog_part p ON p.id = ids.part_id "  # noqa: S608
           f"{_PART_ROW_JOINS} ORDER BY p.id {'DESC' if descending else 'ASC'}")
    return sql, params


def part_rows_by_vehicle(*, descending: bool = False, **criteria) -> list[PartRow]:
    """part_page_by_vehicle's page as PartRows, in one statement: the ids' query as it is
    there (its LIMIT next to the fitment index, planned on its own) joined to the rows."""
    sql, params = _part_rows_by_vehicle_sql(descending=descending, **criteria)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_part_row(values) for values in cursor.fetchall()]


def part_page_by_vehicle(
    *, variant_id: int, category_ids: list[int] | None = None, brand_id: int | None = None, position: str = "",
    after_id: int | None = None, before_id: int | None = None, descending: bool = False,
    offset: int = 0, limit: int,
) -> list[Part]:
    """One page of the variant's parts (in a category subtree, of a brand, fitted at a
    position) by id, after or before a cursor id, as part_search_by_vehicle's `parts` would
    give it; two queries.

    The ids come first, with ORDER BY … LIMIT inside the query on fitment: without a category
    PostgreSQL walks the variant's fitment_unique entries in part order (checking each part's
    brand on part_facet if there is a brand filter) and stops once the page is full; with one
    it reads the variant's range of fitment_variant_category_part for each category of the
    subtree (the part's category is on fitment) and sorts those ids. With the LIMIT outside a
    `pk IN (…)`, as in `parts`, it must match the whole variant against the whole category
    subtree first (a hash of ~19,000 ids for a top-level category, ~15 ms) before it can sort
    and cut."""
    ids = _vehicle_part_ids(variant_id=variant_id, category_ids=category_ids, brand_id=brand_id, position=position,
                            after_id=after_id, before_id=before_id, descending=descending, offset=offset, limit=limit)
    parts = _part_rows().in_bulk(ids)
    return [parts[pk] for pk in ids if pk in parts]


class VehicleParts:
    """The parts of a vehicle listing in id order (part_page_by_vehicle's), as the pagers use a
    queryset: sliced, each slice is one part_page_by_vehicle call, which puts the LIMIT next to
    the fitment index, where PostgreSQL can stop at the end of the page (see its doc). The
    API's cursor pagination also orders it by ±id and filters it on id; a Paginator counts it."""

    def __init__(self, *, variant_id: int, category_ids: list[int] | None, brand_id: int | None,
                 position: str = "", descending: bool = False, after_id: int | None = None,
                 before_id: int | None = None, rows: bool = False,
                 first_rows: tuple[int, list[PartRow]] | None = None):
        self.criteria = {"variant_id": variant_id, "category_ids": category_ids, "brand_id": brand_id,
                         "position": position}
        self.descending, self.after_id, self.before_id, self.rows = descending, after_id, before_id, rows
        self.first_rows = first_rows

    def _copy(self, **changes) -> VehicleParts:
        state = {"descending": self.descending, "after_id": self.after_id, "before_id": self.before_id,
                 "rows": self.rows, "first_rows": self.first_rows, **changes}
        return VehicleParts(**self.criteria, **state)

    def as_rows(self) -> VehicleParts:
        """The same listing, each slice a list of PartRow (part_rows_by_vehicle), not of Part."""
        return self._copy(rows=True)

    def with_first_rows(self, rows: list[PartRow], *, limit: int) -> VehicleParts:
        """The same listing as rows, its first `limit` read already (`rows`: search_references'
        vehicle_rows, read in the same round trip as the references): that slice, in id order
        without a cursor bound, is served from them."""
        return self._copy(rows=True, first_rows=(limit, rows))

    def order_by(self, *fields: str) -> VehicleParts:
        if fields not in (("id",), ("-id",)):
            raise ValueError(f"vehicle parts are ordered by id, not {fields}")
        return self._copy(descending=fields == ("-id",))

    def filter(self, **lookups: int) -> VehicleParts:
        if set(lookups) - {"id__gt", "id__lt"}:
            raise ValueError(f"vehicle parts are filtered on id only, not {sorted(lookups)}")
        return self._copy(after_id=lookups.get("id__gt", self.after_id),
                          before_id=lookups.get("id__lt", self.before_id))

    def count(self) -> int:
        from_where, params = _vehicle_parts_sql(**self.criteria, after_id=self.after_id, before_id=self.before_id)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(DISTINCT f.part_id) {from_where}", params)
            return cursor.fetchone()[0]

    def ids(self, *, limit: int) -> list[int]:
        return _vehicle_part_ids(**self.criteria, after_id=self.after_id, before_id=self.before_id,
                                 descending=self.descending, limit=limit)

    def __getitem__(self, key: slice) -> list[Part] | list[PartRow]:
        start = key.start or 0
        if (self.rows and self.first_rows is not None and start == 0 and key.stop == self.first_rows[0]
                and not self.descending and self.after_id is None and self.before_id is None):
            return list(self.first_rows[1])
        page = part_rows_by_vehicle if self.rows else part_page_by_vehicle
        return page(**self.criteria, after_id=self.after_id, before_id=self.before_id,
                    descending=self.descending, offset=start, limit=key.stop - start)


# With words: both facets in one pass over the matching parts: GROUPING SETS gives one row per
# category and one per brand (a few hundred rows, not one per category × brand pair), each
# with the two counts a facet may need. The inner query reads only id, category_id and
# brand_id of catalog_part, which the covering index part_facet (id) INCLUDE (category_id,
# brand_id) answers index-only; names are joined to the few grouped rows afterwards.
_FACETS_SQL = """
WITH grouped AS (
    SELECT p.category_id, p.brand_id, GROUPING(p.category_id) AS by_brand,
           count(*) FILTER (WHERE %s::bigint IS NULL OR p.brand_id = %s) AS n_category,
           count(*) FILTER (WHERE %s::bigint[] IS NULL OR p.category_id = ANY(%s::bigint[])) AS n_brand
    FROM catalog_part p
    WHERE p.id IN ({part_ids})
    GROUP BY GROUPING SETS ((p.category_id), (p.brand_id))
)
SELECT g.by_brand, coalesce(g.category_id, g.brand_id), c.name_id, c.name_en, c.parent_id, b.name,
       CASE WHEN g.by_brand = 1 THEN g.n_brand ELSE g.n_category END AS n
FROM grouped g
LEFT JOIN catalog_category c ON g.by_brand = 0 AND c.id = g.category_id
LEFT JOIN catalog_brand b ON g.by_brand = 1 AND b.id = g.brand_id
ORDER BY 1, 7 DESC, coalesce(c.name_id, b.name) COLLATE "C", 2
"""


# Without words the counts come from the variant's rows of catalog_variantfacet (one per
# category × brand among its parts, kept by catalog.services), read index-only off
# variantfacet_unique: a few hundred rows summed instead of every fitted part matched. Each
# count reads the rows it needs on its own: the brand counts only the filtered categories'
# (an index condition; a shared CTE read every row of a busy variant twice, 4,901 of them).
# Both facet statements return the values in their final order (most parts first, then by
# name in code-point order, as Python compares strings: COLLATE "C" compares UTF-8 bytes).
_VARIANT_FACETS_SQL = """
WITH {subtree}by_category AS (
    SELECT category_id, sum(parts) AS n FROM catalog_variantfacet
    WHERE variant_id = %(variant)s AND (%(brand)s::bigint IS NULL OR brand_id = %(brand)s) GROUP BY category_id
),
by_brand AS (
    SELECT brand_id, sum(parts) AS n FROM catalog_variantfacet
    WHERE variant_id = %(variant)s AND {categories}
    GROUP BY brand_id
),
f (by_brand, id, name_id, name_en, parent_id, brand_name, n) AS (
    SELECT 0, c.id, c.name_id, c.name_en, c.parent_id, NULL, g.n FROM by_category g
    JOIN catalog_category c ON c.id = g.category_id
    UNION ALL
    SELECT 1, b.id, NULL, NULL, NULL, b.name, g.n FROM by_brand g JOIN catalog_brand b ON b.id = g.brand_id
)
{select}
"""
_FACET_ROWS = """SELECT * FROM f ORDER BY by_brand, n DESC, coalesce(name_id, brand_name) COLLATE "C", id"""
# The same values as the API renders them (catalog.api._facets_data through DRF's JSONRenderer:
# compact, not ASCII-escaped; to_json escapes a string as Python's json does), built here: a
# busy variant has ~270 of them, and reading them as rows, making dicts of them and encoding
# those cost a tenth of a cold page. tests/catalog/test_api_parts.py holds the bytes equal.
_FACETS_JSON = """SELECT '{"categories":[' || coalesce(string_agg(
    '{"id":' || id || ',"name":' || coalesce(to_json(name_id)::text, 'null')
    || ',"name_en":' || coalesce(to_json(name_en)::text, 'null') || ',"parent_id":' || coalesce(parent_id::text, 'null')
    || ',"count":' || n || '}', ',' ORDER BY n DESC, name_id COLLATE "C", id) FILTER (WHERE by_brand = 0), '')
    || '],"brands":[' || coalesce(string_agg(
    '{"id":' || id || ',"name":' || coalesce(to_json(brand_name)::text, 'null') || ',"count":' || n || '}',
    ',' ORDER BY n DESC, brand_name COLLATE "C", id) FILTER (WHERE by_brand = 1), '') || ']}'
FROM f WHERE n <> 0"""


def _variant_facets_sql(*, subtree_of: str | None = None, as_json: bool = False) -> str:
    """_VARIANT_FACETS_SQL with the category filter as %(categories)s, or as the subtree of the
    category %(<subtree_of>)s read in the statement (search_references' round trip); its rows,
    or `as_json` one value: the facets as the API renders them."""
    sql = _VARIANT_FACETS_SQL.replace("{select}", _FACETS_JSON if as_json else _FACET_ROWS)
    if subtree_of is None:
        return sql.replace("{subtree}", "").replace(
            "{categories}", "(%(categories)s::bigint[] IS NULL OR category_id = ANY(%(categories)s::bigint[]))")
    # An array, not IN (…): the brand counts then read only the subtree's rows, as an index
    # condition (a semi-join read all of a busy variant's rows: 4,901 instead of 500).
    return sql.replace("{subtree}", _SUBTREE_CTE.replace("%(category)s", f"%({subtree_of})s") + ",\n").replace(
        "{categories}", "category_id = ANY(ARRAY(SELECT id FROM subtree))")


def _facet_values(rows: Iterable[tuple]) -> Facets:
    categories: list[FacetValue] = []
    brands: list[FacetValue] = []
    for by_brand, pk, cat_name, cat_name_en, parent_id, brand_name, n in rows:
        if not n:
            continue
        if by_brand:
            brands.append(FacetValue(pk, brand_name, n))
        else:
            categories.append(FacetValue(pk, cat_name, n, cat_name_en, parent_id))
    return Facets(categories=categories, brands=brands)  # in the statement's order (see above)


def part_facets_for_vehicle(
    *, variant_id: int, category_ids: list[int] | None = None, brand_id: int | None = None,
    q: str | None = None, position: str = "", words: QuerySet[Part] | None = None,
) -> Facets:
    """Counts of the variant's parts per category and per brand, in one query.

    Faceted the usual way: the category counts honour the brand filter but not the
    category filter, and the brand counts the other way round, so a workshop sees how
    many parts each other choice would give. Words (`q`) and a fitment `position` narrow both.
    `words` is part_search_by_words(q=q, variant_id=variant_id) when the caller has it already
    (its step is chosen by queries when it is built: not run twice).
    """
    wanted = list(category_ids) if category_ids is not None else None
    if q or position:
        if q:
            if words is None:
                words = part_search_by_words(q=q, variant_id=variant_id)
            part_ids = words.order_by().values("pk")
            if position:
                part_ids = part_ids.filter(pk__in=part_ids_at_position(variant_id=variant_id, position=position))
        else:
            part_ids = part_ids_at_position(variant_id=variant_id, position=position)
        try:
            subquery, params = part_ids.query.sql_with_params()
        except EmptyResultSet:  # e.g. words that normalise to nothing
            return Facets()
        sql, params = _FACETS_SQL.replace("{part_ids}", subquery), [brand_id, brand_id, wanted, wanted, *params]
    else:
        sql, params = _variant_facets_sql(), {"variant": variant_id, "brand": brand_id, "categories": wanted}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _facet_values(cursor.fetchall())


# --- 2. By part number ------------------------------------------------------------------

class MatchKind(StrEnum):
    EXACT = "exact"                    # the number itself (any brand)
    INTERCHANGEABLE = "interchangeable"  # shares the number or a cross reference with a match
    SUPERSEDES = "supersedes"          # a newer part that replaces `via` (chain followed forward)
    SUPERSEDED_BY = "superseded_by"    # an older part that `via` replaced
    SIMILAR = "similar"                # a close number (pg_trgm), only when nothing matched


KIND_ORDER = {kind: index for index, kind in enumerate(
    [MatchKind.EXACT, MatchKind.SUPERSEDES, MatchKind.INTERCHANGEABLE, MatchKind.SUPERSEDED_BY, MatchKind.SIMILAR]
)}


@dataclass(frozen=True)
class PartMatch:
    part: Part | PartRow  # a PartRow when asked for rows (part_lookup_by_number(rows=True))
    kind: MatchKind
    via_id: int | None = None  # the matched part this one relates to ("result <kind> via")
    similarity: float | None = None
    fits_vehicle: bool | None = None  # with a vehicle chosen (part_lookup_by_number): does the part fit it


@dataclass(frozen=True)
class NumberLookup:
    number: str
    number_key: str
    matches: list[PartMatch]
    truncated: bool = False


# Every match in one statement (a round trip is the dearest part of a lookup on a busy
# machine): the exact matches (the typed key), both directions of their supersession chains,
# then the interchangeable parts of the seeds (the exact matches and their replacements):
# parts whose own number or one of whose cross references equals the typed key, a seed's
# number or one of a seed's cross-reference keys. So an aftermarket number leads to the OE
# number and from there to every other brand that interchanges with it, and an old OE
# number leads through its replacement to the parts that fit today. Only when none of that
# matched, close numbers: `%` on the trigram GIN index, at our threshold rather than
# pg_trgm's default 0.3, set for this transaction by the initplan (a one-time filter runs
# before the scan): at 0.3 a digit-heavy number sends ~50,000 candidates to the recheck
# (150-550 ms), at 0.4 ~7,000 (~30 ms), and the rows are the same. A part's first
# row by (depth, order) says what it is: exact, the chains nearest first (forward before
# backward), interchangeable. Every other lookup is on a btree index (part.number_key,
# crossref.number_key, part.superseded_by, the primary keys). {columns} are the part's
# columns with its brand and category (_lookup_columns), or a PartRow's (_PART_ROW_COLUMNS).
_NUMBER_LOOKUP_SQL = """
WITH RECURSIVE exact AS (
    SELECT id FROM catalog_part WHERE number_key = %(key)s
),
forward(id, via, depth) AS (
    SELECT p.superseded_by_id, p.id, 1 FROM catalog_part p
    WHERE p.id IN (SELECT id FROM exact) AND p.superseded_by_id IS NOT NULL
    UNION
    SELECT p.superseded_by_id, f.via, f.depth + 1 FROM forward f JOIN catalog_part p ON p.id = f.id
    WHERE p.superseded_by_id IS NOT NULL AND f.depth < %(depth)s
),
backward(id, via, depth) AS (
    SELECT p.id, p.superseded_by_id, 1 FROM catalog_part p WHERE p.superseded_by_id IN (SELECT id FROM exact)
    UNION
    SELECT p.id, b.via, b.depth + 1 FROM backward b JOIN catalog_part p ON p.superseded_by_id = b.id
    WHERE b.depth < %(depth)s
),
seeds AS (
    SELECT id FROM exact UNION SELECT id FROM forward
),
keys AS (
    SELECT %(key)s::varchar AS key
    UNION
    SELECT p.number_key FROM catalog_part p WHERE p.id IN (SELECT id FROM seeds)
    UNION
    SELECT cr.number_key FROM catalog_crossreference cr WHERE cr.part_id IN (SELECT id FROM seeds)
),
matched(id, kind, via, depth, ord, score) AS (
    SELECT id, 'exact', NULL::bigint, 0, 0, NULL::float8 FROM exact
    UNION ALL
    SELECT id, 'supersedes', via, depth, 1, NULL FROM forward
    UNION ALL
    SELECT id, 'superseded_by', via, depth, 2, NULL FROM backward
    UNION ALL
    SELECT id, 'interchangeable', NULL, %(depth)s + 1, 3, NULL FROM (
        SELECT p.id FROM catalog_part p WHERE p.number_key IN (SELECT key FROM keys)
        UNION
        SELECT cr.part_id FROM catalog_crossreference cr WHERE cr.number_key IN (SELECT key FROM keys)
    ) AS interchangeable
),
close AS (
    SELECT id, similarity(number_key, %(key)s) AS score FROM catalog_part
    WHERE NOT EXISTS (SELECT 1 FROM matched)
      AND (SELECT set_config('pg_trgm.similarity_threshold', %(threshold)s::text, true)) IS NOT NULL
      AND number_key %% %(key)s AND similarity(number_key, %(key)s) >= %(threshold)s
    ORDER BY score DESC, number_key, id LIMIT %(similar_limit)s
),
found AS (
    SELECT DISTINCT ON (id) id, kind, via, score FROM (
        SELECT * FROM matched
        UNION ALL
        SELECT id, 'similar', NULL, 0, 4, score FROM close
    ) AS m
    ORDER BY id, depth, ord
)
SELECT {columns}, f.kind AS match_kind, f.via AS match_via, f.score AS match_score
FROM found f
JOIN catalog_part p ON p.id = f.id
JOIN catalog_brand b ON b.id = p.brand_id
JOIN catalog_category c ON c.id = p.category_id
"""

# The large search text stays deferred, as in _part_rows().
_LOOKUP_DEFERRED = {"search_text"}


def _lookup_columns() -> str:
    part = [f'p."{f.column}"' for f in Part._meta.concrete_fields if f.attname not in _LOOKUP_DEFERRED]
    related = [f'{alias}."{f.column}" AS "{alias}__{f.attname}"'
               for alias, model in (("b", Brand), ("c", Category)) for f in model._meta.concrete_fields]
    return ", ".join(part + related)


def _with_related(part: Part) -> Part:
    """Attach the brand and category selected next to `part` (what select_related does)."""
    for name, alias, model in (("brand", "b", Brand), ("category", "c", Category)):
        names = [f.attname for f in model._meta.concrete_fields]
        setattr(part, name, model.from_db(part._state.db, names, [getattr(part, f"{alias}__{n}") for n in names]))
    return part


def part_lookup_by_number(*, number: str, limit: int = 50, variant_id: int | None = None,
                          rows: bool = False) -> NumberLookup:
    """Exact on the normalised key, then supersession both ways, then interchangeable
    parts (cross references), then — only when none of that matched — close numbers.

    One query: the matches with their parts, brands and categories (_NUMBER_LOOKUP_SQL). With a
    `variant_id`, each match also says whether its part fits that vehicle (_fits_marked).
    With `rows` each match's part is a PartRow read without the ORM (the API renders those;
    a lookup's ~40 model instances with their brand and category cost more than its statement).
    """
    key = part_number_normalise(number)
    if not key:
        return NumberLookup(number=number, number_key=key, matches=[])
    params = {"key": key, "depth": SUPERSESSION_MAX_DEPTH, "threshold": SIMILAR_NUMBER_THRESHOLD,
              "similar_limit": min(limit, SIMILAR_NUMBER_LIMIT)}
    if rows:
        with connection.cursor() as cursor:
            cursor.execute(_NUMBER_LOOKUP_SQL.replace("{columns}", _PART_ROW_COLUMNS), params)
            found = cursor.fetchall()
        width = len(PartRow._fields)
        matches = [PartMatch(part=_part_row(row[:width]), kind=MatchKind(row[width]), via_id=row[width + 1],
                             similarity=None if row[width + 2] is None else float(row[width + 2]))
                   for row in found]
    else:
        matches = [
            PartMatch(part=_with_related(part), kind=MatchKind(part.match_kind), via_id=part.match_via,
                      similarity=None if part.match_score is None else float(part.match_score))
            for part in Part.objects.raw(_NUMBER_LOOKUP_SQL.replace("{columns}", _lookup_columns()), params)
        ]
    matches.sort(key=_match_order)
    truncated, matches = len(matches) > limit, matches[:limit]
    if variant_id is not None:
        matches = _fits_marked(matches=matches, variant_id=variant_id)
    return NumberLookup(number=number, number_key=key, matches=matches, truncated=truncated)


def _match_order(match: PartMatch) -> tuple:
    """By kind, closest first, then by brand name, number and id (a Part's and a PartRow's alike)."""
    part = match.part
    brand_name = part.brand_name if isinstance(part, PartRow) else part.brand.name
    return KIND_ORDER[match.kind], -(match.similarity or 0), brand_name, part.number_key, part.pk


def _fits_marked(*, matches: list[PartMatch], variant_id: int) -> list[PartMatch]:
    """`matches` in their order, each saying whether its part fits the variant (one query). A
    number names parts whatever vehicle is chosen, so a workshop that typed one with a vehicle
    chosen sees which of them fit it rather than losing those that do not."""
    fitting = set(Fitment.objects.filter(variant_id=variant_id, part_id__in=[m.part.pk for m in matches])
                  .values_list("part_id", flat=True).distinct()) if matches else set()
    return [replace(match, fits_vehicle=match.part.pk in fitting) for match in matches]


# The most interchangeable parts a part page lists (a popular OE number has a few dozen).
INTERCHANGEABLE_LIMIT = 50
_INTERCHANGE_KINDS = frozenset({MatchKind.EXACT, MatchKind.INTERCHANGEABLE})
# What may stand in for a part in a buyer's cart: what interchanges with it, and the newer parts
# that replace it (never the older ones it replaced).
_SUBSTITUTE_KINDS = _INTERCHANGE_KINDS | {MatchKind.SUPERSEDES}
_INTERCHANGE_LOOKUP_CEILING = 1000


def _related_parts(*, part: Part, kinds: frozenset[MatchKind], limit: int) -> NumberLookup:
    # The lookup's statement reads every match whatever its limit (it only cuts the list), so
    # it is asked for all of them up to a ceiling, and the cut is made after the filter.
    lookup = part_lookup_by_number(number=part.number_key, limit=_INTERCHANGE_LOOKUP_CEILING)
    matches = [m for m in lookup.matches if m.part.pk != part.pk and m.kind in kinds]
    return NumberLookup(number=part.number, number_key=part.number_key, matches=matches[:limit],
                        truncated=lookup.truncated or len(matches) > limit)


def part_interchangeable(*, part: Part, limit: int = INTERCHANGEABLE_LIMIT) -> NumberLookup:
    """The parts that interchange with `part`: what the number search lists for its number
    (part_lookup_by_number, so one rule: cross references both ways, through its replacements
    too), the same number of another brand and the interchangeable parts, without `part`
    itself. Its supersession chain is left to the part's own superseded_by / supersedes."""
    return _related_parts(part=part, kinds=_INTERCHANGE_KINDS, limit=limit)


def part_substitutes(*, part: Part, limit: int = INTERCHANGEABLE_LIMIT) -> NumberLookup:
    """The parts a buyer may take instead of `part` (the cart optimiser, when substitutes are
    allowed): part_interchangeable's, and the newer parts that replace it along its supersession
    chain (MatchKind.SUPERSEDES); never the older parts it replaced."""
    return _related_parts(part=part, kinds=_SUBSTITUTE_KINDS, limit=limit)


# --- 3. By words ------------------------------------------------------------------------

# pg_trgm's default word_similarity_threshold, which the `%>` operator (and its index) uses.
WORD_SIMILARITY_THRESHOLD = 0.6


class WordsMatch(StrEnum):
    FULL_TEXT = "full_text"                # every word found (as a prefix) in the search vector
    SIMILAR_CATEGORY = "similar_category"  # a typo: category names/synonyms or a brand look alike
    SIMILAR_TEXT = "similar_text"          # a typo: the part's own text looks alike


def _prefix_query(q: str) -> SearchQuery | None:
    words = search_words(q)
    if not words:
        return None
    # Words are [0-9a-z]+ only, so they cannot inject tsquery syntax.
    return SearchQuery(" & ".join(f"{word}:*" for word in words), search_type="raw", config=SEARCH_CONFIG)


# Category documents are a few hundred short rows: scoring all of them is cheaper than
# one trigram recheck of the thousands of parts a common word matches.
_SIMILAR_CATEGORIES_AND_BRANDS_SQL = """
WITH RECURSIVE hit AS (
    SELECT id, word_similarity(%(q)s, lower(concat_ws(' ', name_id, name_en, replace(synonyms, ',', ' '))))
           AS score
    FROM catalog_category
),
subtree(id, score) AS (
    SELECT id, score FROM hit WHERE score >= %(threshold)s
    UNION
    SELECT c.id, s.score FROM catalog_category c JOIN subtree s ON c.parent_id = s.id
)
SELECT false, id, max(score) FROM subtree GROUP BY id
UNION ALL
SELECT true, id, word_similarity(%(q)s, lower(name)) FROM catalog_brand
WHERE word_similarity(%(q)s, lower(name)) >= %(threshold)s
"""


def _similar_categories_and_brands(text: str) -> tuple[dict[int, float], dict[int, float]]:
    """The categories (with their subtrees) and brands whose names look like `text`, with their
    scores; one round trip."""
    params = {"q": text, "threshold": WORD_SIMILARITY_THRESHOLD}
    categories: dict[int, float] = {}
    brands: dict[int, float] = {}
    with connection.cursor() as cursor:
        cursor.execute(_SIMILAR_CATEGORIES_AND_BRANDS_SQL, params)
        for is_brand, pk, score in cursor.fetchall():
            (brands if is_brand else categories)[pk] = float(score)
    return categories, brands


def _score_of(field_name: str, scores: dict[int, float]) -> Case:
    return Case(*(When(**{field_name: pk}, then=Value(score)) for pk, score in scores.items()),
                default=Value(0.0), output_field=FloatField())


def part_search_by_words(
    *, q: str, category_id: int | None = None, brand_id: int | None = None, variant_id: int | None = None
) -> QuerySet[Part]:
    """Parts whose names, brand, category names or synonyms match `q`, in Indonesian or
    English, best first. Each row is annotated with `rank`, `similarity` and `match`.

    Three steps, the first that finds anything (within the filters) wins, so a page and
    the next page always come from the same step:
    1. full text, every word as a prefix, ranked by ts_rank (names weigh more than the
       category words) — the GIN index on the parts' search documents (PartSearchDocument);
    2. a typo in a category name, synonym or brand ("kampas rm", "bsui", "bosh"): trigram
       word similarity against the few hundred categories and brands, then their parts
       through the (category, brand) index, ranked by that similarity;
    3. a typo in the part's own text: `search_text %> q` on the trigram GIN index,
       ranked by word similarity.
    Steps 2 and 3 are fallbacks, not additions, because a trigram recheck costs tens of
    microseconds per row and a common word matches thousands of parts.

    The caller must slice it (ranking orders every match): lists are bounded pages.
    """
    return _words_search(q=q, category_ids=_category_ids(category_id), brand_id=brand_id, variant_id=variant_id)


@dataclass(frozen=True)
class _WordsStep:
    """One step of a words search, ranked: as SQL on `table` as `p` (catalog_part, or the search
    documents, which have the columns id, category_id and brand_id too: the ranking's columns,
    its condition with the search's filters, each with its parameters; ordered by `order`
    best first, then id) and as the equivalent queryset, built only when asked for (a count,
    a sort by offer, a position, the facets). tests/catalog/test_selectors_search.py holds the
    two equal."""

    match: WordsMatch
    rank: str
    similarity: str
    columns_params: tuple
    where: str
    where_params: tuple
    order: str  # "rank" or "similarity"
    build: Callable[[], QuerySet[Part]]
    table: str = "catalog_part"

    @cached_property
    def parts(self) -> QuerySet[Part]:
        return self.build()

    def ranked_sql(self, *, start: int, stop: int | None) -> tuple[str, list]:
        """The step's ranked slice with each part's PartRow columns, in one statement: the ranking
        reads ids and ranking fields only (index-only where it can), then the slice's rows are
        joined to their brand and category."""
        limit = "" if stop is None else f" LIMIT {int(stop) - int(start)}"
        # Fixed fragments and whole numbers only; every value is a parameter.
        sql = (f"SELECT {_PART_ROW_COLUMNS}, r.match, r.rank, r.similarity FROM ("  # noqa: S608
               f"SELECT p.id, %s AS match, {self.rank} AS rank, {self.similarity} AS similarity "
               f"FROM {self.table} p WHERE {self.where} ORDER BY {self.order} DESC, p.id{limit} OFFSET {int(start)}"
               f") r JOIN catalog_part p ON p.id = r.id {_PART_ROW_JOINS} ORDER BY r.{self.order} DESC, r.id")
        return sql, [self.match.value, *self.columns_params, *self.where_params]


def _words_filter_sql(*, category_ids: list[int] | None, brand_id: int | None,
                      variant_id: int | None) -> tuple[list[str], list]:
    """The filters of _words_steps' base queryset as SQL conditions on p (catalog_part or the
    search documents)."""
    where: list[str] = []
    params: list = []
    if variant_id is not None:
        where.append("p.id IN (SELECT f.part_id FROM catalog_fitment f WHERE f.variant_id = %s)")
        params.append(variant_id)
    if category_ids is not None:
        where.append(f"p.category_id IN ({', '.join(['%s'] * len(category_ids))})" if category_ids else "false")
        params += category_ids
    if brand_id is not None:
        where.append("p.brand_id = %s")
        params.append(brand_id)
    return where, params


def _score_sql(column: str, scores: dict[int, float]) -> tuple[str, list]:
    """_score_of as SQL on catalog_part p."""
    if not scores:
        return "%s", [0.0]
    whens = " ".join(f"WHEN p.{column} = %s THEN %s" for _pk in scores)
    return f"CASE {whens} ELSE %s END", [value for item in scores.items() for value in item] + [0.0]


def _words_steps(
    *, q: str, category_ids: list[int] | None, brand_id: int | None, variant_id: int | None
) -> Iterator[tuple[_WordsStep | None, bool]]:
    """part_search_by_words' steps in order, each ranked, with whether it is the last: the
    first that finds anything (within the filters) wins, the last whatever it finds. None
    for words that cannot match anything."""
    text = " ".join(search_words(q))
    query = _prefix_query(q)
    if not text or query is None:
        yield None, True
        return
    filters, filter_params = _words_filter_sql(category_ids=category_ids, brand_id=brand_id, variant_id=variant_id)

    def base() -> QuerySet[Part]:
        parts = _part_rows()
        if variant_id is not None:
            parts = parts.filter(pk__in=_fitted_part_ids(variant_id))
        return _filtered(parts, category_ids=category_ids, brand_id=brand_id)

    def where(condition: str) -> str:
        return " AND ".join([*filters, condition])

    tsquery = " & ".join(f"{word}:*" for word in search_words(q))
    # Ranked on the search documents: a common word's matches are read there, not in catalog_part.
    yield _WordsStep(
        match=WordsMatch.FULL_TEXT, order="rank", table=PartSearchDocument._meta.db_table,
        rank="ts_rank(p.search_vector, to_tsquery(%s::regconfig, %s))", similarity="%s",
        columns_params=(SEARCH_CONFIG, tsquery, 1.0),
        where=where("p.search_vector @@ (to_tsquery(%s::regconfig, %s))"),
        where_params=(*filter_params, SEARCH_CONFIG, tsquery),
        build=lambda: base().filter(search_document__search_vector=query).annotate(
            rank=SearchRank(F("search_document__search_vector"), query),
            similarity=Value(1.0, output_field=FloatField()),
            match=Value(WordsMatch.FULL_TEXT.value),
        ).order_by("-rank", "pk")), False

    categories, brands = _similar_categories_and_brands(text)
    if categories or brands:
        by_category, category_params = _score_sql("category_id", categories)
        by_brand, brand_params = _score_sql("brand_id", brands)
        either = [f"p.{column} IN ({', '.join(['%s'] * len(ids))})"
                  for column, ids in (("category_id", categories), ("brand_id", brands)) if ids]
        yield _WordsStep(
            match=WordsMatch.SIMILAR_CATEGORY, order="similarity",
            rank="%s", similarity=f"GREATEST({by_category}, {by_brand})",
            columns_params=(0.0, *category_params, *brand_params),
            where=where(f"({' OR '.join(either)})"),
            where_params=(*filter_params, *categories, *brands),
            build=lambda: base().filter(Q(category_id__in=list(categories)) | Q(brand_id__in=list(brands))).annotate(
                rank=Value(0.0, output_field=FloatField()),
                similarity=Greatest(_score_of("category_id", categories), _score_of("brand_id", brands)),
                match=Value(WordsMatch.SIMILAR_CATEGORY.value),
            ).order_by("-similarity", "pk")), False

    yield _WordsStep(
        match=WordsMatch.SIMILAR_TEXT, order="similarity",
        rank="%s", similarity="WORD_SIMILARITY(%s, p.search_text)", columns_params=(0.0, text),
        where=where("p.search_text %%> %s"), where_params=(*filter_params, text),
        build=lambda: base().filter(search_text__trigram_word_similar=text).annotate(
            rank=Value(0.0, output_field=FloatField()),
            similarity=TrigramWordSimilarity(text, "search_text"),
            match=Value(WordsMatch.SIMILAR_TEXT.value),
        ).order_by("-similarity", "pk")), True


def _words_search(
    *, q: str, category_ids: list[int] | None, brand_id: int | None, variant_id: int | None
) -> QuerySet[Part]:
    for step, last in _words_steps(q=q, category_ids=category_ids, brand_id=brand_id, variant_id=variant_id):
        parts = Part.objects.none() if step is None else step.parts
        if last or parts.exists():
            return parts
    raise AssertionError("the last step is always taken")


def _words_ranked(
    *, q: str, category_ids: list[int] | None, brand_id: int | None, variant_id: int | None, head: int
) -> RankedWords:
    """_words_search's parts as RankedWords: each step's first `head` ranked rows tell
    whether it found anything, instead of an EXISTS before them. (PostgreSQL plans that EXISTS
    as a sequential scan, as if thousands of parts matched: for words that few parts have it
    read most of the table.)"""
    for step, last in _words_steps(q=q, category_ids=category_ids, brand_id=brand_id, variant_id=variant_id):
        ranked = RankedWords(step, head=head)
        if last or ranked.head:
            return ranked
    raise AssertionError("the last step is always taken")


def brand_list() -> QuerySet[Brand]:
    return Brand.objects.all()


# --- Checks the admin forms run before calling a service ------------------------------------

def part_number_taken(*, brand_id: int, number_key: str, exclude_pk: int | None = None) -> bool:
    parts = Part.objects.filter(brand_id=brand_id, number_key=number_key)
    if exclude_pk is not None:
        parts = parts.exclude(pk=exclude_pk)
    return parts.exists()


Node = TypeVar("Node", bound=Hashable)  # a part: its id, or whatever names it in an import file


# The one supersession-cycle check: services.part_supersede, the admin's part form and the
# catalog import (which checks a whole file's supersessions at once) all ask it.

def supersession_loops(*, successors: Mapping[Node, Node | None],
                       stored_successors: Callable[[set[Node]], Mapping[Node, Node | None]]) -> list[Node]:
    """The parts among `successors` whose chain of successors, once `successors` is applied,
    leads back to them (A replaced by B replaced by A): each would end up replacing itself.
    A chain that runs into a loop elsewhere ends there; that loop's own parts are the ones named.

    `successors` maps a part to the part that is to replace it (None: to none), replacing what
    is stored; chains continue through the stored successors, which
    `stored_successors(parts)` gives for `parts` (and may give for more of their chains)."""
    successor: dict[Node, Node | None] = dict(successors)
    frontier = {t for t in successor.values() if t is not None and t not in successor}
    while frontier:
        stored = stored_successors(frontier)
        for node in frontier:
            successor[node] = stored.get(node)
        for node, target in stored.items():
            successor.setdefault(node, target)
        frontier = {t for t in successor.values() if t is not None and t not in successor}
    looping = []
    for start in successors:
        node, visited = successor.get(start), {start}
        while node is not None and node not in visited:
            visited.add(node)
            node = successor.get(node)
        if node == start:
            looping.append(start)
    return sorted(looping)


def part_stored_successors(part_ids: set[int]) -> dict[int, int | None]:
    """The stored successor (superseded_by) of each of `part_ids` and of every part along
    their chains, in one query (UNION stops at a part seen before)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE chain(id, next) AS (
                SELECT id, superseded_by_id FROM catalog_part WHERE id = ANY(%s::bigint[])
                UNION
                SELECT p.id, p.superseded_by_id FROM chain c JOIN catalog_part p ON p.id = c.next
            )
            SELECT id, next FROM chain
            """,
            [sorted(part_ids)],
        )
        return dict(cursor.fetchall())


def part_supersession_would_loop(*, old_id: int, new_id: int) -> bool:
    """Whether `new_id` replacing `old_id` would make a loop (old_id replacing itself)."""
    return bool(supersession_loops(successors={old_id: new_id}, stored_successors=part_stored_successors))


def category_ancestor_ids(*, category_id: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE up(id, depth) AS (
                SELECT parent_id, 1 FROM catalog_category WHERE id = %s AND parent_id IS NOT NULL
                UNION
                SELECT c.parent_id, u.depth + 1 FROM up u JOIN catalog_category c ON c.id = u.id
                WHERE c.parent_id IS NOT NULL AND u.depth < 50
            )
            SELECT id FROM up ORDER BY depth
            """,
            [category_id],
        )
        return [row[0] for row in cursor.fetchall()]


# --- Fitment position (the workshop parts list's position facet) ----------------------------

@dataclass(frozen=True)
class PositionCount:
    position: str
    label: str
    count: int


def part_ids_at_position(*, variant_id: int, position: str) -> QuerySet[Fitment]:
    """Ids of the parts fitted to the variant at `position` (for `pk__in`); fitment_unique
    (variant, part, position) answers it index-only."""
    return Fitment.objects.filter(variant_id=variant_id, position=position).values("part_id")


def part_position_counts(*, variant_id: int, parts: QuerySet[Part]) -> list[PositionCount]:
    """How many of `parts` fit the variant at each named position, most first (one query).

    `parts` is the list as filtered by everything but the position, so each count says what
    choosing that position would give. Fitment without a position ("any") is left out."""
    rows = (
        Fitment.objects.filter(variant_id=variant_id, part_id__in=parts.order_by().values("pk"))
        .exclude(position="")
        .values("position")
        .annotate(n=Count("part_id", distinct=True))
    )
    labels = dict(Position.choices)
    counts = [PositionCount(position=row["position"], label=str(labels.get(row["position"], row["position"])),
                            count=row["n"]) for row in rows]
    return sorted(counts, key=lambda c: (-c.count, c.position))


# --- The parts search (the API's /parts/ and the workshop's parts page) ----------------------

class SearchKind(StrEnum):
    NUMBER = "number"    # the text is a part number that is there: part_lookup_by_number's matches
    WORDS = "words"      # ranked words (part_search_by_words), within the vehicle's parts if one is given
    VEHICLE = "vehicle"  # every part that fits the vehicle, by id
    LIST = "list"        # no text and no vehicle: the catalog (category, brand), by id


class PartSort(StrEnum):
    RELEVANCE = "relevance"  # the search's own order: number matches by kind, words by rank, lists by id
    PRICE = "price"          # the best offer's price, lowest first
    AVAILABLE = "available"  # stock across the part's offers, most first
    LEAD_TIME = "lead_time"  # the best offer's lead time, fastest first


# Parts without an offer come last whatever the sort; ties keep the search's order (a stable sort).
_OFFER_SORT_KEYS = {
    PartSort.PRICE: lambda offer: (offer is None, offer["price"] if offer else 0),
    PartSort.AVAILABLE: lambda offer: (offer is None, -(offer["total_available"] if offer else 0)),
    PartSort.LEAD_TIME: lambda offer: (offer is None, offer["lead_time_days"] if offer else 0),
}
# Sorting by an offer ranks the matching parts in Python (offers live in suppliers' tables, read
# through the seam); a variant fits a few hundred parts, so this bound is generous, and beyond it
# only the first SORT_LIMIT parts in the search's own order are ranked (PartSearch.sort_truncated).
SORT_LIMIT = 2000
# The most matches a part-number search lists (one page on the workshop's screen).
NUMBER_SEARCH_LIMIT = 50
_RANKING_FIELDS = ("match", "rank", "similarity")


def _number_search_mode(q: str) -> str | None:
    """How the search text is tried as a part number: "all" (every match, close numbers too),
    "found" (only numbers that are there: exact, interchangeable, supersession) or None (words
    only).

    A number is typed as it is printed, often with spaces: "04465-0K240", "0446 50K240",
    "0 986 494 123" are numbers (every word has a digit). "DB 1234" may be one and "kampas
    rem 2019" is not: such mixed text is looked up too, but close numbers do not count there,
    so the words search answers when the number is not known."""
    if not any(ch.isdigit() for ch in q):
        return None
    return "all" if all(any(ch.isdigit() for ch in word) for word in q.split()) else "found"


class _OfferRankedParts:
    """Parts in an order decided in Python (by best offer): a slice loads only its own rows,
    with the ranking fields of a words search put back on them."""

    def __init__(self, ids: list[int], ranking: dict[int, tuple]):
        self.ids, self.ranking = ids, ranking

    def count(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, key: slice) -> list[Part]:
        ids = self.ids[key]
        loaded = _part_rows().in_bulk(ids)
        rows = [loaded[pk] for pk in ids if pk in loaded]
        for part in rows:
            for name, value in zip(_RANKING_FIELDS, self.ranking.get(part.pk, ()), strict=False):
                setattr(part, name, value)
        return rows


def _part_rows_by_id(ids: list[int]) -> dict[int, PartRow]:
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_PART_ROW_COLUMNS} FROM catalog_part p {_PART_ROW_JOINS} WHERE p.id = ANY(%s)",  # noqa: S608
                       [ids])
        return {row[0]: _part_row(row) for row in cursor.fetchall()}


class RankedPartRow(NamedTuple):
    """A words search's part as a page lists it (a PartRow) with its ranking fields."""

    part: PartRow
    match: str
    rank: float | None
    similarity: float | None

    @property
    def pk(self) -> int:
        return self.part.id


class RankedWords:
    """A words search's parts in rank order, as the pagers slice them: each slice is one
    statement (_WordsStep.ranked_sql: the ranking reads ids and ranking fields only, index-only
    where it can, and the slice's rows are joined to their brand and category), read as plain
    rows. The first `head` rows are read when the search is made (the demand check looks at
    them) and serve the first page, so a first page costs one statement. A slice is a list of
    Part (loaded by id, with the ranking fields set on them) or, as_rows(), of RankedPartRow."""

    def __init__(self, source: _WordsStep | QuerySet[Part] | None, *, head: int):
        self.source, self.rows = source, False
        self.head = self._ranked(0, head)
        self.complete = len(self.head) < head  # the head holds every match

    @property
    def parts(self) -> QuerySet[Part]:
        """The ranked parts as a queryset (counts, the facets, the position counts)."""
        if self.source is None:
            return Part.objects.none()
        return self.source.parts if isinstance(self.source, _WordsStep) else self.source

    def as_rows(self) -> RankedWords:
        """The same parts, each slice a list of RankedPartRow (no model instances)."""
        copy = object.__new__(RankedWords)
        copy.source, copy.head, copy.complete, copy.rows = self.source, self.head, self.complete, True
        return copy

    def _ranked(self, start: int, stop: int | None) -> list[RankedPartRow]:
        if self.source is None or (stop is not None and stop <= start):
            return []
        if not isinstance(self.source, _WordsStep):  # a step narrowed further (a position): ranked, then rows by id
            ranked = list(self.source.values_list("pk", *_RANKING_FIELDS)[start:stop])
            rows = _part_rows_by_id([pk for pk, *_ranking in ranked])
            return [RankedPartRow(rows[pk], *ranking) for pk, *ranking in ranked if pk in rows]
        sql, params = self.source.ranked_sql(start=start, stop=stop)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        ranking = len(PartRow._fields)
        # As the queryset's FloatField annotations read: a literal score comes back as numeric.
        return [RankedPartRow(_part_row(row[:ranking]), row[ranking], *(None if value is None else float(value)
                                                                         for value in row[ranking + 1:]))
                for row in rows]

    def count(self) -> int:
        return len(self.head) if self.complete else self.parts.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[Part] | list[RankedPartRow]:
        start, stop = key.start or 0, key.stop
        covered = self.complete or (stop is not None and stop <= len(self.head))
        ranked = self.head[start:stop] if covered else self._ranked(start, stop)
        if self.rows:
            return ranked
        loaded = _part_rows().in_bulk([row.pk for row in ranked])
        parts = []
        for row in ranked:
            if row.pk in loaded:
                part = loaded[row.pk]
                part.match, part.rank, part.similarity = row.match, row.rank, row.similarity
                parts.append(part)
        return parts


class PartSequence(Protocol):
    """What a pager needs of a search's parts: a slice (one bounded read) and a count."""

    def count(self) -> int: ...

    def __getitem__(self, key: slice) -> list[Part]: ...


@dataclass(frozen=True)
class PartSearch:
    """What part_search decided and found. `parts` is in its final order and is paged by
    slicing (each slice a bounded query; `count()` for a pager that shows pages): by id when
    `by_id` (a cursor may page it, ordering and filtering it on id), else by rank or offer.
    For a NUMBER search `parts` holds the matches' parts, each carrying `match` (its kind),
    `rank` and `similarity` as the words search's rows do (RankedPartRows, asked for `rows`);
    `number_matches` the matches."""

    kind: SearchKind
    parts: PartSequence | QuerySet[Part] | list[Part] | list[RankedPartRow]
    by_id: bool = False
    variant_id: int | None = None
    q: str = ""
    category_ids: list[int] | None = None
    brand_id: int | None = None
    position: str = ""
    number_matches: list[PartMatch] = field(default_factory=list)
    sort_truncated: bool = False
    unpositioned: QuerySet[Part] | None = None  # words: the parts before the position filter
    offers: dict[int, dict] | None = None  # read already to sort by them
    # The best offers the demand check read (words by relevance): (the parts looked up, their offers).
    sampled_offers: tuple[frozenset[int], dict[int, dict]] | None = None

    @property
    def _unpositioned(self) -> QuerySet[Part] | None:
        if self.unpositioned is None and isinstance(self.parts, RankedWords):
            return self.parts.parts  # no position: the ranked parts themselves
        return self.unpositioned

    @cached_property
    def facets(self) -> Facets | None:
        """Counts per category and brand of a vehicle's search (part_facets_for_vehicle); None
        without a vehicle or for a part number."""
        if self.variant_id is None or self.kind not in (SearchKind.WORDS, SearchKind.VEHICLE):
            return None
        # Without a category or brand the search's own words query is the one the facets count.
        unfiltered = self.kind == SearchKind.WORDS and self.category_ids is None and self.brand_id is None
        return part_facets_for_vehicle(variant_id=self.variant_id, q=self.q if self.kind == SearchKind.WORDS else None,
                                       category_ids=self.category_ids, brand_id=self.brand_id, position=self.position,
                                       words=self._unpositioned if unfiltered else None)

    @cached_property
    def positions(self) -> list[PositionCount]:
        """How many parts each fitment position would give (part_position_counts); [] without a vehicle."""
        if self.variant_id is None:
            return []
        parts = self._unpositioned
        if parts is None and self.kind == SearchKind.VEHICLE:  # built here: the API never asks
            parts = _part_rows().filter(pk__in=_fitted_part_ids(self.variant_id, category_ids=self.category_ids,
                                                                brand_id=self.brand_id))
        if parts is None:
            return []
        return part_position_counts(variant_id=self.variant_id, parts=parts)

    def sampled_best_offers(self, part_ids: Iterable[int]) -> dict[int, dict] | None:
        """The best offers of `part_ids` from those the demand check read; None if it did not read them all."""
        if self.sampled_offers is None:
            return None
        looked_up, offers = self.sampled_offers
        part_ids = list(part_ids)
        if not looked_up.issuperset(part_ids):
            return None
        return {pk: offers[pk] for pk in part_ids if pk in offers}

    def best_offers(self, *, part_ids: Iterable[int]) -> dict[int, dict]:
        """The best offers of `part_ids` (a page): those read for the sort, else one lookup."""
        if self.offers is not None:
            return {pk: self.offers[pk] for pk in part_ids if pk in self.offers}
        part_ids = list(part_ids)
        sampled = self.sampled_best_offers(part_ids)
        return part_best_offers(part_ids=part_ids) if sampled is None else sampled


# Demand without supply (the operations view's business figures): a search whose parts have no
# offer, or a part number that matched nothing, is counted by reason, category, brand and query
# (okto88.recording, kind "demand"). A words search is judged by its first page of parts.
DEMAND_SAMPLE = 20
DEMAND_QUERY_MAX_LENGTH = 100


def _demand_count(*, reason: str, q: str, number: bool = False, category_id: int | None, brand_id: int | None,
                  first: Part | PartRow | None = None) -> None:
    """Count one search without supply. The category and brand are those it was narrowed to,
    else those of its first part; the query is trimmed and normalised (a number as its key)."""
    query = part_number_normalise(q) if number else " ".join(search_words(q))
    category = category_id or (first.category_id if first else None)
    brand = brand_id or (first.brand_id if first else None)
    recording.count("demand", (reason, str(category or ""), str(brand or ""), query[:DEMAND_QUERY_MAX_LENGTH]))


def _words_demand_check(*, parts: RankedWords, q: str, category_id: int | None,
                        brand_id: int | None) -> tuple[list[int], dict[int, dict]]:
    """Count the search if its first DEMAND_SAMPLE parts have no offer; returns their ids and offers."""
    rows = [row.part for row in parts.head[:DEMAND_SAMPLE]]
    part_ids = [row.id for row in rows]
    offers = part_best_offers(part_ids=part_ids) if rows else {}
    if rows and not offers:
        first = Part(pk=rows[0].id, category_id=rows[0].category_id, brand_id=rows[0].brand_id)
        _demand_count(reason="no_offer", q=q, category_id=category_id, brand_id=brand_id, first=first)
    return part_ids, offers


def part_search(
    *, q: str = "", variant_id: int | None = None, category_id: int | None = None, brand_id: int | None = None,
    position: str = "", sort: PartSort = PartSort.RELEVANCE, category_subtree: list[int] | None = None,
    rows: bool = False,
) -> PartSearch:
    """The one parts search, the same for the API (/api/v1/parts/) and the workshop's page.

    - Text that reads as a part number (_number_search_mode) is looked up as one
      (part_lookup_by_number, at most NUMBER_SEARCH_LIMIT matches, by kind): a number names
      parts whatever vehicle, category or brand is chosen, so those do not narrow it, and the
      matches keep their order (exact first) whatever the sort; with a vehicle each match says
      whether its part fits it (PartMatch.fits_vehicle, on the part too).
    - Otherwise text is words (part_search_by_words), ranked, within the vehicle's parts if a
      vehicle is given; no text with a vehicle lists the parts that fit it, by id; neither
      lists the catalog by id. `category_id` (its subtree) and `brand_id` narrow all three, a
      fitment `position` the vehicle's (it means nothing without one).
    - A sort other than relevance ranks the first SORT_LIMIT of those by best offer.
    Facets and position counts are counted when first asked for (PartSearch.facets/positions).
    `category_subtree` is category_id's subtree when the caller has read it (search_references).
    With `rows` a number's matches are RankedPartRows (the API renders those; the page needs Parts).
    """
    q = q.strip()
    position = position if variant_id is not None else ""
    mode = _number_search_mode(q)
    if mode:
        lookup = part_lookup_by_number(number=q, limit=NUMBER_SEARCH_LIMIT, variant_id=variant_id, rows=rows)
        matches = [m for m in lookup.matches if mode == "all" or m.kind != MatchKind.SIMILAR]
        if matches:
            if rows:
                parts = [RankedPartRow(m.part, m.kind.value, None, m.similarity) for m in matches]
            else:
                for match in matches:
                    match.part.match, match.part.rank, match.part.similarity = match.kind.value, None, match.similarity
                    match.part.fits_vehicle = match.fits_vehicle
                parts = [m.part for m in matches]
            # Read here to see whether any match is on offer; the page reuses them (best_offers).
            offers = part_best_offers(part_ids=[m.part.pk for m in matches])
            if not offers:
                _demand_count(reason="no_offer", q=q, number=True, category_id=category_id, brand_id=brand_id,
                              first=matches[0].part)
            return PartSearch(kind=SearchKind.NUMBER, parts=parts, variant_id=variant_id, q=q,
                              number_matches=matches, offers=offers)
        if mode == "all":
            _demand_count(reason="no_match", q=q, number=True, category_id=category_id, brand_id=brand_id)

    category_ids = (category_subtree if category_subtree is not None and category_id is not None
                    else _category_ids(category_id))
    criteria = {"variant_id": variant_id, "q": q, "category_ids": category_ids, "brand_id": brand_id,
                "position": position}
    unpositioned = None
    if q:
        kind = SearchKind.WORDS
        words = {"q": q, "category_ids": category_ids, "brand_id": brand_id, "variant_id": variant_id}
        if sort == PartSort.RELEVANCE and not position:
            # The head covers the demand sample and the first page of either pager (the API's
            # default limit and the workshop page's 20, each read with one more row).
            parts = _words_ranked(**words, head=DEMAND_SAMPLE + 1)  # its queryset built when asked for
        else:
            parts = unpositioned = _words_search(**words)
            if position:
                parts = parts.filter(pk__in=part_ids_at_position(variant_id=variant_id, position=position))
    elif variant_id is not None:
        kind = SearchKind.VEHICLE
        parts = VehicleParts(variant_id=variant_id, category_ids=category_ids, brand_id=brand_id, position=position)
    else:
        kind = SearchKind.LIST
        parts = _filtered(_part_rows(), category_ids=category_ids, brand_id=brand_id)
    if sort == PartSort.RELEVANCE:
        if kind == SearchKind.WORDS:
            if not isinstance(parts, RankedWords):
                parts = RankedWords(parts, head=DEMAND_SAMPLE + 1)
            sampled_ids, sampled_offers = _words_demand_check(parts=parts, q=q, category_id=category_id,
                                                              brand_id=brand_id)
            return PartSearch(kind=kind, parts=parts, unpositioned=unpositioned,
                              sampled_offers=(frozenset(sampled_ids), sampled_offers), **criteria)
        return PartSearch(kind=kind, parts=parts, by_id=True, unpositioned=unpositioned, **criteria)

    ranking: dict[int, tuple] = {}
    if isinstance(parts, VehicleParts):
        ids = parts.ids(limit=SORT_LIMIT + 1)
    elif kind == SearchKind.WORDS and "match" in parts.query.annotations:
        rows = parts.values_list("pk", *_RANKING_FIELDS)[:SORT_LIMIT + 1]
        ranking = {pk: tuple(values) for pk, *values in rows}
        ids = list(ranking)
    else:
        ids = list(parts.order_by("pk").values_list("pk", flat=True)[:SORT_LIMIT + 1])
    truncated, ids = len(ids) > SORT_LIMIT, ids[:SORT_LIMIT]
    offers = part_best_offers(part_ids=ids)
    if kind == SearchKind.WORDS and ids and not offers:
        _demand_count(reason="no_offer", q=q, category_id=category_id, brand_id=brand_id,
                      first=_part_rows().filter(pk=ids[0]).first())
    key = _OFFER_SORT_KEYS[sort]
    ids.sort(key=lambda pk: key(offers.get(pk)))
    return PartSearch(kind=kind, parts=_OfferRankedParts(ids, ranking), sort_truncated=truncated,
                      unpositioned=unpositioned, offers=offers, **criteria)
