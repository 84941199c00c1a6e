"""The catalog's read models, each rule stated once: the facet counts per variant
(VariantFacet), the part's category on its fitment (Fitment.part_category_id) and the search
document of a part (PartSearchDocument: the full-text vector with the part's category and brand;
Part.search_text).

catalog.services refreshes them with this SQL in the transaction of every change; bulk paths
(the demo, the CSV import, bench/generate_catalog.py) call those same refreshes. The checks
here recompute each read model from scratch and compare it with what is stored (reads only;
`manage.py check_read_models` runs them).
"""

from __future__ import annotations

from okto88.read_models import ReadModelCheck, read_model_compare

# --- Facet counts per variant ---------------------------------------------------------------

# The rows of catalog_variantfacet for the fitment that {where} selects ("true": all of it). A
# part fitted at two positions counts once: (variant, part) pairs first, off fitment_unique.
VARIANT_FACET_ROWS_SQL = """
SELECT f.variant_id, p.category_id, p.brand_id, count(*) AS parts
FROM (SELECT DISTINCT variant_id, part_id FROM catalog_fitment WHERE {where}) f
JOIN catalog_part p ON p.id = f.part_id
GROUP BY 1, 2, 3
"""


def variant_facet_check() -> ReadModelCheck:
    """Every variant's facet rows against a count from fitment."""
    return read_model_compare(
        name="facet counts per variant (catalog_variantfacet)",
        expected_sql=VARIANT_FACET_ROWS_SQL.format(where="true"),
        stored_sql="SELECT variant_id, category_id, brand_id, parts::bigint AS parts FROM catalog_variantfacet",
        key=("variant_id", "category_id", "brand_id"),
    )


# --- The part's category on fitment -----------------------------------------------------------

# Sets catalog_fitment.part_category_id to its part's category for the fitment of the parts
# %(parts)s (an array of ids) where it differs. Rows are written with it (the services, the
# import, the demo, the bench generator); this follows a part's change of category.
FITMENT_PART_CATEGORY_REFRESH_SQL = """
UPDATE catalog_fitment f SET part_category_id = p.category_id
FROM catalog_part p
WHERE p.id = f.part_id AND f.part_id = ANY(%(parts)s::bigint[]) AND f.part_category_id <> p.category_id
"""


def fitment_part_category_check() -> ReadModelCheck:
    """Every fitment row's part_category_id against its part's category."""
    return read_model_compare(
        name="the parts' categories on fitment (catalog_fitment.part_category_id)",
        expected_sql="SELECT f.id, p.category_id AS part_category_id FROM catalog_fitment f "
                     "JOIN catalog_part p ON p.id = f.part_id",
        stored_sql="SELECT id, part_category_id FROM catalog_fitment",
        key=("id",),
    )


# --- Search document of a part --------------------------------------------------------------

# The 'simple' configuration (lower case, no stemming) because names mix Indonesian and English
# and neither language's stemmer suits the other. Ancestor category names ("Rem" for brake pads)
# are weight C: they widen a search without outranking the part's own category.
# The words of every category (its own, its ancestors'), for the expressions below.
PART_SEARCH_CATEGORY_WORDS_CTE = """
WITH RECURSIVE ancestry(category_id, ancestor_id) AS (
    SELECT id, parent_id FROM catalog_category WHERE parent_id IS NOT NULL
    UNION
    SELECT a.category_id, c.parent_id
    FROM ancestry a JOIN catalog_category c ON c.id = a.ancestor_id
    WHERE c.parent_id IS NOT NULL
),
category_document AS (
    SELECT c.id,
           concat_ws(' ', c.name_id, c.name_en, replace(c.synonyms, ',', ' ')) AS own_words,
           coalesce((SELECT string_agg(concat_ws(' ', p.name_id, p.name_en), ' ')
                     FROM ancestry a JOIN catalog_category p ON p.id = a.ancestor_id
                     WHERE a.category_id = c.id), '') AS ancestor_words
    FROM catalog_category c
)
"""
# Over `part`, its `brand` and its category's `cd` (category_document above).
PART_SEARCH_VECTOR_SQL = """
        setweight(to_tsvector('simple', concat_ws(' ', part.name_id, part.name_en)), 'A')
        || setweight(to_tsvector('simple', concat_ws(' ', brand.name, part.number, part.number_key)), 'A')
        || setweight(to_tsvector('simple', cd.own_words), 'B')
        || setweight(to_tsvector('simple', cd.ancestor_words), 'C')"""
PART_SEARCH_TEXT_SQL = """lower(concat_ws(' ', part.name_id, part.name_en, brand.name, cd.own_words,
                                  cd.ancestor_words))"""
PART_SEARCH_SOURCES_SQL = """FROM catalog_brand AS brand, category_document AS cd
WHERE brand.id = part.brand_id AND cd.id = part.category_id"""

# Every part's document: its row of catalog_partsearchdocument and its catalog_part.search_text
# (after PART_SEARCH_CATEGORY_WORDS_CTE; ends in a WHERE clause that a caller may extend).
PART_SEARCH_DOCUMENT_ROWS_SQL = (
    f"SELECT part.id, part.category_id, part.brand_id, {PART_SEARCH_VECTOR_SQL} AS search_vector,\n"
    + f"       {PART_SEARCH_TEXT_SQL} AS search_text\n"
    + PART_SEARCH_SOURCES_SQL.replace("FROM ", "FROM catalog_part AS part, ", 1)
)


# The columns {columns} of every part's document.
_PART_SEARCH_DOCUMENT_COLUMNS_SQL = (
    PART_SEARCH_CATEGORY_WORDS_CTE + "SELECT {columns} FROM (" + PART_SEARCH_DOCUMENT_ROWS_SQL + ") document"  # noqa: S608
)


def part_search_document_check() -> ReadModelCheck:
    """Every part's row of catalog_partsearchdocument against the one its names, brand and
    categories give."""
    return read_model_compare(
        name="search documents of parts (catalog_partsearchdocument)",
        expected_sql=_PART_SEARCH_DOCUMENT_COLUMNS_SQL.format(columns="id, category_id, brand_id, search_vector"),
        stored_sql="SELECT id, category_id, brand_id, search_vector FROM catalog_partsearchdocument",
        key=("id",),
    )


def part_search_text_check() -> ReadModelCheck:
    """Every part's search_text (the typo steps' trigram text) against the one its names, brand
    and categories give."""
    return read_model_compare(
        name="search texts of parts (catalog_part.search_text)",
        expected_sql=_PART_SEARCH_DOCUMENT_COLUMNS_SQL.format(columns="id, search_text"),
        stored_sql="SELECT id, search_text FROM catalog_part",
        key=("id",),
    )


def catalog_read_models_check() -> list[ReadModelCheck]:
    """Every read model of the catalog, checked."""
    return [variant_facet_check(), fitment_part_category_check(), part_search_document_check(),
            part_search_text_check()]


__all__ = [
    "FITMENT_PART_CATEGORY_REFRESH_SQL", "PART_SEARCH_CATEGORY_WORDS_CTE", "PART_SEARCH_DOCUMENT_ROWS_SQL",
    "VARIANT_FACET_ROWS_SQL", "catalog_read_models_check", "fitment_part_category_check",
    "part_search_document_check", "part_search_text_check", "variant_facet_check",
]
