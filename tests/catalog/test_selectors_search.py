"""The three searches: by vehicle (with facets), by part number, by words."""

from __future__ import annotations

import pytest

from catalog import selectors, services
from catalog.normalise import part_number_normalise
from catalog.selectors import MatchKind
from tests.catalog.factories import BrandFactory, CategoryFactory, FitmentFactory, PartFactory, VehicleVariantFactory

pytestmark = pytest.mark.django_db


def ids(parts) -> set[int]:
    return {p.pk for p in parts}


# --- by vehicle ---------------------------------------------------------------------------

def test_vehicle_search_returns_exactly_the_fitted_parts(shop):
    result = selectors.part_search_by_vehicle(variant_id=shop.avanza.pk)
    assert ids(result.parts) == ids([shop.pad_oe, shop.pad_bendix, shop.pad_akebono, shop.disc, shop.plug,
                                     shop.oil_filter])
    assert len(list(result.parts)) == 6  # two positions of one pad are one result
    assert ids(selectors.part_search_by_vehicle(variant_id=shop.beat.pk).parts) == {shop.plug.pk, shop.battery.pk}


def test_vehicle_search_category_filter_includes_subcategories(shop):
    brakes = selectors.part_search_by_vehicle(variant_id=shop.avanza.pk, category_id=shop.rem.pk)
    assert ids(brakes.parts) == ids([shop.pad_oe, shop.pad_bendix, shop.pad_akebono, shop.disc])
    pads = selectors.part_search_by_vehicle(variant_id=shop.avanza.pk, category_id=shop.kampas_rem.pk,
                                            brand_id=shop.toyota.pk)
    assert ids(pads.parts) == {shop.pad_oe.pk}


def test_a_part_moved_to_another_category_is_listed_under_it_on_every_vehicle_page(shop):
    # The pages read the category from fitment (Fitment.part_category_id), not from the part.
    services.part_update(part=shop.disc, data={"category": shop.busi})

    def page(category, **criteria):
        return {row.id for row in selectors.part_rows_by_vehicle(
            variant_id=shop.avanza.pk, category_ids=selectors.category_descendant_ids(category_id=category.pk),
            brand_id=None, limit=50, **criteria)}

    assert page(shop.rem) == ids([shop.pad_oe, shop.pad_bendix, shop.pad_akebono])
    assert page(shop.busi) == ids([shop.plug, shop.disc])
    assert page(shop.busi, after_id=min(shop.plug.pk, shop.disc.pk)) == {max(shop.plug.pk, shop.disc.pk)}
    moved = selectors.part_search_by_vehicle(variant_id=shop.avanza.pk, category_id=shop.busi.pk)
    assert ids(moved.parts) == ids([shop.plug, shop.disc])
    assert selectors.VehicleParts(variant_id=shop.avanza.pk, category_ids=[shop.busi.pk], brand_id=None).count() == 2


def test_facet_counts(shop):
    facets = selectors.part_search_by_vehicle(variant_id=shop.avanza.pk).facets
    assert {f.name: f.count for f in facets.categories} == {"Kampas Rem": 3, "Cakram": 1, "Busi": 1,
                                                            "Filter Oli": 1}
    assert {f.name: f.count for f in facets.brands} == {"Toyota Genuine Parts": 3, "Bendix": 1, "Akebono": 1,
                                                        "NGK": 1}
    assert facets.categories[0].parent_id == shop.rem.pk


def test_facets_count_each_dimension_under_the_other_filter(shop):
    facets = selectors.part_search_by_vehicle(variant_id=shop.avanza.pk, category_id=shop.rem.pk,
                                              brand_id=shop.toyota.pk).facets
    # Categories under the brand filter, brands under the category filter.
    assert {f.name: f.count for f in facets.categories} == {"Kampas Rem": 1, "Cakram": 1, "Filter Oli": 1}
    assert {f.name: f.count for f in facets.brands} == {"Toyota Genuine Parts": 2, "Bendix": 1, "Akebono": 1}


