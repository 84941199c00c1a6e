"""The hand-built representation of a part (the search pages' hot path) must be exactly what
the declared DRF fields would give."""

from __future__ import annotations

import json

import pytest
from rest_framework import serializers

from catalog import selectors
from catalog.serializers import NumberLookupSerializer, PartSerializer, RankedPartSerializer, part_row_data

pytestmark = pytest.mark.django_db


def declared(serializer_class, instance, context) -> dict:
    """DRF's generic path, field by field, for the same serializer."""
    return serializers.ModelSerializer.to_representation(serializer_class(context=context), instance)


def test_part_representation_matches_the_declared_fields(shop):
    shop.disc.attributes = {"diameter_mm": 255, "vented": True}
    shop.disc.save()
    context = {"best_offers": {shop.disc.pk: {"supplier_id": 1, "price": 1000, "lead_time_days": 2}}}
    parts = list(selectors.part_search_by_vehicle(variant_id=shop.avanza.pk).parts)
    assert len(parts) > 3
    for part in parts:
        fast = PartSerializer(context=context).to_representation(part)
        assert fast == declared(PartSerializer, part, context)
        assert list(fast) == PartSerializer.Meta.fields


def test_a_part_row_renders_as_its_part(shop):
    # The API's vehicle pages read PartRows (no model instances): the same JSON, with every type.
    shop.disc.attributes = {"diameter_mm": 255, "vented": True, "note": "ö"}
    shop.disc.save()
    context = {"best_offers": {shop.disc.pk: {"supplier_id": 1, "price": 1000, "lead_time_days": 2}}}
    listing = selectors.part_search(variant_id=shop.avanza.pk).parts
    rows, parts = listing.as_rows()[0:50], listing[0:50]
    assert len(rows) > 3 and all(isinstance(row, selectors.PartRow) for row in rows)
    assert [row.id for row in rows] == [part.pk for part in parts]
    for row, part in zip(rows, parts, strict=True):
        fast, generic = PartSerializer(context=context).to_representation(row), declared(PartSerializer, part, context)
        assert fast == PartSerializer(context=context).to_representation(part) == generic
        assert [type(value) for value in fast.values()] == [type(value) for value in generic.values()]
        # The API's pages render their rows without a serializer, the best offer left for later.
        offer = context["best_offers"].get(row.id)
        built = part_row_data(row, best_offer=offer)
        assert built == generic and list(built) == list(generic)
        assert [type(value) for value in built.values()] == [type(value) for value in generic.values()]
        assert part_row_data(row) == PartSerializer(context={}).to_representation(row)
    descending = listing.order_by("-id").as_rows()[0:2]
    assert [row.id for row in descending] == [part.pk for part in listing.order_by("-id")[0:2]]


def test_ranked_part_representation_matches_the_declared_fields(shop):
    parts = list(selectors.part_search_by_words(q="kampas rem")[:10])
    assert parts
    for part in parts:
        fast = RankedPartSerializer(context={}).to_representation(part)
        assert fast == declared(RankedPartSerializer, part, {})
        assert list(fast) == RankedPartSerializer.Meta.fields


@pytest.mark.parametrize("q", ["kampas rem", "kampas rm", "remm depan"])
def test_a_ranked_part_row_renders_as_its_part(shop, q):
    # The API's words pages read RankedPartRows (no model instances): the same JSON, with every type.
    shop.pad_oe.attributes = {"thickness_mm": 12.5, "note": "ö"}
    shop.pad_oe.save()
    context = {"best_offers": {shop.pad_oe.pk: {"supplier_id": 1, "price": 1000, "lead_time_days": 2}}}
    parts = selectors.part_search(q=q).parts
    rows, instances = parts.as_rows()[0:10], parts[0:10]
    assert rows and all(isinstance(row, selectors.RankedPartRow) for row in rows)
    for row, part in zip(rows, instances, strict=True):
        fast = RankedPartSerializer(context=context).to_representation(row)
        generic = declared(RankedPartSerializer, part, context)
        assert fast == generic and list(fast) == RankedPartSerializer.Meta.fields
        assert [type(value) for value in fast.values()] == [type(value) for value in generic.values()]
    with pytest.raises(TypeError):
        PartSerializer(context=context).to_representation(rows[0])


@pytest.mark.parametrize("number, kwargs", [
    ("04465-0K240", {}), ("04465 0k240", {"limit": 2}), ("04465-0K24", {}), ("db-1835", {}),
    ("04465BZ010", {"limit": 1}), ("ZZZZ-9999", {}), ("04465-0K240", {"vehicle": True}),
])
def test_a_lookup_read_as_rows_renders_as_the_lookup_of_parts(shop, number, kwargs):
    # The API reads its matches as PartRows (part_lookup_by_number(rows=True)); the pages read
    # Parts: the same matches in the same order, rendered alike, value and type.
    kwargs = {**kwargs, "variant_id": shop.avanza.pk} if kwargs.pop("vehicle", False) else kwargs
    shop.pad_oe.attributes = {"side": "depan", "pieces": 4}
    shop.pad_oe.save(update_fields=["attributes"])
    context = {"best_offers": {shop.pad_oe.pk: {"supplier_id": 1, "price": 1000, "lead_time_days": 2}}}
    of_parts = selectors.part_lookup_by_number(number=number, **kwargs)
    of_rows = selectors.part_lookup_by_number(number=number, rows=True, **kwargs)
    assert all(isinstance(m.part, selectors.PartRow) for m in of_rows.matches)
    assert [m.part.pk for m in of_rows.matches] == [m.part.pk for m in of_parts.matches]
    by_rows = NumberLookupSerializer(of_rows, context=context).data
    by_parts = NumberLookupSerializer(of_parts, context=context).data
    assert json.dumps(by_rows) == json.dumps(by_parts)
    assert by_rows["results"] or number == "ZZZZ-9999"


def test_number_lookup_representation_matches_the_declared_fields(shop):
    context = {"best_offers": {shop.disc.pk: {"supplier_id": 1, "price": 1000, "lead_time_days": 2}}}
    for number in (shop.disc.number, "04465-0K24"):  # exact and interchangeable; close numbers
        lookup = selectors.part_lookup_by_number(number=number, limit=3)
        assert lookup.matches
        fast = NumberLookupSerializer(lookup, context=context).data
        assert fast == serializers.Serializer.to_representation(NumberLookupSerializer(context=context), lookup)
        assert list(fast) == ["number", "number_key", "truncated", "results"]
