"""catalog_import: all rows or none, set-based upserts, one event per changed part."""

from __future__ import annotations

import pytest

from catalog.errors import (
    CatalogImportEmptyFile,
    CatalogImportEncodingError,
    CatalogImportHeaderError,
    CatalogImportUnknownKind,
)
from catalog.imports import catalog_import
from catalog.models import CrossReference, Fitment, Part, PartStatus
from okto88.models import OutboxEvent
from tests.catalog_import.csv_files import GOOD_PARTS, catalog_state, csv_bytes, parts_csv

CROSSREFS_HEADER = "brand,part_number,ref_brand,ref_number,is_oe"
FITMENT_HEADER = "brand,part_number,make,model,variant,year_from,position,quantity,note"


def import_parts(data: bytes, **kwargs):
    return catalog_import(kind="parts", file=data, **kwargs)


# --- Parts ------------------------------------------------------------------------------


def test_a_good_file_creates_parts_with_normalised_keys_and_one_event_each(catalog):
    report = import_parts(GOOD_PARTS)

    assert report.ok and report.committed
    assert (report.total_rows, report.created, report.updated, report.unchanged) == (3, 3, 0, 0)
    parts = {p.number_key: p for p in Part.objects.select_related("brand")}
    assert set(parts) == {"044650K240", "ASN1234", "K16RU11"}
    pad = parts["044650K240"]
    assert (pad.brand, pad.number, pad.category, pad.version) == (catalog.toyota, "04465-0K240", catalog.brake_pads, 1)
    assert (pad.weight_g, pad.length_mm, pad.width_mm, pad.height_mm) == (850, 150, 60, 20)
    assert pad.attributes == {"axle": "front"}
    aisin = parts["ASN1234"]
    assert (aisin.brand, aisin.status, aisin.width_mm) == (catalog.aisin, PartStatus.ACTIVE, 0)
    events = list(OutboxEvent.objects.order_by("id"))
    assert [(e.topic, int(e.aggregate_id), e.version) for e in events] == [
        ("part.created", p.pk, 1) for p in sorted(parts.values(), key=lambda p: p.pk)
    ]
    assert events[0].payload["number_key"] == Part.objects.get(pk=events[0].aggregate_id).number_key
    # The search document was refreshed by the catalog's own statement.
    assert "kampas rem" in pad.search_text and pad.search_document.search_vector


def test_importing_the_same_file_again_changes_nothing(catalog):
    import_parts(GOOD_PARTS)
    before = catalog_state()

    report = import_parts(GOOD_PARTS)

    assert report.ok and report.committed
    assert (report.created, report.updated, report.unchanged, report.events) == (0, 0, 3, 0)
    assert catalog_state() == before


def test_the_same_number_written_differently_is_the_same_part(catalog):
    import_parts(GOOD_PARTS)

    report = import_parts(parts_csv(
        "TOYOTA,044650k240,kampas-rem,Kampas rem depan,Front brake pads,850,150,60,20,active,,"
        '"{""axle"": ""front""}"'
    ))

    part = Part.objects.get(number_key="044650K240")
    assert (report.created, report.updated) == (0, 1)
    assert (part.number, part.name_en, part.version) == ("044650k240", "Front brake pads", 2)
    event = OutboxEvent.objects.order_by("-id").first()
    assert (event.topic, event.version) == ("part.updated", 2)
    assert event.payload["changed"] == ["name_en", "number"]


def test_a_rejected_row_leaves_the_catalog_unchanged(catalog):
    import_parts(GOOD_PARTS)
    before = catalog_state()

    report = import_parts(parts_csv(
        "Toyota,04465-0K240,kampas-rem,Kampas rem depan,CHANGED,850,150,60,20,active,,",
        "Aisin,NEW-1,kampas-rem,Baru,New,10,,,,,,",
        "Bosch,0 986 494 123,kampas-rem,Kampas rem,Brake pad,500,,,,,,",
    ))

    assert not report.ok and not report.committed
    assert [(e.row, e.column, e.code) for e in report.errors] == [(4, "brand", "unknown_brand")]
    assert "Bosch" in report.errors[0].message
    assert catalog_state() == before
    assert not Part.objects.filter(number_key="NEW1").exists()