def test_words_facets_count_the_searchs_own_words_query(shop):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        search = selectors.part_search(q="kampas rem", variant_id=shop.avanza.pk)
        facets = search.facets
    # The words search chooses its step (full text, else a typo) by the step's first ranked rows (no
    # EXISTS before them): once, not again for the facets.
    steps = [q["sql"] for q in ctx.captured_queries if "search_vector" in q["sql"] and "LIMIT" in q["sql"]]
    assert len(steps) == 1 and "ts_rank" in steps[0] and "LIMIT 21" in steps[0]
    # Ranked on the narrow search documents, not on catalog_part's rows.
    assert "FROM catalog_partsearchdocument p WHERE" in steps[0] and "FROM catalog_part p WHERE" not in steps[0]
    assert facets == selectors.part_facets_for_vehicle(variant_id=shop.avanza.pk, q="kampas rem")
    assert facets.categories


def test_an_unknown_category_finds_nothing(shop):
    assert not selectors.part_search_by_vehicle(variant_id=shop.avanza.pk, category_id=987654).parts.exists()


# --- by number ----------------------------------------------------------------------------

def kinds(lookup) -> dict[int, str]:
    return {m.part.pk: m.kind for m in lookup.matches}


@pytest.mark.parametrize("typed", ["04465-0K240", "044650k240", "04465 0K240"])
def test_lookup_by_an_oe_number_finds_every_interchangeable_part(shop, typed):
    lookup = selectors.part_lookup_by_number(number=typed)
    assert lookup.number_key == "044650K240"
    # One hop from the typed number: Akebono names only the Daihatsu number, which the
    # Toyota part does not carry, so it is found from Bendix's number (next test), not here.
    assert kinds(lookup) == {
        shop.pad_oe.pk: MatchKind.EXACT,
        shop.pad_bendix.pk: MatchKind.INTERCHANGEABLE,  # cross-references the OE number
        shop.pad_old_oe.pk: MatchKind.SUPERSEDED_BY,    # the older number it replaced
    }
    assert lookup.matches[0].part == shop.pad_oe


def test_lookup_by_an_aftermarket_number_leads_through_its_oe_numbers_to_the_others(shop):
    lookup = selectors.part_lookup_by_number(number="db-1835")
    assert kinds(lookup) == {
        shop.pad_bendix.pk: MatchKind.EXACT,
        shop.pad_oe.pk: MatchKind.INTERCHANGEABLE,       # Bendix's Toyota cross reference is its number
        shop.pad_akebono.pk: MatchKind.INTERCHANGEABLE,  # Akebono shares Bendix's Daihatsu cross reference
    }


def test_lookup_by_a_superseded_number_follows_the_chain_to_the_current_part_and_its_equivalents(shop):
    newest = PartFactory(brand=shop.toyota, category=shop.kampas_rem, number="04465-0K290")
    from catalog import services

    services.part_supersede(old=shop.pad_oe, new=newest)
    lookup = selectors.part_lookup_by_number(number="04465-0K090")
    found = kinds(lookup)
    assert found[shop.pad_old_oe.pk] == MatchKind.EXACT
    assert found[shop.pad_oe.pk] == MatchKind.SUPERSEDES
    assert found[newest.pk] == MatchKind.SUPERSEDES
    assert found[shop.pad_bendix.pk] == MatchKind.INTERCHANGEABLE  # fits what replaced the old number
    assert {m.via_id for m in lookup.matches if m.kind == MatchKind.SUPERSEDES} == {shop.pad_old_oe.pk}
    assert lookup.matches[0].kind == MatchKind.EXACT


def test_a_number_known_only_as_a_cross_reference_finds_the_parts_that_carry_it(shop):
    lookup = selectors.part_lookup_by_number(number="04465BZ010")
    assert kinds(lookup) == {shop.pad_bendix.pk: MatchKind.INTERCHANGEABLE,
                             shop.pad_akebono.pk: MatchKind.INTERCHANGEABLE}


def test_close_numbers_only_when_nothing_matches(shop):
    lookup = selectors.part_lookup_by_number(number="04465-0K24")
    assert lookup.matches and all(m.kind == MatchKind.SIMILAR for m in lookup.matches)
    assert lookup.matches[0].part == shop.pad_oe and lookup.matches[0].similarity >= 0.4
    assert selectors.part_lookup_by_number(number="ZZZZ-9999").matches == []
    assert selectors.part_lookup_by_number(number="--").matches == []


