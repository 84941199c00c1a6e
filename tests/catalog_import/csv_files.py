"""CSV files and a snapshot of the catalog for the import tests."""

from __future__ import annotations

from catalog.models import CrossReference, Fitment, Part
from okto88.models import OutboxEvent

PARTS_HEADER = ("brand,part_number,category,name_id,name_en,weight_g,length_mm,width_mm,height_mm,"
                "status,superseded_by_number,attributes")


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def parts_csv(*rows: str) -> bytes:
    return csv_bytes(PARTS_HEADER, *rows)


GOOD_PARTS = parts_csv(
    'Toyota,04465-0K240,kampas-rem,Kampas rem depan,Front brake pad,850,150,60,20,active,,"{""axle"": ""front""}"',
    "aisin,ASN 1234,kampas-rem,Kampas rem depan Aisin,Front brake pad Aisin,800,,,,,,",
    "Denso,k16r-u11,busi,Busi Denso,Spark plug Denso,45,,,,active,,",
)


def catalog_state() -> dict:
    """What a rejected import must leave exactly as it was."""
    return {
        "parts": sorted(Part.objects.values_list("id", "version", "name_en", "superseded_by_id")),
        "events": OutboxEvent.objects.count(),
        "cross_references": sorted(CrossReference.objects.values_list("id", "number", "is_oe")),
        "fitments": sorted(Fitment.objects.values_list("id", "quantity", "note")),
    }
