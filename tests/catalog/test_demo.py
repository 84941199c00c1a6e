"""Demo data: deterministic, idempotent, and searchable the way the issue describes."""

from __future__ import annotations

import pytest

from catalog import demo, selectors
from catalog.models import CrossReference, Fitment, Part
from tests.read_models import assert_read_models_exact
from vehicles import demo as vehicles_demo
from vehicles.models import VehicleVariant

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(db):
    vehicles_demo.demo_load()
    return demo.demo_load()


def counts() -> tuple[int, int, int, int]:
    return (Part.objects.count(), Fitment.objects.count(), CrossReference.objects.count(),
            Part.objects.filter(superseded_by__isnull=False).count())


def test_demo_loads_a_few_thousand_parts_once(loaded):
    first = counts()
    assert first[0] >= 2000 and first[1] >= first[0] and first[2] > 1000 and first[3] > 10
    numbers = sorted(Part.objects.values_list("brand__name", "number"))
    assert demo.demo_load() == loaded
    assert counts() == first
    assert sorted(Part.objects.values_list("brand__name", "number")) == numbers
    assert not Part.objects.filter(search_text="").exists()
    assert_read_models_exact()


def test_demo_catalog_answers_the_three_searches(loaded):
    lookup = selectors.part_lookup_by_number(number="044650k240")
    assert lookup.matches[0].kind == "exact" and lookup.matches[0].part.brand.name == "Toyota Genuine Parts"
    assert {m.part.brand.name for m in lookup.matches if m.kind == "interchangeable"} >= {"Bendix", "Aisin"}
    for q, category in [("kampas rem", "kampas-rem"), ("brake pad", "kampas-rem"), ("kampas rm", "kampas-rem"),
                        ("busi", "busi"), ("aki", "aki"), ("saringan oli", "filter-oli")]:
        top = list(selectors.part_search_by_words(q=q)[:10])
        assert top and all(p.category.slug == category for p in top), q
    avanza = VehicleVariant.objects.filter(model__name="Avanza").first()
    search = selectors.part_search_by_vehicle(variant_id=avanza.pk)
    assert search.parts.count() > 10 and len(search.facets.categories) > 5 and len(search.facets.brands) > 5
