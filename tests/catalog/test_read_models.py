"""The catalog's read-model checks (catalog.read_models): exact after the services write, and
each kind of corruption of a stored row (a count off, a row gone, a row too many, a stale
category on fitment, a stale search document) is found, counted and shown."""

from __future__ import annotations

import pytest
from django.db.models import F

from catalog import services
from catalog.models import Fitment, Part, PartSearchDocument, VariantFacet
from catalog.read_models import (
    catalog_read_models_check,
    fitment_part_category_check,
    part_search_document_check,
    part_search_text_check,
    variant_facet_check,
)
from tests.catalog.factories import BrandFactory, CategoryFactory, PartFactory, VehicleVariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fitted():
    avanza, xenia = VehicleVariantFactory(), VehicleVariantFactory()
    brakes = CategoryFactory(name_id="Kampas rem", name_en="Brake pads")
    pad = PartFactory(category=brakes, brand=BrandFactory(name="Bendix"), name_en="Front brake pads")
    shoe = PartFactory(category=brakes)
    services.fitment_set(part=pad, fitments=[{"variant": avanza, "position": "front"},
                                             {"variant": avanza, "position": "rear"}, {"variant": xenia}])
    services.fitment_set(part=shoe, fitments=[{"variant": avanza}])
    return avanza, xenia, pad, shoe


def test_what_the_services_wrote_is_exact(fitted):
    checks = catalog_read_models_check()
    assert [(check.ok, check.rows) for check in checks] == [(True, 3), (True, 4), (True, 2), (True, 2)]
    assert str(checks[0]) == "facet counts per variant (catalog_variantfacet): OK (3 rows)"


def test_a_facet_count_off_by_one_a_missing_and_an_extra_row_are_each_found(fitted):
    avanza, xenia, pad, _shoe = fitted
    VariantFacet.objects.filter(variant_id=avanza.pk).update(parts=F("parts") + 1)
    check = variant_facet_check()
    assert (check.ok, check.differing, check.missing, check.extra) == (False, 2, 0, 0)
    example = check.examples[0]
    assert example.kind == "differs" and example.key["variant_id"] == avanza.pk
    assert set(example.stored) == {"parts"} and example.stored["parts"] == example.expected["parts"] + 1
    assert f"variant_id={avanza.pk}" in str(check) and "2 differing" in str(check)

    VariantFacet.objects.filter(variant_id=xenia.pk).delete()
    VariantFacet.objects.create(variant_id=xenia.pk, category_id=pad.category_id, brand_id=pad.brand_id + 1000,
                                parts=1)
    check = variant_facet_check()
    assert (check.differing, check.missing, check.extra, check.differences) == (2, 1, 1, 4)
    assert [e.kind for e in check.examples] == ["missing", "extra", "differs", "differs"]
    assert check.examples[0].expected == {"parts": 1} and check.examples[1].stored == {"parts": 1}


def test_a_stale_or_missing_search_document_is_found(fitted):
    _avanza, _xenia, pad, shoe = fitted
    Part.objects.filter(pk=pad.pk).update(name_en="Rear brake shoes")  # around the service
    Part.objects.filter(pk=shoe.pk).update(search_text="")
    check = part_search_text_check()
    assert (check.ok, check.differing, check.missing, check.extra) == (False, 2, 0, 0)
    by_part = {e.key["id"]: e for e in check.examples}
    assert set(by_part[pad.pk].stored) == {"search_text"}
    assert "rear brake shoes" in by_part[pad.pk].expected["search_text"]
    assert by_part[shoe.pk].stored == {"search_text": ""}

    check = part_search_document_check()
    assert (check.ok, check.differing, check.missing, check.extra) == (False, 1, 0, 0)
    assert check.examples[0].key == {"id": pad.pk} and set(check.examples[0].stored) == {"search_vector"}
    assert "'shoes'" in check.examples[0].expected["search_vector"]

    services.part_search_document_refresh(part_ids=[pad.pk, shoe.pk])
    assert part_search_document_check().ok and part_search_text_check().ok


def test_a_search_document_missing_or_on_another_category_or_brand_is_found(fitted):
    _avanza, _xenia, pad, shoe = fitted
    PartSearchDocument.objects.filter(pk=shoe.pk).delete()
    PartSearchDocument.objects.filter(pk=pad.pk).update(brand_id=F("brand_id") + 1000)
    check = part_search_document_check()
    assert (check.ok, check.differing, check.missing, check.extra) == (False, 1, 1, 0)
    assert [(e.kind, e.key["id"]) for e in check.examples] == [("missing", shoe.pk), ("differs", pad.pk)]
    assert check.examples[1].stored == {"brand_id": pad.brand_id + 1000}
    assert check.examples[1].expected == {"brand_id": pad.brand_id}

    services.part_search_document_refresh(part_ids=[pad.pk, shoe.pk])
    assert part_search_document_check().ok


def test_a_part_moved_to_another_category_moves_its_fitment_and_a_stale_row_is_found(fitted):
    avanza, _xenia, pad, shoe = fitted
    discs = CategoryFactory(name_id="Cakram", name_en="Brake discs")

    services.part_update(part=pad, data={"category": discs})

    assert set(Fitment.objects.filter(part=pad).values_list("part_category_id", flat=True)) == {discs.pk}
    assert set(Fitment.objects.filter(part=shoe).values_list("part_category_id", flat=True)) == {shoe.category_id}
    assert all(check.ok for check in catalog_read_models_check())

    Part.objects.filter(pk=shoe.pk).update(category=discs)  # around the service
    check = fitment_part_category_check()
    assert (check.ok, check.differing, check.missing, check.extra) == (False, 1, 0, 0)
    example = check.examples[0]
    assert example.stored == {"part_category_id": shoe.category_id}
    assert example.expected == {"part_category_id": discs.pk}
    assert example.key == {"id": Fitment.objects.get(part=shoe, variant=avanza).pk}

    assert services.fitment_part_category_refresh(part_ids=[shoe.pk, pad.pk]) == 1
    assert fitment_part_category_check().ok