def test_every_rejected_row_is_reported_with_its_column(catalog):
    report = import_parts(parts_csv(
        "Toyota,04465-0K240,kampas-rem,Kampas,Pad,850,,,,,,",  # fine
        "Toyota,---,kampas-rem,Kampas,Pad,1,,,,,,",
        "Toyota,X1,no-such-category,Kampas,Pad,1,,,,,,",
        "Toyota,X2,kampas-rem,Kampas,Pad,-5,,,,,,",
        "Toyota,X3,kampas-rem,Kampas,Pad,1.5,,,,,,",
        "Toyota,X4,kampas-rem,Kampas,Pad,1,,,,obsolete,,",
        "Toyota,X5,kampas-rem,Kampas,Pad,1,,,,,,{not json",
        "Toyota,04465 0k240,kampas-rem,Kampas,Pad,850,,,,,,",  # same key as row 2
        "Toyota,X6,kampas-rem,,Pad,1,,,,,,",
        "Toyota,X7,kampas-rem,Kampas,Pad,1,,,,active,X404,",
        "Toyota,X8,kampas-rem,Kampas,Pad,1,,,,",
    ))

    assert not report.committed
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (3, "part_number", "bad_number"),
        (4, "category", "unknown_category"),
        (5, "weight_g", "negative"),
        (6, "weight_g", "not_an_integer"),
        (7, "status", "invalid_choice"),
        (8, "attributes", "bad_json"),
        (9, "part_number", "duplicate"),
        (10, "name_id", "required"),
        (11, "status", "status_not_superseded"),
        (11, "superseded_by_number", "unknown_part"),
        (12, "", "field_count"),
    ]
    assert report.rejected_rows == 10
    assert "row 2" in report.errors[6].message
    assert Part.objects.count() == 0 and OutboxEvent.objects.count() == 0


def test_supersession_within_one_file_and_then_on_a_stored_part(catalog):
    report = import_parts(parts_csv(
        "Toyota,04465-0K240,kampas-rem,Kampas lama,Old pad,850,,,,,04465-0K290,",
        "Toyota,04465-0K290,kampas-rem,Kampas baru,New pad,850,,,,,,",
    ))
    assert report.ok, report.errors
    old, new = Part.objects.get(number_key="044650K240"), Part.objects.get(number_key="044650K290")
    assert (old.status, old.superseded_by, old.version) == (PartStatus.SUPERSEDED, new, 1)
    assert OutboxEvent.objects.filter(topic="part.created").count() == 2

    # A later file: 0K290 is replaced by 0K300, a part already in the catalog.
    import_parts(parts_csv("Toyota,04465-0K300,kampas-rem,Kampas terbaru,Newest pad,850,,,,,,"))
    report = import_parts(parts_csv(
        "Toyota,04465-0K290,kampas-rem,Kampas baru,New pad,850,,,,superseded,044650K300,",
    ))
    assert report.ok and report.updated == 1
    new.refresh_from_db()
    assert (new.superseded_by.number_key, new.version) == ("044650K300", 2)
    event = OutboxEvent.objects.order_by("-id").first()
    assert (event.topic, event.version) == ("part.superseded", 2)
    assert event.payload["changed"] == ["status", "superseded_by"]


def test_a_supersession_loop_is_rejected_through_stored_parts_too(catalog):
    import_parts(parts_csv(
        "Toyota,A-1,kampas-rem,K,P,1,,,,,A-2,",
        "Toyota,A-2,kampas-rem,K,P,1,,,,,A-3,",
        "Toyota,A-3,kampas-rem,K,P,1,,,,,,",
    ))
    before = catalog_state()

    # A-3 → A-1 closes the loop A-1 → A-2 → A-3 → A-1 through two stored parts.
    report = import_parts(parts_csv("Toyota,A-3,kampas-rem,K,P,1,,,,,A-1,"))
    assert [(e.row, e.code) for e in report.errors] == [(2, "supersession_cycle")]

    # Within one file, both rows of the loop are named.
    report = import_parts(parts_csv("Toyota,B-1,kampas-rem,K,P,1,,,,,B-2,", "Toyota,B-2,kampas-rem,K,P,1,,,,,B-1,"))
    assert [(e.row, e.code) for e in report.errors] == [(2, "supersession_cycle"), (3, "supersession_cycle")]
    assert catalog_state() == before


def test_optional_columns_left_out_keep_the_stored_values(catalog):
    import_parts(GOOD_PARTS)
    header = "brand,part_number,category,name_id,name_en,weight_g,length_mm,width_mm,height_mm,status"
    row = "Toyota,04465-0K240,kampas-rem,Kampas rem depan,Front brake pad,850,150,60,20,active"
    report = import_parts(csv_bytes(header, row))
    assert (report.updated, report.unchanged) == (0, 1)
    assert Part.objects.get(number_key="044650K240").attributes == {"axle": "front"}


def test_a_part_cannot_supersede_itself(catalog):
    report = import_parts(parts_csv("Toyota,04465-0K240,kampas-rem,K,P,1,,,,,044650k240,"))
    assert [(e.column, e.code) for e in report.errors] == [("superseded_by_number", "superseded_by_itself")]


def test_semicolons_a_bom_crlf_and_header_case_are_accepted(catalog):
    data = "\ufeff" + PARTS_HEADER_SEMICOLON.upper() + "\r\nToyota;04465-0K240;kampas-rem;Kampas;Pad;850;;;;;;\r\n"
    report = import_parts(data.encode())
    assert report.ok and report.created == 1


