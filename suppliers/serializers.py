"""Serializers for the supplier API. Input shapes are checked here; rules live in services."""

from __future__ import annotations

from rest_framework import serializers

from okto88.api.validators import NOT_BLANK_TEXT
from suppliers.offer_limits import SKU_MAX_LENGTH, STOCK_MAX
from suppliers.services import STOCK_BULK_MAX_ROWS


class StockRowInSerializer(serializers.Serializer):
    # The schema of a row. The view hands the rows to stock_bulk_set unparsed: the service checks
    # these same rules (and the unknown SKUs and warehouses, duplicates) and reports every row's
    # errors at once, where a serializer would stop at the rows with a wrong type.
    sku = serializers.CharField(max_length=SKU_MAX_LENGTH, validators=[NOT_BLANK_TEXT])
    warehouse = serializers.CharField(max_length=20, validators=[NOT_BLANK_TEXT], help_text="The warehouse's code")
    on_hand = serializers.IntegerField(min_value=0, max_value=STOCK_MAX)


class StockBulkSetInSerializer(serializers.Serializer):
    rows = StockRowInSerializer(many=True, allow_empty=True, max_length=STOCK_BULK_MAX_ROWS)


class StockBulkSetOutSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    changed = serializers.IntegerField()
    created = serializers.IntegerField()


class OfferStockSerializer(serializers.Serializer):
    warehouse = serializers.CharField(source="warehouse.code")
    city = serializers.CharField(source="warehouse.city")
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    available = serializers.IntegerField()


class OfferOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    part_id = serializers.IntegerField()
    brand = serializers.CharField(source="part.brand.name")
    part_number = serializers.CharField(source="part.number")
    price = serializers.IntegerField(help_text="Integer rupiah")
    min_order_qty = serializers.IntegerField()
    pack_size = serializers.IntegerField()
    lead_time_days = serializers.IntegerField()
    is_active = serializers.BooleanField()
    stock = OfferStockSerializer(source="stocks", many=True)
    updated_at = serializers.DateTimeField()


class PartOfferOutSerializer(serializers.Serializer):
    offer_id = serializers.IntegerField()
    supplier_id = serializers.IntegerField()
    supplier_name = serializers.CharField()
    sku = serializers.CharField()
    price = serializers.IntegerField(help_text="Integer rupiah")
    available = serializers.IntegerField(help_text="Sum over warehouses of on_hand − reserved")
    lead_time_days = serializers.IntegerField()
    min_order_qty = serializers.IntegerField()
    pack_size = serializers.IntegerField()
    warehouse_cities = serializers.ListField(child=serializers.CharField())
