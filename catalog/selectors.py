"""Catalog reads: categories, part detail and the three searches (vehicle, number, words).

Every selector returns rows with brand and category joined so a list serializes in a
fixed number of queries. The searches are written for the scale of the benchmark
(200,000 parts, 5,000,000 fitment rows): each starts from an index (fitment's unique
(variant, part, position) index, part.number_key, crossref.number_key, the GIN indexes on
search_vector and search_text) and never sorts or counts more than it must.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, F, FloatField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Greatest

from catalog.models import Brand, Category, CrossReference, Fitment, Part
from catalog.normalise import part_number_normalise, search_words

logger = logging.getLogger(__name__)

SEARCH_CONFIG = "simple"
# Trigram similarity a number must reach to count as a close match of the typed number.
SIMILAR_NUMBER_THRESHOLD = 0.4
SIMILAR_NUMBER_LIMIT = 10
# The longest supersession chain followed; real chains are two or three links long.
SUPERSESSION_MAX_DEPTH = 20
DETAIL_FITMENT_LIMIT = 200


def _part_rows() -> QuerySet[Part]:
    # The search columns are large and only ever read by PostgreSQL itself.
    return Part.objects.select_related("brand", "category").defer("search_vector", "search_text")


# --- Catalog version (for caches of search results) ----------------------------------------

# A counter in Redis that every catalog write moves on after its commit
# (services.catalog_cache_version_bump). Caches of catalog reads put it in their keys, so a
# write makes every older entry unreachable at once, on every web process, without a scan.
CATALOG_VERSION_KEY = "catalog:version"


def catalog_cache_version() -> int | None:
    """The current catalog version, or None when Redis cannot be reached (then cache nothing).

    A missing counter (first use, or the cache was flushed) starts from the clock, never
    from 0, so it cannot fall back to a value that older entries still carry."""
    try:
        version = cache.get(CATALOG_VERSION_KEY)
        if version is None:
            cache.add(CATALOG_VERSION_KEY, time.time_ns(), timeout=None)
            version = cache.get(CATALOG_VERSION_KEY)
        return int(version) if version is not None else None
    except Exception:  # Redis down must not take the search down: it only loses its cache
        logger.warning("catalog version unavailable; search cache bypassed", exc_info=True)
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


def part_list(*, category_id: int | None = None, brand_id: int | None = None) -> QuerySet[Part]:
    return _filtered(_part_rows(), category_ids=_category_ids(category_id), brand_id=brand_id)


def part_detail(*, part_id: int) -> Part | None:
    """One part with what its page shows: fitment (bounded), cross references, supersession."""
    fitments = (
        Fitment.objects.select_related("variant__model__make")
        .order_by("variant__model__make__name", "variant__model__name", "variant__year_from", "variant_id", "position")
    )
    return (
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


def part_fitment_count(*, part: Part) -> int:
    return Fitment.objects.filter(part=part).count()


# --- 1. By vehicle ----------------------------------------------------------------------

@dataclass(frozen=True)
class FacetValue:
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
    parts: QuerySet[Part]
    facets: Facets


def _fitted_part_ids(
    variant_id: int, *, category_ids: list[int] | None = None, brand_id: int | None = None
) -> QuerySet[Fitment]:
    # A semi-join (IN), not a join: a part fitted at two positions is still one result.
    # The fitment_unique index (variant_id, part_id, position) answers it index-only.
    # The category and brand filters go inside the subquery, joined to part there, so
    # PostgreSQL can narrow the ids index-only (fitment_unique hashed against
    # part_category_brand_id) before it reads any part row; filtered outside, a busy
    # variant with a rare category walked the part primary key and heap (~100 ms).
    fitted = Fitment.objects.filter(variant_id=variant_id)
    if category_ids is not None:
        fitted = fitted.filter(part__category_id__in=category_ids)
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
    facets = part_facets_for_vehicle(variant_id=variant_id, category_ids=category_ids, brand_id=brand_id)
    return VehicleSearch(parts=parts, facets=facets)


# Both facets in one pass over the variant's parts: GROUPING SETS gives one row per
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
"""


