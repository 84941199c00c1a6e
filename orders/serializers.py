"""Serializers for the orders and cart API. Input shapes are checked here; rules live in services."""

from __future__ import annotations

from rest_framework import serializers

from okto88.api.validators import NOT_BLANK_TEXT
from okto88.bounds import BIGINT_MAX, INTEGER_MAX
from payments.models import PaymentMethod


class ShippingChoiceInSerializer(serializers.Serializer):
    supplier = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    carrier_code = serializers.CharField(max_length=20, validators=[NOT_BLANK_TEXT])
    service_level = serializers.CharField(max_length=20, validators=[NOT_BLANK_TEXT])


class OrderPlaceInSerializer(serializers.Serializer):
    address = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX,
                                       help_text="id of one of the workshop's addresses")
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    shipping = ShippingChoiceInSerializer(many=True, help_text="one choice per supplier in the cart")
    accept_changes = serializers.BooleanField(default=False, help_text="place at today's prices if they changed")

    def validate_shipping(self, value):
        suppliers = [choice["supplier"] for choice in value]
        if len(suppliers) != len(set(suppliers)):
            raise serializers.ValidationError("One shipping choice per supplier.", code="duplicate_supplier")
        return value


class OrderCancelInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class OrderListItemSerializer(serializers.Serializer):
    number = serializers.CharField()
    # A plain string in the schema: a second "status" enum would collide with other apps' names.
    status = serializers.CharField(help_text="pending_payment, paid, in_fulfilment, shipped, completed, "
                                             "cancelled, expired or failed")
    payment_method = serializers.CharField()
    subtotal = serializers.IntegerField()
    shipping_total = serializers.IntegerField()
    tax_total = serializers.IntegerField()
    grand_total = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class OrderLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    part_number = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField()
    line_total = serializers.IntegerField()


class ShipmentOutSerializer(serializers.Serializer):
    carrier = serializers.CharField(source="carrier.code")
    service_level = serializers.CharField()
    waybill = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    cost = serializers.IntegerField()


class SupplierOrderOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    supplier = serializers.CharField(source="supplier.legal_name")
    warehouse_city = serializers.CharField(source="warehouse.city")
    status = serializers.CharField()
    subtotal = serializers.IntegerField()
    shipping_cost = serializers.IntegerField()
    carrier_code = serializers.CharField()
    service_level = serializers.CharField()
    weight_g = serializers.IntegerField()
    lines = OrderLineOutSerializer(many=True)
    shipment = ShipmentOutSerializer(allow_null=True)


class PaymentOutSerializer(serializers.Serializer):
    method = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.IntegerField()
    bank = serializers.CharField()
    va_number = serializers.CharField()
    qr_string = serializers.CharField()
    payment_url = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class OrderEventOutSerializer(serializers.Serializer):
    kind = serializers.CharField()
    message = serializers.CharField()
    step = serializers.CharField()
    by = serializers.SerializerMethodField()
    at = serializers.DateTimeField(source="created_at")

    def get_by(self, event) -> str:
        if event.actor_id:
            return event.actor.email
        return f"API client {event.api_client.name}" if event.api_client_id else ""


class OrderDetailSerializer(OrderListItemSerializer):
    failure_reason = serializers.CharField()
    tax_rate_bp = serializers.IntegerField()
    delivery_address = serializers.JSONField()
    supplier_orders = SupplierOrderOutSerializer(many=True)
    payment = PaymentOutSerializer(source="payment_intent", allow_null=True)
    timeline = OrderEventOutSerializer(source="events", many=True)


class CartLineInSerializer(serializers.Serializer):
    offer = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    quantity = serializers.IntegerField(min_value=1, max_value=INTEGER_MAX)


class CartLineOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    offer = serializers.IntegerField(source="offer_id")
    sku = serializers.CharField(source="offer.sku")
    part_number = serializers.CharField(source="offer.part.number")
    name = serializers.CharField(source="offer.part.name_id")
    supplier = serializers.CharField(source="offer.supplier.legal_name")
    quantity = serializers.IntegerField()
    price_seen = serializers.IntegerField()
    price = serializers.IntegerField(source="offer.price")
