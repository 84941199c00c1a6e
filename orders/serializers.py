"""Serializers for the orders and cart API. Input shapes are checked here; rules live in services."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from okto88.api.validators import NOT_BLANK_TEXT
from okto88.bounds import BIGINT_MAX, INTEGER_MAX
from orders.models import SupplierOrderStatus
from payments.models import PaymentMethod
from suppliers.serializers import PartOfferOutSerializer


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


# --- The cart optimiser -------------------------------------------------------------------------

class CartOptimiseInSerializer(serializers.Serializer):
    objective = serializers.ChoiceField(
        choices=[("total", "total"), ("shipments", "shipments"), ("arrival", "arrival")], default="total",
        help_text="total: goods + shipping (default); shipments: fewest parcels, then the total; arrival: the "
                  "earliest latest arrival among the lines, then the total")
    allow_substitutes = serializers.BooleanField(
        default=False, help_text="offer interchangeable parts (cross references); always marked `substitute`")
    latest_arrival = serializers.DateField(required=False, allow_null=True, default=None,
                                           help_text="offers that would arrive later (Asia/Jakarta) are left out")
    address = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, required=False, allow_null=True,
                                       default=None, help_text="id of one of the workshop's addresses; default: "
                                                               "the default address")


class TotalsOutSerializer(serializers.Serializer):
    subtotal = serializers.IntegerField()
    shipping = serializers.IntegerField()
    tax = serializers.IntegerField()
    grand_total = serializers.IntegerField()
    rate_bp = serializers.IntegerField()


class PlannedLineOutSerializer(serializers.Serializer):
    offer = serializers.IntegerField(source="offer_id")
    sku = serializers.CharField()
    supplier = serializers.IntegerField(source="supplier_id")
    supplier_name = serializers.CharField()
    part = serializers.IntegerField(source="part_id")
    part_number = serializers.CharField()
    name = serializers.CharField(source="part_name")
    quantity = serializers.IntegerField()
    price = serializers.IntegerField()
    line_total = serializers.IntegerField()
    substitute = serializers.BooleanField(help_text="an interchangeable part, not the part of the cart line")
    serves = serializers.ListField(child=serializers.IntegerField(), help_text="the cart lines it serves")
    locked = serializers.BooleanField()


class PlanChangeOutSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="line_id")
    kinds = serializers.ListField(child=serializers.ChoiceField(
        choices=[("moved", "moved"), ("substitute", "substitute"), ("split", "split"), ("combined", "combined"),
                 ("quantity_rounded", "quantity_rounded")]))
    part_number = serializers.CharField()
    name = serializers.CharField(source="part_name")
    before = serializers.DictField()
    after = serializers.ListField(child=serializers.DictField(), help_text=(
        "per offer: supplier, sku, quantity (the units for this line), offer_quantity (the units bought of "
        "the offer, other lines' and a pack's rounding included), substitute"))


class CartPlanOutSerializer(serializers.Serializer):
    fingerprint = serializers.CharField(help_text="send it back to apply the plan; refused once the cart changed")
    objective = serializers.CharField()
    lines = PlannedLineOutSerializer(many=True)
    totals = TotalsOutSerializer(help_text="the plan priced as checkout prices a cart")
    as_is_totals = TotalsOutSerializer(allow_null=True, help_text="the cart as it is (null: it cannot be checked "
                                                                   "out as it is)")
    saving = serializers.IntegerField(allow_null=True, help_text="as_is_totals.grand_total − totals.grand_total")
    changes = PlanChangeOutSerializer(many=True)
    shipments = serializers.IntegerField()
    as_is_shipments = serializers.IntegerField()
    arrival = serializers.DateField(allow_null=True)
    as_is_arrival = serializers.DateField(allow_null=True)
    solver = serializers.CharField(help_text="highs, greedy (HiGHS hit the time limit without a better plan) or "
                                             "as_is (nothing beat the cart as it is)")
    status = serializers.CharField(help_text="HiGHS's: optimal, time_limit or infeasible")
    time_limit_hit = serializers.BooleanField()
    solve_ms = serializers.FloatField()
    notes = serializers.ListField(
        child=serializers.ChoiceField(choices=["as_is_cheaper_at_checkout", "quotes_incomplete"]),
        help_text="as_is_cheaper_at_checkout: checkout's warehouses made the plan dearer, so the plan is the cart "
                  "as it is; quotes_incomplete: the courier did not quote some warehouses in time and they were "
                  "left out (their quotes are cached: optimise again for a fuller plan)")


class CartPlanLineInSerializer(serializers.Serializer):
    offer = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    quantity = serializers.IntegerField(min_value=1, max_value=INTEGER_MAX)


class CartPlanApplyInSerializer(serializers.Serializer):
    fingerprint = serializers.CharField(max_length=64, validators=[NOT_BLANK_TEXT])
    lines = serializers.ListField(child=CartPlanLineInSerializer(), min_length=1, max_length=1000,
                                  help_text="the plan's lines, as POST cart/optimise/ answered them")


# --- Supplier orders, for the supplier's ERP ----------------------------------------------------

class SupplierOrderFilterInSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SupplierOrderStatus.choices, required=False)
    updated_after = serializers.DateTimeField(required=False)
    placed_after = serializers.DateTimeField(required=False)
    placed_before = serializers.DateTimeField(required=False)


class SupplierOrderLineOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The line's id: name it to reject some or all of its units")
    offer = serializers.IntegerField(source="offer_id", help_text="The id of the supplier's offer")
    sku = serializers.CharField(help_text="The supplier's SKU when ordered")
    part_number = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField(help_text="Rupiah, before PPN, as ordered")
    line_total = serializers.IntegerField()
    rejected_quantity = serializers.IntegerField(help_text="Of `quantity`, the units the supplier rejected")
    rejection_reason = serializers.CharField(help_text="Why (out_of_stock, discontinued, price_error, no_answer, "
                                                       "fulfilment_failed); empty when nothing was rejected")


# What ShipToOutSerializer shows of the order's address snapshot (workshops.selectors.address_snapshot).
SHIP_TO_SNAPSHOT_FIELDS = ("recipient_name", "phone", "street", "district", "city", "province", "postal_code",
                           "region_code")


class ShipToOutSerializer(serializers.Serializer):
    """The delivery address as the order keeps it (a snapshot taken when it was placed)."""

    workshop = serializers.CharField(help_text="The ordering workshop's name")
    recipient_name = serializers.CharField()
    phone = serializers.CharField()
    street = serializers.CharField()
    district = serializers.CharField()
    city = serializers.CharField()
    province = serializers.CharField()
    postal_code = serializers.CharField()
    region_code = serializers.CharField(help_text="The area's Kemendagri code (may be empty)")


class WarehouseOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    city = serializers.CharField()
    province = serializers.CharField()
    postal_code = serializers.CharField()


class TrackingEventOutSerializer(serializers.Serializer):
    status = serializers.CharField()
    occurred_at = serializers.DateTimeField(allow_null=True)
    location = serializers.CharField()


class SupplierShipmentOutSerializer(serializers.Serializer):
    carrier = serializers.CharField(source="carrier.code")
    service_level = serializers.CharField()
    waybill = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    tracking = TrackingEventOutSerializer(many=True, help_text="The courier's reports, oldest first")


class SupplierOrderOutForSupplierSerializer(serializers.Serializer):
    number = serializers.CharField()
    order_number = serializers.CharField(source="order.number")
    status = serializers.CharField(help_text="pending (waiting for the supplier's answer), accepted, ready_to_ship, "
                                             "confirmed (the courier is booked), shipped, delivered, rejected or "
                                             "cancelled")
    accept_by = serializers.DateTimeField(allow_null=True, help_text="Answer (accept or reject) before this time, "
                                          "or the supplier order is rejected for you; null until the order is paid")
    decided_at = serializers.DateTimeField(allow_null=True, help_text="When it was answered")
    parcel_count = serializers.IntegerField()
    rejection_reason = serializers.CharField(help_text="Why it was rejected or cancelled as a whole, else empty")
    placed_at = serializers.DateTimeField(source="order.created_at")
    paid_at = serializers.SerializerMethodField(help_text="When the workshop's payment settled; null until then "
                                                          "(pay-later terms count as paid when placed)")
    updated_at = serializers.DateTimeField()
    warehouse = WarehouseOutSerializer()
    carrier_code = serializers.CharField()
    service_level = serializers.CharField()
    weight_g = serializers.IntegerField()
    subtotal = serializers.IntegerField(help_text="Rupiah: the lines' total, before shipping and PPN")
    shipping_cost = serializers.IntegerField(help_text="Rupiah, before PPN")
    tax_rate_bp = serializers.IntegerField(
        source="order.tax_rate_bp",
        help_text="The PPN rate of the order, in basis points (1100 = 11 %). PPN is computed and rounded once "
                  "per order, on all its supplier orders together; no PPN amount is kept per supplier order")
    lines = SupplierOrderLineOutSerializer(many=True)
    ship_to = serializers.SerializerMethodField()
    shipments = serializers.SerializerMethodField(help_text="The booked shipment (none before it is booked)")

    def get_paid_at(self, supplier_order) -> dt.datetime | None:
        intent = supplier_order.order.payment_intent
        return intent.settled_at if intent is not None else None

    @extend_schema_field(ShipToOutSerializer)
    def get_ship_to(self, supplier_order) -> dict:
        snapshot = supplier_order.order.delivery_address or {}
        return {"workshop": supplier_order.order.workshop.name,
                **{name: str(snapshot.get(name) or "") for name in SHIP_TO_SNAPSHOT_FIELDS}}

    @extend_schema_field(SupplierShipmentOutSerializer(many=True))
    def get_shipments(self, supplier_order) -> list[dict]:
        shipment = supplier_order.shipment
        return [SupplierShipmentOutSerializer(shipment).data] if shipment is not None else []


class LineRejectionInSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="A line id of the supplier order")
    quantity = serializers.IntegerField(min_value=0, help_text="How many of its units are rejected (0…ordered)")
    reason = serializers.ChoiceField(choices=["out_of_stock", "discontinued", "price_error"])


class SupplierOrderAcceptInSerializer(serializers.Serializer):
    rejected_lines = LineRejectionInSerializer(
        many=True, required=False, default=list, max_length=500,
        help_text="Lines (or some of their units) you cannot supply, each line once; every other unit is "
                  "accepted. Empty or absent: accept everything")

    def validate_rejected_lines(self, value: list[dict]) -> list[dict]:
        twice = sorted(line for line, times in Counter(item["line"] for item in value).items() if times > 1)
        if twice:
            raise serializers.ValidationError(
                _("Lines %(lines)s are named more than once.") % {"lines": ", ".join(map(str, twice))},
                code="duplicate_line")
        return value


class SupplierOrderRejectInSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["out_of_stock", "discontinued", "price_error"])


class SupplierOrderReadyInSerializer(serializers.Serializer):
    parcel_count = serializers.IntegerField(min_value=1, max_value=50, required=False,
                                            help_text="Parcels handed to the courier (default: as it is)")
    weight_g = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False,
                                        help_text="Total weight in grams (default: the ordered parts' weight)")


# --- A part's offers with their delivery (orders.services.part_offers_delivered) ----------------

class DeliveryOptionOutSerializer(serializers.Serializer):
    carrier_code = serializers.CharField()
    carrier_name = serializers.CharField()
    service_level = serializers.CharField()
    cost = serializers.IntegerField(help_text="Integer rupiah, for the delivery's `quantity`")
    eta_days = serializers.IntegerField(help_text="The courier's working days")
    arrives_on = serializers.DateField(help_text="Asia/Jakarta: the offer's lead time, then eta_days, in working "
                                                 "days (Sundays and Indonesian public holidays skipped)")


class OfferDeliveryOutSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(help_text="The units the figures are for: the minimum order rounded up to "
                                                  "the pack size (1 for most offers)")
    quantity_is_minimum = serializers.BooleanField(help_text="true: the minimum order; false: one unit")
    delivered_price = serializers.IntegerField(allow_null=True, help_text="price × quantity + the cheapest "
                                                                          "service's cost; null without figures")
    cheapest = DeliveryOptionOutSerializer(allow_null=True, help_text="The cheapest service; null without figures")
    fastest = DeliveryOptionOutSerializer(allow_null=True, help_text="The earliest-arriving service")
    reason = serializers.CharField(help_text="Why there are no figures, empty when there are: not_a_workshop, "
                                             "no_default_address, not_in_stock, no_service, courier_unavailable, "
                                             "courier_circuit_open, courier_rejected, invalid_shipment_request")


class PartOfferDeliveredOutSerializer(PartOfferOutSerializer):
    delivery = OfferDeliveryOutSerializer(help_text="To the default address of the caller's workshop")
