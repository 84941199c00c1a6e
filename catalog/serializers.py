"""Catalog API representations. Read-only: the catalog changes through services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Brand, Category, CrossReference, Fitment, Part
from catalog.selectors import PartRow, RankedPartRow


class BrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name", "slug", "kind", "country"]
        read_only_fields = fields


class BrandRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "name", "kind"]
        read_only_fields = fields


class CategorySerializer(serializers.ModelSerializer):
    parent_id = serializers.IntegerField(allow_null=True, read_only=True)
    synonyms = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["id", "parent_id", "slug", "name_id", "name_en", "synonyms"]
        read_only_fields = fields

    def get_synonyms(self, obj: Category) -> list[str]:
        return [word.strip() for word in obj.synonyms.split(",") if word.strip()]


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name_id", "name_en"]
        read_only_fields = fields


class PartRefSerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.name", read_only=True)

    class Meta:
        model = Part
        fields = ["id", "brand", "number", "status"]
        read_only_fields = fields


class BestOfferSerializer(serializers.Serializer):
    """Reserved for the suppliers app (see catalog.selectors.part_best_offers)."""

    supplier_id = serializers.IntegerField()
    price = serializers.IntegerField(help_text="Rupiah")
    lead_time_days = serializers.IntegerField()


class PartSerializer(serializers.ModelSerializer):
    brand = BrandRefSerializer(read_only=True)
    category = CategoryRefSerializer(read_only=True)
    superseded_by_id = serializers.IntegerField(allow_null=True, read_only=True)
    best_offer = serializers.SerializerMethodField()

    class Meta:
        model = Part
        fields = [
            "id", "brand", "number", "number_key", "name_id", "name_en", "category", "status",
            "superseded_by_id", "attributes", "weight_g", "length_mm", "width_mm", "height_mm",
            "version", "best_offer",
        ]
        read_only_fields = fields

    @extend_schema_field(BestOfferSerializer(allow_null=True))
    def get_best_offer(self, obj: Part) -> dict | None:
        # Filled in by the view for a whole page at once (never one query per part).
        return self.context.get("best_offers", {}).get(obj.pk)

    def to_representation(self, instance: Part) -> dict:
        # The search pages serialize up to 200 parts per request: built by hand, the same
        # fields and values as the declared ones (tests/catalog/test_serializers.py holds
        # them equal) at a tenth of DRF's per-field cost. Subclasses that declare more
        # fields than the ones below go the generic way.
        if isinstance(instance, PartRow):
            if type(self) is not PartSerializer:
                raise TypeError(f"{type(self).__name__} renders parts, not PartRows")
            return self._row_data(instance)
        if isinstance(instance, RankedPartRow):
            if type(self) is not RankedPartSerializer:
                raise TypeError(f"{type(self).__name__} renders parts, not RankedPartRows")
            data = self._row_data(instance.part)
            data["match"] = str(instance.match)
            data["rank"] = None if instance.rank is None else float(instance.rank)
            data["similarity"] = None if instance.similarity is None else float(instance.similarity)
            return data
        if type(self) not in _FAST_SERIALIZERS:
            return super().to_representation(instance)
        brand, category = instance.brand, instance.category
        data = self._row_data(PartRow(
            id=instance.pk, number=str(instance.number), number_key=str(instance.number_key),
            name_id=str(instance.name_id), name_en=str(instance.name_en), status=str(instance.status),
            superseded_by_id=instance.superseded_by_id, attributes=instance.attributes,
            weight_g=int(instance.weight_g), length_mm=int(instance.length_mm), width_mm=int(instance.width_mm),
            height_mm=int(instance.height_mm), version=int(instance.version), brand_id=brand.pk,
            brand_name=str(brand.name), brand_kind=str(brand.kind), category_id=category.pk,
            category_name_id=str(category.name_id), category_name_en=str(category.name_en)))
        if type(self) is RankedPartSerializer:
            data["match"] = str(instance.match)
            data["rank"] = None if instance.rank is None else float(instance.rank)
            data["similarity"] = None if instance.similarity is None else float(instance.similarity)
        return data


    def _row_data(self, row: PartRow) -> dict:
        """The declared fields' values, from a PartRow (a search page's, or one made of a Part)."""
        return part_row_data(row, best_offer=self.get_best_offer(row))


def part_row_data(row: PartRow, *, best_offer: dict | None = None) -> dict:
    """What PartSerializer renders for a PartRow whose best offer is `best_offer`, without a
    serializer: a search page renders up to 200 of them (catalog.api builds its pages with this)."""
    return {
        "id": row.id,
        "brand": {"id": row.brand_id, "name": row.brand_name, "kind": row.brand_kind},
        "number": row.number,
        "number_key": row.number_key,
        "name_id": row.name_id,
        "name_en": row.name_en,
        "category": {"id": row.category_id, "name_id": row.category_name_id, "name_en": row.category_name_en},
        "status": row.status,
        "superseded_by_id": row.superseded_by_id,
        "attributes": row.attributes,
        "weight_g": row.weight_g,
        "length_mm": row.length_mm,
        "width_mm": row.width_mm,
        "height_mm": row.height_mm,
        "version": row.version,
        "best_offer": best_offer,
    }


_FITS_VEHICLE_HELP = ("Only when `q` is a part number and a `vehicle` is given: whether the part fits that "
                      "vehicle (a number lists its parts whatever the vehicle)")
_MATCH_HELP = ("Words: full_text, similar_category or similar_text; a part number: exact, supersedes, "
               "interchangeable, superseded_by or similar")


class RankedPartSerializer(PartSerializer):
    match = serializers.CharField(read_only=True, help_text=_MATCH_HELP)
    rank = serializers.FloatField(read_only=True, allow_null=True, help_text="Words only; null for a part number")
    similarity = serializers.FloatField(read_only=True, allow_null=True,
                                        help_text="Null for a part number's matches other than similar")

    class Meta(PartSerializer.Meta):
        fields = [*PartSerializer.Meta.fields, "match", "rank", "similarity"]
        read_only_fields = fields


_FAST_SERIALIZERS = (PartSerializer, RankedPartSerializer)


class FitmentSerializer(serializers.ModelSerializer):
    variant_id = serializers.IntegerField(read_only=True)
    make = serializers.CharField(source="variant.model.make.name", read_only=True)
    model = serializers.CharField(source="variant.model.name", read_only=True)
    generation = serializers.CharField(source="variant.generation", read_only=True)
    variant = serializers.CharField(source="variant.name", read_only=True)
    vehicle_type = serializers.CharField(source="variant.vehicle_type", read_only=True)
    year_from = serializers.IntegerField(source="variant.year_from", read_only=True)
    year_to = serializers.IntegerField(source="variant.year_to", read_only=True, allow_null=True)

    class Meta:
        model = Fitment
        fields = ["id", "variant_id", "make", "model", "generation", "variant", "vehicle_type",
                  "year_from", "year_to", "position", "quantity", "note"]
        read_only_fields = fields


class CrossReferenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = CrossReference
        fields = ["brand_name", "number", "number_key", "is_oe"]
        read_only_fields = fields


class PartDetailSerializer(PartSerializer):
    description = serializers.CharField(read_only=True)
    superseded_by = PartRefSerializer(read_only=True, allow_null=True)
    supersedes = PartRefSerializer(many=True, read_only=True)
    cross_references = CrossReferenceSerializer(many=True, read_only=True)
    interchangeable = PartRefSerializer(
        many=True, read_only=True, source="interchangeable_parts",
        help_text="Parts that interchange with this one: what /parts/lookup/ lists for its number "
                  "(same number of another brand, cross references both ways); at most 50")
    fitments = FitmentSerializer(many=True, read_only=True, source="fitment_rows",
                                 help_text="The first 200; the full list is /parts/{id}/fitments/")
    fitment_count = serializers.IntegerField(read_only=True)

    class Meta(PartSerializer.Meta):
        fields = [*PartSerializer.Meta.fields, "description", "superseded_by", "supersedes",
                  "cross_references", "interchangeable", "fitment_count", "fitments", "updated_at"]
        read_only_fields = fields


class FacetValueSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    name_en = serializers.CharField(required=False)
    parent_id = serializers.IntegerField(allow_null=True, required=False)
    count = serializers.IntegerField()


class FacetsSerializer(serializers.Serializer):
    categories = FacetValueSerializer(many=True)
    brands = FacetValueSerializer(many=True)


class PartPageRowSerializer(PartSerializer):
    """A row of a parts page as the schema shows it: the ranking fields come only with `q`."""

    match = serializers.CharField(required=False, help_text=f"With `q`. {_MATCH_HELP}")
    rank = serializers.FloatField(required=False, allow_null=True, help_text="With `q`; null for a part number")
    similarity = serializers.FloatField(required=False, allow_null=True,
                                        help_text="With `q`; null for a part number's matches other than similar")
    fits_vehicle = serializers.BooleanField(required=False, help_text=_FITS_VEHICLE_HELP)

    class Meta(PartSerializer.Meta):
        fields = [*PartSerializer.Meta.fields, "match", "rank", "similarity", "fits_vehicle"]


class PartPageSerializer(serializers.Serializer):
    """A page of parts; `facets` only when `vehicle` is given and `q` is not a part number,
    ranking fields only with `q`."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PartPageRowSerializer(many=True)
    facets = FacetsSerializer(required=False)


class PartMatchSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="exact, interchangeable, supersedes (a newer part replacing `via`), "
                  "superseded_by (an older part that `via` replaced) or similar")
    via = serializers.IntegerField(source="via_id", allow_null=True)
    similarity = serializers.FloatField(allow_null=True)
    fits_vehicle = serializers.BooleanField(allow_null=True, help_text="With `vehicle`: whether the part fits it; "
                                                                       "null without one")
    part = PartSerializer()


class NumberLookupSerializer(serializers.Serializer):
    number = serializers.CharField()
    number_key = serializers.CharField()
    truncated = serializers.BooleanField(help_text="More matches exist than `limit`")
    results = PartMatchSerializer(many=True, source="matches")

    def to_representation(self, instance) -> dict:
        # Built by hand like PartSerializer's rows (the declared fields document the shape;
        # tests/catalog/test_serializers.py holds the two equal): DRF's nested serializers
        # cost more per lookup than its query.
        part = PartSerializer(context=self.context)
        return {
            "number": str(instance.number),
            "number_key": str(instance.number_key),
            "truncated": bool(instance.truncated),
            "results": [
                {"kind": str(match.kind), "via": match.via_id,
                 "similarity": None if match.similarity is None else float(match.similarity),
                 "fits_vehicle": None if match.fits_vehicle is None else bool(match.fits_vehicle),
                 "part": part.to_representation(match.part)}
                for match in instance.matches
            ],
        }
