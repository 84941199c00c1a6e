"""Part services: number keys, versions and outbox events, supersession, cross references,
fitment and the search document."""

from __future__ import annotations

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import transaction

from catalog import services
from catalog.errors import (
    DuplicatePart,
    InvalidCategory,
    InvalidFitment,
    InvalidPartNumber,
    SupersessionCycle,
    UnknownVariant,
)
from catalog.models import CrossReference, Fitment, Part, PartSearchDocument, PartStatus
from catalog.normalise import part_number_normalise
from catalog.read_models import part_search_document_check, part_search_text_check
from okto88.models import OutboxEvent
from tests.catalog.factories import BrandFactory, CategoryFactory, PartFactory, VehicleVariantFactory

pytestmark = pytest.mark.django_db


def events_of(part: Part) -> list[tuple[str, int]]:
    return list(OutboxEvent.objects.filter(aggregate_type="part", aggregate_id=str(part.pk))
                .order_by("id").values_list("topic", "version"))


@pytest.mark.parametrize("number", ["04465-0K240", "044650k240", "04465 0K240", " 04465.0k-240 ", "04465/0K240"])
def test_every_spelling_of_a_number_has_one_key(number):
    assert part_number_normalise(number) == "044650K240"


@pytest.mark.parametrize(("number", "key"), [("BKR6E-11", "BKR6E11"), ("cpr8ea-9", "CPR8EA9"), ("---", ""),
                                             ("0 986 494 123", "0986494123"), ("ÄB-1", "B1")])
def test_normalisation_keeps_only_ascii_letters_and_digits(number, key):
    assert part_number_normalise(number) == key


def test_part_create_stores_the_key_the_search_document_and_a_first_event():
    category = CategoryFactory(name_id="Kampas Rem", name_en="Brake pads", synonyms="kampas rem, brake pad, dakron")
    part = services.part_create(brand=BrandFactory(name="Bendix"), category=category, number="db-1835 ",
                                name_id="Kampas Rem Depan Avanza", name_en="Front brake pads Avanza")
    part.refresh_from_db()
    assert (part.number, part.number_key, part.version) == ("db-1835", "DB1835", 1)
    assert "dakron" in part.search_text and "bendix" in part.search_text
    assert Part.objects.filter(pk=part.pk,
                               search_document__search_vector=SearchQuery("dakron", config="simple")).exists()
    assert events_of(part) == [("part.created", 1)]
    payload = OutboxEvent.objects.get(aggregate_id=str(part.pk)).payload
    assert payload["number_key"] == "DB1835" and payload["version"] == 1


def test_the_same_number_in_another_spelling_is_a_duplicate_for_the_brand_only():
    brand = BrandFactory()
    PartFactory(brand=brand, number="04465-0K240")
    with pytest.raises(DuplicatePart):
        PartFactory(brand=brand, number="044650k240")
    PartFactory(number="04465 0K240")  # another brand may use the same number


def test_a_number_without_letters_or_digits_is_refused():
    with pytest.raises(InvalidPartNumber):
        PartFactory(number="--")


def test_update_bumps_the_version_and_writes_an_event_per_real_change():
    part = PartFactory(name_id="Busi")
    part = services.part_update(part=part, data={"name_id": "Busi Iridium", "weight_g": 70})
    assert part.version == 2
    part = services.part_update(part=part, data={"name_id": "Busi Iridium"})  # nothing changes
    part = services.part_update(part=part, data={"number": "BKR6E-11"})
    part.refresh_from_db()
    assert (part.version, part.number_key) == (3, "BKR6E11")
    assert events_of(part) == [("part.created", 1), ("part.updated", 2), ("part.updated", 3)]
    last = OutboxEvent.objects.filter(aggregate_id=str(part.pk)).last()
    assert last.payload["changed"] == ["number"]