PARTS_HEADER_SEMICOLON = (
    "brand;part_number;category;name_id;name_en;weight_g;length_mm;width_mm;height_mm;status;"
    "superseded_by_number;attributes"
)


def test_a_dry_run_validates_and_writes_nothing(catalog):
    report = import_parts(GOOD_PARTS, dry_run=True)
    assert report.ok and not report.committed
    assert Part.objects.count() == 0 and OutboxEvent.objects.count() == 0


def test_progress_is_reported(catalog):
    calls = []
    import_parts(GOOD_PARTS, progress=lambda **kw: calls.append(kw))
    assert {"stage": "validate", "done": 3, "total": 3} in calls
    assert {"stage": "events", "done": 3, "total": 3} in calls


# --- File-level errors ------------------------------------------------------------------


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(catalog):
    latin1 = parts_csv("Toyota,X1,kampas-rem,Kampas rem,Brake pad,1,,,,,,").replace(b"Brake", "Bréke".encode("latin-1"))
    with pytest.raises(CatalogImportEncodingError, match=r"not UTF-8.*line 2.*CSV UTF-8") as exc:
        import_parts(latin1)
    assert exc.value.code == "catalog_import_encoding"

    with pytest.raises(CatalogImportEncodingError, match="UTF-16"):
        import_parts(GOOD_PARTS.decode().encode("utf-16"))
    assert Part.objects.count() == 0


def test_a_bad_byte_after_a_bom_is_named_as_it_stands_in_the_file(catalog):
    # The BOM is dropped before decoding: the byte and line named are those of the file.
    data = b"\xef\xbb\xbf" + parts_csv("Toyota,X1,kampas-rem,Kampas rem,Brake pad,1,,,,,,",
                                        "Toyota,X2,kampas-rem,Kampas,Breke,1,,,,,,").replace(b"Breke", b"Br\xe9ke")
    with pytest.raises(CatalogImportEncodingError, match=r"byte 0xE9 on line 3") as exc:
        import_parts(data)
    assert exc.value.extra == {"line": 3}


@pytest.mark.parametrize("data", [b"", b"\n\n", ("\ufeff" + "\n").encode(), (csv_bytes(
    "brand,part_number,category,name_id,name_en,weight_g,length_mm,width_mm,height_mm,status"))])
def test_an_empty_file_is_refused(catalog, data):
    with pytest.raises(CatalogImportEmptyFile) as exc:
        import_parts(data)
    assert exc.value.code == "catalog_import_empty_file"


def test_wrong_columns_are_refused_listing_the_expected_header(catalog):
    data = csv_bytes("brand,part_number,category,name_id,name_en,weigth_g,status", "Toyota,X1,rem,K,P,1,active")
    with pytest.raises(CatalogImportHeaderError) as exc:
        import_parts(data)
    message = exc.value.message
    assert "missing columns: weight_g, length_mm, width_mm, height_mm" in message
    assert "unknown columns: weigth_g" in message
    assert "brand,part_number,category,name_id,name_en,weight_g" in message
    assert exc.value.code == "catalog_import_header"


def test_an_unknown_kind_is_refused(catalog):
    with pytest.raises(CatalogImportUnknownKind):
        catalog_import(kind="prices", file=GOOD_PARTS)


# --- Cross references -------------------------------------------------------------------


def test_cross_references_are_upserted_and_bump_the_part_version(catalog):
    import_parts(GOOD_PARTS)
    pad = Part.objects.get(number_key="044650K240")
    data = csv_bytes(
        CROSSREFS_HEADER,
        "Toyota,04465-0K240,aisin,ASN-1234,0",
        "Toyota,04465 0K240,Bendix,DB 1234,",
        "Aisin,ASN1234,Toyota,04465-0K240,ya",
    )

    report = catalog_import(kind="crossrefs", file=data)

    assert report.ok and (report.created, report.updated, report.parts_changed) == (3, 0, 2)
    refs = {(r.part.number_key, r.brand_name, r.number_key, r.is_oe)
            for r in CrossReference.objects.select_related("part")}
    assert refs == {
        ("044650K240", "Aisin", "ASN1234", False),  # a known brand is stored under its own name
        ("044650K240", "Bendix", "DB1234", False),
        ("ASN1234", "Toyota", "044650K240", True),
    }
    pad.refresh_from_db()
    assert pad.version == 2
    event = OutboxEvent.objects.filter(aggregate_id=str(pad.pk)).order_by("-id").first()
    assert (event.topic, event.version, event.payload["changed"]) == ("part.updated", 2, ["cross_references"])

    before = catalog_state()
    again = catalog_import(kind="crossrefs", file=data)
    assert (again.created, again.updated, again.unchanged, again.events) == (0, 0, 3, 0)
    assert catalog_state() == before

    changed = catalog_import(kind="crossrefs", file=csv_bytes(CROSSREFS_HEADER, "Toyota,04465-0K240,aisin,ASN-1234,1"))
    assert (changed.created, changed.updated) == (0, 1)
    assert CrossReference.objects.get(part=pad, brand_name="Aisin").is_oe


