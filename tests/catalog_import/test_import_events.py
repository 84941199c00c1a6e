"""The import's part events have the shape of a single change's (catalog.events builds both)."""

from __future__ import annotations

from catalog import services
from catalog.imports import catalog_import
from catalog.models import Part
from okto88.models import OutboxEvent
from tests.catalog_import.csv_files import GOOD_PARTS, csv_bytes, parts_csv
from tests.catalog_import.test_services_import import FITMENT_HEADER, import_parts


def last_event(part: Part) -> OutboxEvent:
    return OutboxEvent.objects.filter(aggregate_id=str(part.pk)).order_by("-id").first()


def test_an_imported_and_a_created_part_write_the_same_fields(catalog, django_user_model):
    member = django_user_model.objects.create_user("importer@example.com", password="x")
    import_parts(GOOD_PARTS, actor=member)
    imported = last_event(Part.objects.get(number_key="044650K240"))
    created = last_event(services.part_create(brand=catalog.toyota, category=catalog.brake_pads,
                                              number="04465-0K999", name_id="Kampas"))
    assert imported.topic == created.topic == "part.created"
    assert list(imported.payload) == list(created.payload)
    assert (imported.payload["source"], imported.payload["actor_id"]) == ("import", member.pk)
    assert (created.payload["source"], created.payload["actor_id"]) == ("service", None)
    assert imported.schema_version == created.schema_version == 1


def test_an_imported_supersession_names_the_new_number_as_part_supersede_does(catalog):
    import_parts(parts_csv("Toyota,04465-0K240,kampas-rem,Kampas lama,Old pad,850,,,,,,",
                           "Toyota,04465-0K300,kampas-rem,Kampas baru,New pad,850,,,,,,"))
    import_parts(parts_csv("Toyota,04465-0K240,kampas-rem,Kampas lama,Old pad,850,,,,superseded,044650K300,"))
    old, new = Part.objects.get(number_key="044650K240"), Part.objects.get(number_key="044650K300")
    imported = last_event(old)
    assert imported.topic == "part.superseded"
    assert (imported.payload["new_part_id"], imported.payload["new_number"]) == (new.pk, "04465-0K300")
    other = services.part_create(brand=catalog.toyota, category=catalog.brake_pads, number="04465-0K111",
                                 name_id="Kampas")
    supersede = last_event(services.part_supersede(old=other, new=new))
    assert list(supersede.payload) == list(imported.payload)
    assert supersede.payload["changed"] == imported.payload["changed"] == ["status", "superseded_by"]


def test_imported_fitment_lists_every_variant_the_part_fits_as_fitment_set_does(catalog):
    import_parts(GOOD_PARTS)
    pad = Part.objects.get(number_key="044650K240")
    services.fitment_set(part=pad, fitments=[{"variant_id": catalog.avanza_2019.pk, "position": "front"}])
    by_service = last_event(pad)
    report = catalog_import(kind="fitment", file=csv_bytes(
        FITMENT_HEADER, "Toyota,04465-0K240,Toyota,Avanza,1.3 E M/T,2022,front,2,"))
    assert report.ok, report.errors
    imported = last_event(pad)
    assert imported.topic == by_service.topic == "part.fitment_changed"
    assert list(imported.payload) == list(by_service.payload)
    assert imported.payload["variant_ids"] == sorted([catalog.avanza_2019.pk, catalog.avanza_2022.pk])
    assert (imported.payload["added_variant_ids"], imported.payload["removed_variant_ids"]) == (
        [catalog.avanza_2022.pk], [])