def part_facets_for_vehicle(
    *, variant_id: int, category_ids: list[int] | None = None, brand_id: int | None = None,
    q: str | None = None,
) -> Facets:
    """Counts of the variant's parts per category and per brand, in one query.

    Faceted the usual way: the category counts honour the brand filter but not the
    category filter, and the brand counts the other way round, so a workshop sees how
    many parts each other choice would give.
    """
    if q:
        part_ids = part_search_by_words(q=q, variant_id=variant_id).order_by().values("pk")
    else:
        part_ids = _fitted_part_ids(variant_id)
    try:
        subquery, params = part_ids.query.sql_with_params()
    except EmptyResultSet:  # e.g. words that normalise to nothing
        return Facets()
    wanted = list(category_ids) if category_ids is not None else None
    categories: list[FacetValue] = []
    brands: list[FacetValue] = []
    with connection.cursor() as cursor:
        cursor.execute(_FACETS_SQL.replace("{part_ids}", subquery), [brand_id, brand_id, wanted, wanted, *params])
        for by_brand, pk, cat_name, cat_name_en, parent_id, brand_name, n in cursor.fetchall():
            if not n:
                continue
            if by_brand:
                brands.append(FacetValue(id=pk, name=brand_name, count=n))
            else:
                categories.append(FacetValue(id=pk, name=cat_name, name_en=cat_name_en, parent_id=parent_id,
                                             count=n))
    return Facets(
        categories=sorted(categories, key=lambda f: (-f.count, f.name, f.id)),
        brands=sorted(brands, key=lambda f: (-f.count, f.name, f.id)),
    )


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
    part: Part
    kind: MatchKind
    via_id: int | None = None  # the matched part this one relates to ("result <kind> via")
    similarity: float | None = None


@dataclass(frozen=True)
class NumberLookup:
    number: str
    number_key: str
    matches: list[PartMatch]
    truncated: bool = False


# Interchangeable parts of the seed parts (the exact matches and their replacements):
# parts whose own number or one of whose cross references equals the typed key, a seed's
# number or one of a seed's cross-reference keys. So an aftermarket number leads to the OE
# number and from there to every other brand that interchanges with it, and an old OE
# number leads through its replacement to the parts that fit today. Every lookup here is
# on a btree number_key index.
_INTERCHANGE_SQL = """
WITH keys AS (
    SELECT %(key)s::varchar AS key
    UNION
    SELECT p.number_key FROM catalog_part p WHERE p.id = ANY(%(seeds)s)
    UNION
    SELECT cr.number_key FROM catalog_crossreference cr WHERE cr.part_id = ANY(%(seeds)s)
)
SELECT p.id FROM catalog_part p WHERE p.number_key IN (SELECT key FROM keys)
UNION
SELECT cr.part_id FROM catalog_crossreference cr WHERE cr.number_key IN (SELECT key FROM keys)
"""

# Both directions of the supersession chains of the exact matches, in one round trip.
_SUPERSESSION_SQL = """
WITH RECURSIVE forward(id, via, depth) AS (
    SELECT p.superseded_by_id, p.id, 1 FROM catalog_part p
    WHERE p.id = ANY(%(ids)s) AND p.superseded_by_id IS NOT NULL
    UNION
    SELECT p.superseded_by_id, f.via, f.depth + 1 FROM forward f JOIN catalog_part p ON p.id = f.id
    WHERE p.superseded_by_id IS NOT NULL AND f.depth < %(depth)s
),
backward(id, via, depth) AS (
    SELECT p.id, p.superseded_by_id, 1 FROM catalog_part p WHERE p.superseded_by_id = ANY(%(ids)s)
    UNION
    SELECT p.id, b.via, b.depth + 1 FROM backward b JOIN catalog_part p ON p.superseded_by_id = b.id
    WHERE b.depth < %(depth)s
)
SELECT id, via, 'supersedes', depth FROM forward
UNION ALL
SELECT id, via, 'superseded_by', depth FROM backward
ORDER BY 4
"""


def part_lookup_by_number(*, number: str, limit: int = 50) -> NumberLookup:
    """Exact on the normalised key, then supersession both ways, then interchangeable
    parts (cross references), then — only when none of that matched — close numbers.

    Four small indexed queries at most, plus one to load the parts with brand and category.
    """
    key = part_number_normalise(number)
    if not key:
        return NumberLookup(number=number, number_key=key, matches=[])
    kinds: dict[int, tuple[MatchKind, int | None, float | None]] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM catalog_part WHERE number_key = %s ORDER BY id", [key])
        exact = [row[0] for row in cursor.fetchall()]
        kinds.update((pk, (MatchKind.EXACT, None, None)) for pk in exact)
        seeds = list(exact)
        if exact:
            cursor.execute(_SUPERSESSION_SQL, {"ids": exact, "depth": SUPERSESSION_MAX_DEPTH})
            for part_id, via, kind, _depth in cursor.fetchall():
                if part_id not in kinds:
                    kinds[part_id] = (MatchKind(kind), via, None)
                    if kind == MatchKind.SUPERSEDES:
                        seeds.append(part_id)
        cursor.execute(_INTERCHANGE_SQL, {"key": key, "seeds": seeds})
        for (part_id,) in cursor.fetchall():
            kinds.setdefault(part_id, (MatchKind.INTERCHANGEABLE, None, None))
        if not kinds:
            # `%` uses the trigram GIN index at pg_trgm's default threshold (0.3); the
            # stricter threshold is applied to the few candidates it returns.
            cursor.execute(
                """
                SELECT id, similarity(number_key, %(key)s) AS score FROM catalog_part
                WHERE number_key %% %(key)s AND similarity(number_key, %(key)s) >= %(threshold)s
                ORDER BY score DESC, number_key, id LIMIT %(limit)s
                """,
                {"key": key, "threshold": SIMILAR_NUMBER_THRESHOLD, "limit": min(limit, SIMILAR_NUMBER_LIMIT)},
            )
            for part_id, score in cursor.fetchall():
                kinds[part_id] = (MatchKind.SIMILAR, None, float(score))
    parts = _part_rows().in_bulk(list(kinds))
    matches = [
        PartMatch(part=parts[pk], kind=kind, via_id=via, similarity=score)
        for pk, (kind, via, score) in kinds.items() if pk in parts
    ]
    matches.sort(key=lambda m: (KIND_ORDER[m.kind], -(m.similarity or 0), m.part.brand.name,
                                m.part.number_key, m.part.pk))
    return NumberLookup(number=number, number_key=key, matches=matches[:limit], truncated=len(matches) > limit)


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
_SIMILAR_CATEGORIES_SQL = """
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
SELECT id, max(score) FROM subtree GROUP BY id
"""
_SIMILAR_BRANDS_SQL = """
SELECT id, word_similarity(%(q)s, lower(name)) AS score FROM catalog_brand
WHERE word_similarity(%(q)s, lower(name)) >= %(threshold)s
"""