def test_update_refreshes_the_search_document():
    part = PartFactory(name_id="Aki kering")
    services.part_update(part=part, data={"name_en": "Maintenance free battery"})
    assert Part.objects.filter(pk=part.pk,
                               search_document__search_vector=SearchQuery("battery", config="simple")).exists()


def test_update_to_a_number_the_brand_already_has_is_refused():
    brand = BrandFactory()
    PartFactory(brand=brand, number="A-1")
    other = PartFactory(brand=brand, number="A-2")
    with pytest.raises(DuplicatePart):
        services.part_update(part=other, data={"number": "a1"})


def test_update_refuses_fields_that_have_their_own_service():
    with pytest.raises(services.ApplicationError):
        services.part_update(part=PartFactory(), data={"superseded_by": None})


def test_a_rolled_back_change_leaves_no_event_and_no_version():
    part = PartFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.part_update(part=part, data={"name_id": "Nama baru"})
        raise RuntimeError("the caller failed after the service")
    part.refresh_from_db()
    assert (part.version, part.name_id) == (1, "Suku cadang")
    assert events_of(part) == [("part.created", 1)]


def test_supersede_marks_the_old_part_and_writes_an_event():
    old, new = PartFactory(number="04465-0K090"), PartFactory(number="04465-0K240")
    old = services.part_supersede(old=old, new=new)
    old.refresh_from_db()
    assert (old.status, old.superseded_by_id, old.version) == (PartStatus.SUPERSEDED, new.pk, 2)
    assert events_of(old) == [("part.created", 1), ("part.superseded", 2)]
    assert OutboxEvent.objects.filter(topic="part.superseded").get().payload["new_part_id"] == new.pk
    services.part_supersede(old=old, new=new)  # again: nothing changes
    assert events_of(old)[-1] == ("part.superseded", 2)


def test_supersession_cycles_are_refused():
    a, b, c = PartFactory(), PartFactory(), PartFactory()
    services.part_supersede(old=a, new=b)
    services.part_supersede(old=b, new=c)
    with pytest.raises(SupersessionCycle):
        services.part_supersede(old=c, new=a)
    with pytest.raises(SupersessionCycle):
        services.part_supersede(old=c, new=c)
    c.refresh_from_db()
    assert c.superseded_by_id is None and c.version == 1


def test_cross_reference_add_normalises_is_idempotent_and_bumps_the_version():
    part = PartFactory()
    services.cross_reference_add(part=part, brand_name="Toyota", number="04465-0K240", is_oe=True)
    services.cross_reference_add(part=part, brand_name="Toyota", number="044650k240", is_oe=True)
    assert list(CrossReference.objects.filter(part=part).values_list("number_key", flat=True)) == ["044650K240"]
    part.refresh_from_db()
    assert part.version == 2
    assert events_of(part) == [("part.created", 1), ("part.updated", 2)]


def test_fitment_set_replaces_the_list_and_writes_one_event():
    part = PartFactory()
    avanza, xenia, rush = VehicleVariantFactory(), VehicleVariantFactory(), VehicleVariantFactory()
    services.fitment_set(part=part, fitments=[{"variant": avanza, "position": "front", "quantity": 1},
                                              {"variant_id": xenia.pk, "position": "front"}])
    services.fitment_set(part=part, fitments=[{"variant_id": xenia.pk, "position": "front"},
                                              {"variant_id": rush.pk, "position": "front", "quantity": 2}])
    rows = set(Fitment.objects.filter(part=part).values_list("variant_id", "position", "quantity"))
    assert rows == {(xenia.pk, "front", 1), (rush.pk, "front", 2)}
    services.fitment_set(part=part, fitments=[services.FitmentSpec(variant_id=xenia.pk, position="front"),
                                              services.FitmentSpec(variant_id=rush.pk, position="front",
                                                                   quantity=2)])
    assert events_of(part) == [("part.created", 1), ("part.fitment_changed", 2), ("part.fitment_changed", 3)]
    last = OutboxEvent.objects.filter(aggregate_id=str(part.pk)).last().payload
    assert last["added_variant_ids"] == [rush.pk] and last["removed_variant_ids"] == [avanza.pk]