def test_lookup_is_bounded(shop):
    lookup = selectors.part_lookup_by_number(number="04465-0K240", limit=2)
    assert len(lookup.matches) == 2 and lookup.truncated


# --- by words -----------------------------------------------------------------------------

PADS = {"pad_oe", "pad_bendix", "pad_akebono"}


def found(shop, q, **kwargs) -> set[str]:
    by_id = {getattr(shop, name).pk: name for name in
             ["pad_oe", "pad_old_oe", "pad_bendix", "pad_akebono", "disc", "plug", "oil_filter", "battery"]}
    return {by_id[p.pk] for p in selectors.part_search_by_words(q=q, **kwargs)}


@pytest.mark.parametrize("q", ["kampas rem", "Brake Pad", "brake pads", "dakron", "pad rem", "kampas rm",
                               "brake pda", "kmpas rem"])
def test_brake_pads_in_indonesian_english_and_with_typos(shop, q):
    assert found(shop, q) >= PADS
    assert not {"plug", "battery", "oil_filter"} & found(shop, q)


@pytest.mark.parametrize(("q", "expected"), [
    ("busi", {"plug"}), ("spark plug", {"plug"}), ("saringan olie", {"oil_filter"}), ("aki", {"battery"}),
    ("accu", {"battery"}), ("battery", {"battery"}), ("saringan oli", {"oil_filter"}),
    ("oil filter", {"oil_filter"}), ("ngk", {"plug"}), ("bkr6e", {"plug"}),
])
def test_other_categories_by_their_words(shop, q, expected):
    assert found(shop, q) == expected


def test_words_rank_the_names_above_the_category_words(shop):
    results = list(selectors.part_search_by_words(q="cakram"))
    assert results[0] == shop.disc


def test_words_with_vehicle_category_and_brand_filters(shop):
    assert found(shop, "rem", variant_id=shop.avanza.pk) == PADS | {"disc"}
    assert found(shop, "rem", category_id=shop.cakram.pk) == {"disc"}
    assert found(shop, "kampas rem", brand_id=shop.bendix.pk) == {"pad_bendix"}
    assert found(shop, "busi", variant_id=shop.beat.pk) == {"plug"}
    assert found(shop, "kampas rem", variant_id=shop.beat.pk) == set()


def test_nonsense_and_empty_queries_find_nothing(shop):
    assert found(shop, "qwxzv") == set()
    assert found(shop, "  !! ") == set()


# --- what interchanges with a part (its page) -------------------------------------------------

@pytest.mark.parametrize("part_name", ["pad_oe", "pad_bendix", "pad_akebono", "pad_old_oe"])
def test_a_parts_interchangeable_parts_are_what_the_number_search_lists_with_it(shop, part_name):
    part = getattr(shop, part_name)
    listed = {m.part.pk for m in selectors.part_interchangeable(part=part).matches}
    searched = {m.part.pk for m in selectors.part_lookup_by_number(number=part.number).matches
                if m.kind in (MatchKind.EXACT, MatchKind.INTERCHANGEABLE)} - {part.pk}
    assert listed == searched


def test_the_oe_part_lists_the_aftermarket_parts_that_name_its_number(shop):
    # The OE part carries no cross reference itself: Bendix names its number.
    assert not shop.pad_oe.cross_references.exists()
    assert [m.part for m in selectors.part_interchangeable(part=shop.pad_oe).matches] == [shop.pad_bendix]
    assert {m.part for m in selectors.part_interchangeable(part=shop.pad_bendix).matches} == {
        shop.pad_oe, shop.pad_akebono}
    detail = selectors.part_detail(part_id=shop.pad_oe.pk)
    assert detail.interchangeable_parts == [shop.pad_bendix]