def test_a_cross_reference_to_an_unknown_part_rejects_the_file(catalog):
    import_parts(GOOD_PARTS)
    before = catalog_state()
    report = catalog_import(kind="crossrefs", file=csv_bytes(
        CROSSREFS_HEADER,
        "Toyota,04465-0K240,Aisin,ASN-1234,0",
        "Toyota,99999-99999,Aisin,ASN-9,0",
        "Toyota,04465-0K240,Aisin,ASN 1234,1",
        "Toyota,04465-0K240,Aisin,ASN 5,maybe",
    ))
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (3, "part_number", "unknown_part"), (4, "ref_number", "duplicate"), (5, "is_oe", "not_a_boolean"),
    ]
    assert catalog_state() == before


# --- Fitment ----------------------------------------------------------------------------


def test_fitment_is_upserted_by_variant_name_and_first_year(catalog):
    import_parts(GOOD_PARTS)
    data = csv_bytes(
        FITMENT_HEADER,
        "Toyota,04465-0K240,toyota,Avanza,1.3 E M/T,2019,front,2,",
        "Toyota,04465-0K240,Toyota,avanza,1.3 e m/t,2022,front,2,Sejak 2022",
        "Denso,K16R-U11,Honda,Beat,eSP CBS,2020,,1,",
    )

    report = catalog_import(kind="fitment", file=data)

    assert report.ok, report.errors
    assert (report.created, report.parts_changed, report.events) == (3, 2, 2)
    pad = Part.objects.get(number_key="044650K240")
    assert set(Fitment.objects.filter(part=pad).values_list("variant_id", "position", "quantity")) == {
        (catalog.avanza_2019.pk, "front", 2), (catalog.avanza_2022.pk, "front", 2),
    }
    event = OutboxEvent.objects.filter(aggregate_id=str(pad.pk)).order_by("-id").first()
    assert (event.topic, event.version) == ("part.fitment_changed", 2)
    assert event.payload["added_variant_ids"] == sorted([catalog.avanza_2019.pk, catalog.avanza_2022.pk])

    before = catalog_state()
    assert catalog_import(kind="fitment", file=data).events == 0
    assert catalog_state() == before


def test_fitment_to_an_unknown_vehicle_rejects_the_file(catalog):
    import_parts(GOOD_PARTS)
    before = catalog_state()
    report = catalog_import(kind="fitment", file=csv_bytes(
        FITMENT_HEADER,
        "Toyota,04465-0K240,Toyota,Avanza,1.3 E M/T,2019,front,2,",
        "Toyota,04465-0K240,Toyota,Avanza,1.3 E M/T,2015,front,2,",
        "Toyota,04465-0K240,Toyota,Kijang,1.3 E M/T,2019,front,2,",
        "Toyota,04465-0K240,Daihatsu,Xenia,1.3 R,2019,,1,",
        "Toyota,04465-0K240,Toyota,Avanza,1.3 E M/T,2019,top,0,",
        "Toyota,04465-0K240,Toyota,Avanza,1.3 E M/T,2019,front,3,",
    ))
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (3, "variant", "unknown_variant"),
        (4, "model", "unknown_model"),
        (5, "make", "unknown_make"),
        (6, "position", "invalid_choice"),
        (6, "quantity", "too_small"),
        (7, "variant", "duplicate"),
    ]
    assert catalog_state() == before


def test_fitment_rows_carry_their_parts_category_and_follow_a_category_change(catalog):
    import_parts(GOOD_PARTS)
    catalog_import(kind="fitment", file=csv_bytes(
        FITMENT_HEADER,
        "Toyota,04465-0K240,Toyota,Avanza,1.3 E M/T,2019,front,2,",
        "Toyota,04465-0K240,Toyota,Avanza,1.3 E M/T,2022,front,2,",
    ))
    pad = Part.objects.get(number_key="044650K240")
    assert set(Fitment.objects.filter(part=pad).values_list("part_category_id", flat=True)) == {
        catalog.brake_pads.pk}

    report = import_parts(parts_csv(
        "Toyota,04465-0K240,saringan-oli,Kampas rem depan,Front brake pads,850,150,60,20,active,,"
        '"{""axle"": ""front""}"'
    ))

    assert report.ok and report.updated == 1
    assert set(Fitment.objects.filter(part=pad).values_list("part_category_id", flat=True)) == {
        catalog.oil_filters.pk}
    # (and every read model exact: the autouse check of this folder)
