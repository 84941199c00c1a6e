"""The import kinds and the columns of each."""

from __future__ import annotations

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy


class ImportKind(TextChoices):
    PARTS = "parts", gettext_lazy("Parts")
    CROSSREFS = "crossrefs", gettext_lazy("Cross references")
    FITMENT = "fitment", gettext_lazy("Fitment")


# kind: (required columns, optional columns)
COLUMNS: dict[str, tuple[list[str], list[str]]] = {
    ImportKind.PARTS: (
        ["brand", "part_number", "category", "name_id", "name_en", "weight_g", "length_mm",
         "width_mm", "height_mm", "status"],
        ["superseded_by_number", "attributes"],
    ),
    ImportKind.CROSSREFS: (["brand", "part_number", "ref_brand", "ref_number"], ["is_oe"]),
    ImportKind.FITMENT: (
        ["brand", "part_number", "make", "model", "variant", "year_from"],
        ["position", "quantity", "note"],
    ),
}


def import_expected_header(*, kind: str) -> str:
    required, optional = COLUMNS[kind]
    return ",".join(required + optional)