def test_interchangeable_parts_are_bounded(shop):
    for index in range(4):
        bendix = PartFactory(brand=shop.bendix, category=shop.kampas_rem, number=f"DB9{index:03d}")
        services.cross_reference_add(part=bendix, brand_name="Toyota", number="04465-0K240", is_oe=True)
    lookup = selectors.part_interchangeable(part=shop.pad_oe, limit=3)
    assert len(lookup.matches) == 3 and lookup.truncated
    assert not selectors.part_interchangeable(part=shop.pad_oe, limit=5).truncated


@pytest.mark.parametrize("typed", ["04465-0K240", "0446 50K240", "04465 0K240", "04465.0k/240", " 044650k240 "])
def test_stored_and_searched_numbers_share_one_key(shop, typed):
    assert part_number_normalise(typed) == shop.pad_oe.number_key == "044650K240"
    assert selectors.part_lookup_by_number(number=typed).matches[0].part == shop.pad_oe


def test_facets_are_ordered_by_count_then_name_as_python_compares_then_id(db):
    # Names a locale's collation orders differently from code points ("apa" < "Busi" < "busi" there).
    variant = VehicleVariantFactory()
    categories = [CategoryFactory(name_id=name) for name in ("busi", "apa", "Busi", "Ékor", "Zeta", "zeta")]
    brands = [BrandFactory(name=name, slug=f"brand-{index}")
              for index, name in enumerate(("bosch", "Aisin", "Bosch", "Ékor", "aisin"))]
    for index, (category, brand) in enumerate(zip(categories, brands * 2, strict=False)):
        for _ in range(1 + (index == 5)):  # two parts of "zeta" by "bosch": first in both facets
            FitmentFactory(part=PartFactory(category=category, brand=brand), variant=variant)
    expected_categories = ["zeta", "Busi", "Zeta", "apa", "busi", "Ékor"]
    expected_brands = ["bosch", "Aisin", "Bosch", "aisin", "Ékor"]
    for facets in (selectors.part_search_by_vehicle(variant_id=variant.pk).facets,
                   selectors.part_facets_for_vehicle(variant_id=variant.pk, q="suku cadang")):
        assert [f.name for f in facets.categories] == expected_categories
        assert [f.name for f in facets.brands] == expected_brands
        assert [f.count for f in facets.categories] == [2, 1, 1, 1, 1, 1]
        assert sorted(facets.categories, key=lambda f: (-f.count, f.name, f.id)) == facets.categories
        assert sorted(facets.brands, key=lambda f: (-f.count, f.name, f.id)) == facets.brands


@pytest.mark.parametrize(("q", "match"), [("busi iridium", "full_text"), ("busii", "similar_category")])
def test_ranked_words_page_as_the_ranked_query_does(shop, q, match):
    # part_search reads the first ranked rows once (the demand check and the first page share
    # them) and every other slice on its own: the same parts, order and ranking fields.
    from tests.catalog.factories import parts_bulk

    parts_bulk(brand=shop.ngk, category=shop.busi, count=45, name_id="Busi Iridium", name_en="Iridium plug")
    search = selectors.part_search(q=q)
    expected = list(selectors.part_search_by_words(q=q).values_list("pk", "match", "rank", "similarity"))
    assert len(expected) > 2 * selectors.DEMAND_SAMPLE and expected[0][1] == match
    assert search.parts.count() == len(expected) == len(search.parts)
    for start, stop in ((0, 21), (0, 5), (3, 10), (20, 41), (21, 30), (40, 100), (0, 100)):
        page = search.parts[start:stop]
        assert [(p.pk, p.match, p.rank, p.similarity) for p in page] == expected[start:stop]
        assert all(p.brand.name == "NGK" and p.category_id == shop.busi.pk for p in page)
        # The API's plain rows (one statement per slice): the same parts, ranking fields and types.
        rows = search.parts.as_rows()[start:stop]
        assert [(r.pk, r.match, r.rank, r.similarity) for r in rows] == expected[start:stop]
        assert [type(r.rank) for r in rows] == [type(p.rank) for p in page]
        assert all(isinstance(r, selectors.RankedPartRow) and r.part.brand_name == "NGK"
                   and r.part.category_id == shop.busi.pk for r in rows)