def test_fitment_set_refuses_unknown_variants_and_positions_without_changing_anything():
    part = PartFactory()
    with pytest.raises(UnknownVariant):
        services.fitment_set(part=part, fitments=[{"variant_id": 987654321}])
    with pytest.raises(InvalidFitment):
        services.fitment_set(part=part, fitments=[{"variant_id": VehicleVariantFactory().pk, "position": "roof"}])
    assert not Fitment.objects.filter(part=part).exists() and events_of(part) == [("part.created", 1)]


def test_renaming_a_category_refreshes_its_parts_and_the_parts_below_it():
    parent = CategoryFactory(name_id="Rem", name_en="Brakes")
    child = CategoryFactory(parent=parent, name_id="Kampas Rem", name_en="Brake pads")
    part = PartFactory(category=child)
    parent.name_en = "Braking system"
    services.category_save(category=parent)
    part.refresh_from_db()
    assert "braking system" in part.search_text


def test_a_full_refresh_writes_new_documents_side_by_side_by_brand_and_category():
    from django.db import connection

    from tests.catalog.factories import parts_bulk

    def stored() -> list[tuple]:  # in the table's physical order, with each row's place
        with connection.cursor() as cursor:
            cursor.execute("SELECT ctid::text AS place, brand_id, category_id, id FROM catalog_partsearchdocument "
                           "ORDER BY ctid")
            return cursor.fetchall()

    brands, categories = [BrandFactory(), BrandFactory()], [CategoryFactory(), CategoryFactory()]
    # Created so that neither the part ids nor the rows' creation order follow the brand.
    pairs = [(categories[1], brands[1]), (categories[0], brands[1]), (categories[1], brands[0]),
             (categories[0], brands[0])]
    parts = [part for index, (category, brand) in enumerate(pairs)
             for part in parts_bulk(brand=brand, category=category, count=3, prefix=f"P{index}")]
    with connection.cursor() as cursor:  # emptied as the bench generator does (its TRUNCATE)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending foreign-key checks
        cursor.execute("TRUNCATE catalog_partsearchdocument")
    assert services.part_search_document_refresh() == len(parts)
    written = stored()
    assert [row[1:] for row in written] == sorted((p.brand_id, p.category_id, p.pk) for p in parts)
    assert services.part_search_document_refresh() == len(parts)
    assert stored() == written  # nothing changed, nothing rewritten


def test_a_category_cannot_be_moved_under_itself():
    parent = CategoryFactory()
    child = CategoryFactory(parent=parent)
    parent.parent = child
    with pytest.raises(InvalidCategory):
        services.category_save(category=parent)


def test_search_document_refresh_is_one_statement_for_many_parts(django_assert_num_queries):
    from tests.catalog.factories import parts_bulk

    ngk, plugs = BrandFactory(name="NGK"), CategoryFactory(synonyms="busi, spark plug")
    parts = parts_bulk(brand=ngk, category=plugs, count=50)
    Part.objects.filter(pk__in=[p.pk for p in parts]).update(search_text="")
    PartSearchDocument.objects.filter(part__in=parts[:20]).delete()
    PartSearchDocument.objects.filter(part__in=parts[20:30]).update(category_id=0, brand_id=0)
    with django_assert_num_queries(1):
        assert services.part_search_document_refresh(part_ids=[p.pk for p in parts]) == 50
    assert Part.objects.filter(search_text__contains="spark plug").count() == 50
    documents = PartSearchDocument.objects.filter(part__in=parts, category_id=plugs.pk, brand_id=ngk.pk,
                                                  search_vector=SearchQuery("spark & plug", config="simple"))
    assert documents.count() == 50
    assert part_search_document_check().ok and part_search_text_check().ok
