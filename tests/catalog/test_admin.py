"""Staff admin: pages load, searches work, and saving goes through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.models import CrossReference, Fitment, Part
from okto88.models import OutboxEvent
from tests.catalog.factories import BrandFactory, CategoryFactory, PartFactory, VehicleVariantFactory
from tests.platform.factories import OperatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(OperatorFactory())
    return client


def part_form(part=None, **overrides) -> dict:
    data = {
        "brand": part.brand_id if part else "", "category": part.category_id if part else "",
        "number": part.number if part else "", "name_id": part.name_id if part else "",
        "name_en": part.name_en if part else "", "description": "", "attributes": "{}", "weight_g": 500,
        "length_mm": 0, "width_mm": 0, "height_mm": 0, "status": "active",
        "superseded_by": part.superseded_by_id or "" if part else "",
        "cross_references-TOTAL_FORMS": 0, "cross_references-INITIAL_FORMS": 0,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("model", ["brand", "category", "part", "crossreference", "fitment"])
def test_changelists_and_searches_load(staff, shop, model):
    url = reverse(f"admin:catalog_{model}_changelist")
    assert staff.get(url).status_code == 200
    assert staff.get(url, {"q": "04465-0k240"}).status_code == 200
    assert staff.get(reverse(f"admin:catalog_{model}_add")).status_code == 200


def test_part_search_finds_any_spelling_of_the_number_and_words(staff, shop):
    response = staff.get(reverse("admin:catalog_part_changelist"), {"q": "04465 0k240"})
    assert list(response.context["cl"].result_list) == [shop.pad_oe]
    response = staff.get(reverse("admin:catalog_part_changelist"), {"q": "Spark"})
    assert list(response.context["cl"].result_list) == [shop.plug]


def test_adding_a_part_in_admin_goes_through_the_service(staff):
    brand, category = BrandFactory(), CategoryFactory(synonyms="busi, spark plug")
    response = staff.post(reverse("admin:catalog_part_add"),
                          part_form(brand=brand.pk, category=category.pk, number="bkr6e", name_id="Busi"))
    assert response.status_code == 302, response.context["adminform"].errors if response.context else ""
    part = Part.objects.get(brand=brand)
    assert part.number_key == "BKR6E" and "spark plug" in part.search_text
    assert list(OutboxEvent.objects.filter(aggregate_id=str(part.pk)).values_list("topic", "version")) == [
        ("part.created", 1)]


def test_changing_a_part_in_admin_bumps_the_version_and_can_supersede(staff):
    part, successor = PartFactory(), PartFactory()
    url = reverse("admin:catalog_part_change", args=[part.pk])
    response = staff.post(url, part_form(part, name_id="Nama baru", superseded_by=successor.pk))
    assert response.status_code == 302
    part.refresh_from_db()
    assert (part.name_id, part.superseded_by_id, part.status, part.version) == (
        "Nama baru", successor.pk, "superseded", 3)
    topics = list(OutboxEvent.objects.filter(aggregate_id=str(part.pk)).values_list("topic", "version"))
    assert topics == [("part.created", 1), ("part.updated", 2), ("part.superseded", 3)]


def test_admin_refuses_a_duplicate_number_and_a_supersession_cycle(staff):
    brand = BrandFactory()
    taken, part = PartFactory(brand=brand, number="A-1"), PartFactory(brand=brand, number="A-2")
    response = staff.post(reverse("admin:catalog_part_change", args=[part.pk]), part_form(part, number="a1"))
    assert response.status_code == 200 and "number" in response.context["adminform"].form.errors
    from catalog import services

    services.part_supersede(old=taken, new=part)
    response = staff.post(reverse("admin:catalog_part_change", args=[part.pk]),
                          part_form(part, superseded_by=taken.pk))
    assert response.status_code == 200 and "superseded_by" in response.context["adminform"].form.errors


def test_cross_references_and_fitment_in_admin_go_through_the_services(staff):
    part = PartFactory()
    response = staff.post(reverse("admin:catalog_crossreference_add"),
                          {"part": part.pk, "brand_name": "Toyota", "number": "04465-0k240", "is_oe": "on"})
    assert response.status_code == 302
    assert CrossReference.objects.get(part=part).number_key == "044650K240"
    variant = VehicleVariantFactory()
    response = staff.post(reverse("admin:catalog_fitment_add"),
                          {"part": part.pk, "variant": variant.pk, "position": "front", "quantity": 2, "note": ""})
    assert response.status_code == 302
    fitment = Fitment.objects.get(part=part)
    response = staff.post(reverse("admin:catalog_fitment_delete", args=[fitment.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Fitment.objects.filter(part=part).exists()
    topics = list(OutboxEvent.objects.filter(aggregate_id=str(part.pk)).values_list("topic", "version"))
    assert topics == [("part.created", 1), ("part.updated", 2), ("part.fitment_changed", 3),
                      ("part.fitment_changed", 4)]
