"""The facet counts per variant (VariantFacet read model): every catalog write that changes
fitment, or the category or brand of a fitted part, leaves them equal to a rebuild from
fitment, and the facets of a search by vehicle are read from them."""

from __future__ import annotations

import pytest
from django.db import transaction

from catalog import selectors, services
from catalog.imports import catalog_import
from catalog.models import VariantFacet
from tests.catalog.factories import BrandFactory, CategoryFactory, PartFactory, VehicleVariantFactory

pytestmark = pytest.mark.django_db


def rows() -> set[tuple]:
    return set(VariantFacet.objects.values_list("variant_id", "category_id", "brand_id", "parts"))


def assert_equals_rebuild() -> None:
    maintained = rows()
    with transaction.atomic():
        services.variant_facet_rebuild()
        rebuilt = rows()
        transaction.set_rollback(True)
    assert maintained == rebuilt


def counts(variant, **filters) -> tuple[dict, dict]:
    facets = selectors.part_facets_for_vehicle(variant_id=variant.pk, **filters)
    return {f.id: f.count for f in facets.categories}, {f.id: f.count for f in facets.brands}


def test_fitment_category_delete_and_import_keep_the_counts():
    avanza, xenia = VehicleVariantFactory(), VehicleVariantFactory()
    brakes, plugs = CategoryFactory(), CategoryFactory()
    bosch, ngk = BrandFactory(), BrandFactory()
    pad = PartFactory(category=brakes, brand=bosch)
    shoe = PartFactory(category=brakes, brand=ngk)

    # Two positions on one vehicle are still one part.
    services.fitment_set(part=pad, fitments=[{"variant": avanza, "position": "front"},
                                             {"variant": avanza, "position": "rear"}, {"variant": xenia}])
    services.fitment_set(part=shoe, fitments=[{"variant": avanza}])
    assert counts(avanza) == ({brakes.pk: 2}, {bosch.pk: 1, ngk.pk: 1})
    assert counts(avanza, brand_id=ngk.pk, category_ids=[brakes.pk]) == ({brakes.pk: 1}, {bosch.pk: 1, ngk.pk: 1})
    assert_equals_rebuild()

    services.part_update(part=pad, data={"category": plugs})
    assert counts(avanza)[0] == {brakes.pk: 1, plugs.pk: 1}
    assert counts(xenia)[0] == {plugs.pk: 1}
    assert_equals_rebuild()

    services.fitment_set(part=pad, fitments=[{"variant": xenia}])
    assert counts(avanza) == ({brakes.pk: 1}, {ngk.pk: 1})
    services.part_delete(part=shoe)
    assert counts(avanza) == ({}, {})
    assert not VariantFacet.objects.filter(variant_id=avanza.pk).exists()
    assert_equals_rebuild()

    variant = avanza
    report = catalog_import(kind="fitment", file=(
        "brand,part_number,make,model,variant,year_from,position,quantity,note\n"
        f"{bosch.name},{pad.number},{variant.model.make.name},{variant.model.name},{variant.name},"
        f"{variant.year_from},front,1,\n").encode())
    assert report.ok, report.errors
    assert counts(avanza) == ({plugs.pk: 1}, {bosch.pk: 1})
    assert_equals_rebuild()