def _similar_categories_and_brands(text: str) -> tuple[dict[int, float], dict[int, float]]:
    params = {"q": text, "threshold": WORD_SIMILARITY_THRESHOLD}
    with connection.cursor() as cursor:
        cursor.execute(_SIMILAR_CATEGORIES_SQL, params)
        categories = {pk: float(score) for pk, score in cursor.fetchall()}
        cursor.execute(_SIMILAR_BRANDS_SQL, params)
        brands = {pk: float(score) for pk, score in cursor.fetchall()}
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
       category words) — the GIN index on search_vector;
    2. a typo in a category name, synonym or brand ("kampas rm", "bsui", "bosh"): trigram
       word similarity against the few hundred categories and brands, then their parts
       through the (category, brand) index, ranked by that similarity;
    3. a typo in the part's own text: `search_text %> q` on the trigram GIN index,
       ranked by word similarity.
    Steps 2 and 3 are fallbacks, not additions, because a trigram recheck costs tens of
    microseconds per row and a common word matches thousands of parts.

    The caller must slice it (ranking orders every match): lists are bounded pages.
    """
    text = " ".join(search_words(q))
    query = _prefix_query(q)
    if not text or query is None:
        return Part.objects.none()
    base = _part_rows()
    if variant_id is not None:
        base = base.filter(pk__in=_fitted_part_ids(variant_id))
    base = _filtered(base, category_ids=_category_ids(category_id), brand_id=brand_id)

    full_text = base.filter(search_vector=query)
    if full_text.exists():
        return full_text.annotate(
            rank=SearchRank(F("search_vector"), query),
            similarity=Value(1.0, output_field=FloatField()),
            match=Value(WordsMatch.FULL_TEXT.value),
        ).order_by("-rank", "pk")

    categories, brands = _similar_categories_and_brands(text)
    if categories or brands:
        similar = base.filter(Q(category_id__in=list(categories)) | Q(brand_id__in=list(brands)))
        if similar.exists():
            return similar.annotate(
                rank=Value(0.0, output_field=FloatField()),
                similarity=Greatest(_score_of("category_id", categories), _score_of("brand_id", brands)),
                match=Value(WordsMatch.SIMILAR_CATEGORY.value),
            ).order_by("-similarity", "pk")

    return base.filter(search_text__trigram_word_similar=text).annotate(
        rank=Value(0.0, output_field=FloatField()),
        similarity=TrigramWordSimilarity(text, "search_text"),
        match=Value(WordsMatch.SIMILAR_TEXT.value),
    ).order_by("-similarity", "pk")


def brand_list() -> QuerySet[Brand]:
    return Brand.objects.all()


# --- Checks the admin forms run before calling a service ------------------------------------

def part_number_taken(*, brand_id: int, number_key: str, exclude_pk: int | None = None) -> bool:
    parts = Part.objects.filter(brand_id=brand_id, number_key=number_key)
    if exclude_pk is not None:
        parts = parts.exclude(pk=exclude_pk)
    return parts.exists()


def part_successor_ids(*, part_id: int) -> list[int]:
    """The parts that replace `part_id`, nearest first (its superseded_by chain)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE chain(id, depth) AS (
                SELECT superseded_by_id, 1 FROM catalog_part WHERE id = %(id)s AND superseded_by_id IS NOT NULL
                UNION
                SELECT p.superseded_by_id, c.depth + 1 FROM chain c JOIN catalog_part p ON p.id = c.id
                WHERE p.superseded_by_id IS NOT NULL AND c.depth < %(depth)s
            )
            SELECT id FROM chain ORDER BY depth
            """,
            {"id": part_id, "depth": SUPERSESSION_MAX_DEPTH},
        )
        return [row[0] for row in cursor.fetchall()]


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
