"""Orders API for workshops: a logged-in workshop member, or a partner (a fleet system) calling
with an API key whose client is bound to the workshop (`manage.py api_key_issue --workshop ID`);
keys of clients bound to no workshop get 403 `no_workshop`. Either acts for that one workshop
(workshops.selectors.workshop_for_actor) within the scopes listed below.

- POST /api/v1/orders/                  (orders:write) place the cart; Idempotency-Key required
- GET  /api/v1/orders/                  (orders:read)  the workshop's orders, cursor-paginated
- GET  /api/v1/orders/{number}/         (orders:read)  lines, supplier orders, shipments, payment, timeline
- POST /api/v1/orders/{number}/cancel/  (orders:write) cancel before any shipment is booked
- GET  /api/v1/orders/{number}/invoices/{supplier_order_number}.pdf  (orders:read) a supplier's faktur
- GET/POST /api/v1/cart/lines/          (orders:read / orders:write) the cart
- POST /api/v1/cart/optimise/           (orders:read)  the cart optimiser's plan (nothing is saved)
- POST /api/v1/cart/optimise/apply/     (orders:write) replace the cart's lines with a plan's

A part's offers, for anybody with catalog:read, here because each carries its delivery to the
caller's workshop (orders.services.part_offers_delivered: the courier's quotes, checkout's
warehouse); a caller that is no workshop gets the offers with `delivery` figures null:

- GET /api/v1/parts/{id}/offers/        (catalog:read) sort, arrives_by, max_delivered_price

Another workshop's order answers 404, exactly like a missing one.

For a supplier's ERP, with the key of an API client bound to the supplier
(suppliers.models.SupplierApiClient); any other caller gets 403 `no_supplier`:

- GET /api/v1/suppliers/me/orders/           (orders:read) its supplier orders, newest first, cursor-paginated
- GET /api/v1/suppliers/me/orders/{number}/  (orders:read) one of them
- POST …/{number}/accept/                    (orders:write) accept it, all or some lines/units
- POST …/{number}/reject/                    (orders:write) reject it whole, with a reason
- POST …/{number}/ready-to-ship/             (orders:write) packed: the courier is booked
- GET /api/v1/suppliers/me/orders/{number}/label.pdf         (orders:read) its shipping label
- GET /api/v1/suppliers/me/orders/{number}/packing-slip.pdf  (orders:read) its packing slip

Another supplier's supplier order answers 404, exactly like a missing one. The events
`supplier_order.*` (docs/events.md) tell the ERP of each new supplier order and each change.
"""

from __future__ import annotations

from dataclasses import asdict

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Part
from okto88.api.pagination import CursorPagination
from okto88.api.problems import PROBLEM_CONTENT_TYPE
from okto88.models import Scope
from orders import documents, selectors, services
from orders.errors import IdempotencyKeyRequired
from orders.models import Order, OrderStatus, SupplierOrder, SupplierOrderStatus
from orders.serializers import (
    CartLineInSerializer,
    CartLineOutSerializer,
    CartOptimiseInSerializer,
    CartPlanApplyInSerializer,
    CartPlanOutSerializer,
    OrderCancelInSerializer,
    OrderDetailSerializer,
    OrderListItemSerializer,
    OrderPlaceInSerializer,
    PartOfferDeliveredOutSerializer,
    SupplierOrderAcceptInSerializer,
    SupplierOrderFilterInSerializer,
    SupplierOrderOutForSupplierSerializer,
    SupplierOrderReadyInSerializer,
    SupplierOrderRejectInSerializer,
)
from suppliers.errors import NoSupplier
from suppliers.models import Supplier
from suppliers.selectors import supplier_for_actor
from workshops.selectors import address_get, workshop_for_actor

IDEMPOTENCY_HEADER = OpenApiParameter(
    # What _idempotency_key_clean takes, as a schema: printable, not blank, at most 100.
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 100}, OpenApiParameter.HEADER,
    required=True, pattern=r"^[ -~]*[!-~][ -~]*$",
    description="1–100 characters, unique per order you mean to place. A retry with the same key and "
                "body returns the same order; the same key with another body answers 409.")
PROBLEM_403 = OpenApiResponse(description="`no_workshop` (neither a workshop member nor an API key acting for a "
                                          "workshop) or `insufficient_scope` (the key lacks the scope)")
KEY_AUTH = ("Workshop members call with their session; partners with `Authorization: Api-Key <key>`, the key "
            "of an API client bound to one workshop, which it then acts for. ")


class OrderCursorPagination(CursorPagination):
    ordering = "-pk"
    page_size = 25


class OrderListCreateApi(generics.ListAPIView):
    required_scopes = {"GET": [Scope.ORDERS_READ], "POST": [Scope.ORDERS_WRITE]}
    serializer_class = OrderListItemSerializer
    pagination_class = OrderCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        status_filter = self.request.query_params.get("status")  # present but empty is no status either
        if status_filter is not None and status_filter not in OrderStatus.values:
            raise exceptions.ValidationError({"status": [exceptions.ErrorDetail(
                f"One of {', '.join(OrderStatus.values)}.", code="invalid_choice")]})
        return selectors.order_list(actor=self.request.user, status=status_filter)

    @extend_schema(operation_id="orders_list", tags=["orders"],
                   description=KEY_AUTH + "Needs the scope orders:read. The workshop's orders, newest first.",
                   parameters=[OpenApiParameter("status", str, enum=OrderStatus.values)],
                   responses={200: OrderListItemSerializer(many=True), 403: PROBLEM_403})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="orders_create", tags=["orders"], parameters=[IDEMPOTENCY_HEADER],
        request=OrderPlaceInSerializer,
        responses={201: OrderDetailSerializer,
                   400: OpenApiResponse(description="`idempotency_key_required`, `idempotency_key_invalid`, "
                                                    "validation errors"),
                   403: PROBLEM_403,
                   404: OpenApiResponse(description="`address_not_found`: not one of the workshop's addresses"),
                   409: OpenApiResponse(description="`idempotency_conflict`, `cart_changed` (lines listed; send "
                                                    "accept_changes), `out_of_stock`, `credit_limit_exceeded`, "
                                                    "`cart_empty`, `shipping_choice_required` or "
                                                    "`shipping_choice_invalid` (for the cart's suppliers now)"),
                   503: OpenApiResponse(description="`gateway_unavailable` (or `gateway_circuit_open`: calls "
                                                    "to the gateway are paused until `paused_until`): the order "
                                                    "is placed and its stock held; repeat the request with the "
                                                    "same Idempotency-Key")},
        description=KEY_AUTH + "Needs the scope orders:write. "
                    "Place the caller's workshop's cart: one order, one supplier order per supplier, prices "
                    "snapshotted, stock reserved, payment created (terms: paid at once; prepaid: the response "
                    "carries the VA number / QR string / payment URL).",
    )
    def post(self, request):
        workshop = workshop_for_actor(actor=request.user)
        key = request.headers.get("Idempotency-Key", "")
        if not key.strip():
            raise IdempotencyKeyRequired()
        body = OrderPlaceInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        order = services.order_place(
            workshop=workshop, actor=request.user, address=address_get(workshop=workshop, address_id=data["address"]),
            payment_method=data["payment_method"],
            shipping_choices={c["supplier"]: (c["carrier_code"], c["service_level"]) for c in data["shipping"]},
            idempotency_key=key, accept_changes=data["accept_changes"],
        )
        order = selectors.order_get(actor=request.user, number=order.number)
        return Response(OrderDetailSerializer(order).data, status=status.HTTP_201_CREATED)


class OrderDetailApi(APIView):
    required_scopes = [Scope.ORDERS_READ]

    @extend_schema(operation_id="orders_retrieve", tags=["orders"],
                   description=KEY_AUTH + "Needs the scope orders:read. Another workshop's order answers 404.",
                   responses={200: OrderDetailSerializer, 403: PROBLEM_403,
                              404: OpenApiResponse(description="`order_not_found`")})
    def get(self, request, number: str):
        return Response(OrderDetailSerializer(selectors.order_get(actor=request.user, number=number)).data)


class OrderCancelApi(APIView):
    required_scopes = [Scope.ORDERS_WRITE]

    @extend_schema(operation_id="orders_cancel", tags=["orders"], request=OrderCancelInSerializer,
                   responses={200: OrderDetailSerializer, 403: PROBLEM_403,
                              404: OpenApiResponse(description="`order_not_found`"),
                              409: OpenApiResponse(description="`invalid_transition` (the order's status is in "
                                                               "`order_status`) or `shipment_booked`"),
                              502: OpenApiResponse(description="`gateway_rejected`: the gateway refused to cancel "
                                                               "or refund the payment; nothing was changed"),
                              503: OpenApiResponse(description="`gateway_unavailable` or `gateway_circuit_open` "
                                                               "(calls to it paused until `paused_until`): the "
                                                               "gateway did not answer; nothing was changed, try "
                                                               "again")},
                   description=KEY_AUTH + "Needs the scope orders:write. "
                               "Cancel before any shipment is booked: stock is given back and the payment "
                               "cancelled, refunded or voided, all at once or not at all (an order is never "
                               "cancelled with its payment kept). Repeating it, even concurrently, is safe and "
                               "answers as the first did.")
    def post(self, request, number: str):
        body = OrderCancelInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = selectors.order_for_update_by_number(actor=request.user, number=number)
        services.order_cancel(order=order, actor=request.user, reason=body.validated_data["reason"])
        return Response(OrderDetailSerializer(selectors.order_get(actor=request.user, number=number)).data)


def _problem(description: str) -> OpenApiResponse:
    """A documented error of a PDF endpoint: problem+json, whatever the success's media type."""
    return OpenApiResponse({"$ref": "#/components/schemas/Problem"}, description=description)


PDF_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="The PDF, shown inline: `Content-Disposition: "
                                                              "inline; filename=\"<kind>-<number>.pdf\"`")


class OrderInvoicePdfApi(APIView):
    required_scopes = [Scope.ORDERS_READ]

    @extend_schema(operation_id="orders_invoice_pdf", tags=["orders"],
                   responses={(200, "application/pdf"): PDF_RESPONSE,
                              (403, PROBLEM_CONTENT_TYPE): _problem(PROBLEM_403.description),
                              (404, PROBLEM_CONTENT_TYPE): _problem(
                                  "`order_not_found` (another workshop's order too) or `supplier_order_not_found` "
                                  "(not one of this order's supplier orders)"),
                              (409, PROBLEM_CONTENT_TYPE): _problem(
                                  "`invoice_not_available`: the supplier has not accepted yet, or rejected, or the "
                                  "supplier order was cancelled")},
                   description=KEY_AUTH + "Needs the scope orders:read. The faktur (tax invoice, in Indonesian) of "
                               "one supplier order of the order: seller and buyer with their NPWP, the accepted "
                               "quantities, DPP, PPN at the order's rate and the total. Available once the "
                               "supplier has accepted.")
    def get(self, request, number: str, supplier_order_number: str):
        supplier_order = selectors.order_supplier_order_get(actor=request.user, order_number=number,
                                                            number=supplier_order_number)
        return documents.pdf_response(content=documents.tax_invoice_pdf(supplier_order=supplier_order),
                                      kind="invoice", number=supplier_order.number)


class CartLineListApi(APIView):
    required_scopes = {"GET": [Scope.ORDERS_READ], "POST": [Scope.ORDERS_WRITE]}

    @extend_schema(operation_id="cart_lines_list", tags=["orders"],
                   description=KEY_AUTH + "Needs the scope orders:read. The workshop's cart.",
                   responses={200: CartLineOutSerializer(many=True), 403: PROBLEM_403})
    def get(self, request):
        workshop = workshop_for_actor(actor=request.user)
        return Response(CartLineOutSerializer(selectors.cart_line_list(workshop=workshop), many=True).data)

    @extend_schema(operation_id="cart_lines_create", tags=["orders"], request=CartLineInSerializer,
                   responses={201: CartLineOutSerializer, 403: PROBLEM_403,
                              400: OpenApiResponse(description="`quantity_below_minimum`, "
                                                               "`quantity_not_pack_multiple`"),
                              404: OpenApiResponse(description="`offer_unavailable`"),
                              409: OpenApiResponse(description="`out_of_stock`")},
                   description=KEY_AUTH + "Needs the scope orders:write. "
                               "Add a quantity of an offer to the cart (added to its line if there is one).")
    def post(self, request):
        workshop = workshop_for_actor(actor=request.user)
        body = CartLineInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        line = services.cart_line_add(workshop=workshop, offer_id=body.validated_data["offer"],
                                      quantity=body.validated_data["quantity"])
        line = next(cl for cl in selectors.cart_line_list(workshop=workshop) if cl.pk == line.pk)
        return Response(CartLineOutSerializer(line).data, status=status.HTTP_201_CREATED)


class CartOptimiseApi(APIView):
    # Computing a plan saves nothing: a read, like GET cart/lines/ (POST for its body).
    required_scopes = [Scope.ORDERS_READ]

    @extend_schema(operation_id="cart_optimise", tags=["orders"], request=CartOptimiseInSerializer,
                   responses={200: CartPlanOutSerializer, 403: PROBLEM_403,
                              404: OpenApiResponse(description="`address_not_found`: no such address of the "
                                                               "workshop, or the workshop has no default address"),
                              409: OpenApiResponse(description="`cart_empty`; `optimise_no_stock` (no offer has "
                                                               "stock for the parts in `parts`); "
                                                               "`optimise_infeasible` (no choice meets the latest "
                                                               "arrival date with the locked lines)")},
                   description=KEY_AUTH + "Needs the scope orders:read. The offers across suppliers that serve "
                               "the cart best for the objective, under stock (one warehouse per supplier), "
                               "minimum order quantities, pack sizes, locked lines and the latest arrival date; "
                               "its totals as checkout would charge them, the cart's as it is, the saving and "
                               "what would change. docs/cart-optimiser.md explains the model.")
    def post(self, request):
        workshop = workshop_for_actor(actor=request.user)
        body = CartOptimiseInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        address = address_get(workshop=workshop, address_id=data["address"]) if data["address"] else None
        plan = services.cart_optimise(workshop=workshop, address=address, objective=data["objective"],
                                      allow_substitutes=data["allow_substitutes"],
                                      latest_arrival=data["latest_arrival"])
        return Response(CartPlanOutSerializer(plan).data)


class CartOptimiseApplyApi(APIView):
    required_scopes = [Scope.ORDERS_WRITE]

    @extend_schema(operation_id="cart_optimise_apply", tags=["orders"], request=CartPlanApplyInSerializer,
                   responses={200: CartLineOutSerializer(many=True), 403: PROBLEM_403,
                              400: OpenApiResponse(description="`cart_plan_invalid` (an offer twice, or a locked "
                                                               "line changed), `quantity_below_minimum`, "
                                                               "`quantity_not_pack_multiple`"),
                              404: OpenApiResponse(description="`offer_unavailable`"),
                              409: OpenApiResponse(description="`cart_plan_stale` (the cart changed since the plan: "
                                                               "optimise again), `out_of_stock`, `cart_empty`")},
                   description=KEY_AUTH + "Needs the scope orders:write. Replace the cart's lines with the plan's "
                               "(`fingerprint` and `lines` from POST cart/optimise/), all or nothing: refused when "
                               "the cart changed since. Answers the cart's new lines.")
    def post(self, request):
        workshop = workshop_for_actor(actor=request.user)
        body = CartPlanApplyInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.cart_optimise_apply(workshop=workshop, fingerprint=body.validated_data["fingerprint"],
                                     lines=[(line["offer"], line["quantity"])
                                            for line in body.validated_data["lines"]])
        return Response(CartLineOutSerializer(selectors.cart_line_list(workshop=workshop), many=True).data)


# --- A part's offers with their delivery ------------------------------------------------------

_OFFER_QUERY_PARAMETERS = [
    OpenApiParameter("sort", {"type": "string", "enum": [s.value for s in services.OfferSort],
                              "default": services.OfferSort.RANKING.value},
                     description="`ranking`: in stock first, then by price; `delivered_price`: lowest delivered "
                                 "price first; `arrival`: earliest arrival (fastest service) first. Offers without "
                                 "delivery figures come last."),
    OpenApiParameter("arrives_by", OpenApiTypes.DATE,
                     description="Only offers whose fastest service arrives on or before this day (Asia/Jakarta); "
                                 "offers without delivery figures are left out"),
    OpenApiParameter("max_delivered_price", {"type": "integer", "minimum": 1},
                     description="Only offers delivered for at most this many rupiah (delivery.delivered_price); "
                                 "offers without delivery figures are left out"),
]


class PartOfferListApi(APIView):
    required_scopes = [Scope.CATALOG_READ]

    @extend_schema(operation_id="parts_offers_list", tags=["catalog"], parameters=_OFFER_QUERY_PARAMETERS,
                   responses={200: PartOfferDeliveredOutSerializer(many=True),
                              400: OpenApiResponse(description="`invalid_field` (`field`: sort, arrives_by or "
                                                               "max_delivered_price)"),
                              404: OpenApiResponse(description="No part")},
                   description="Every active offer of active suppliers for this part: in stock first, then by "
                               "price. available = sum over active warehouses of on_hand − reserved. Each offer's "
                               "`delivery`: the cost of the cheapest and of the fastest courier service to the "
                               "default address of the caller's workshop (a member, or an API key bound to the "
                               "workshop), the delivered price and the arrival day, for the offer's smallest "
                               "quantity. A caller that is no workshop, a workshop without a default address, or "
                               "a courier that does not answer: the figures are null and `reason` says why.")
    def get(self, request, pk: int):
        query = services.offer_query_parse(request.query_params)
        if not Part.objects.filter(pk=pk).exists():
            raise Http404
        rows = services.part_offers_delivered(actor=request.user, part_id=pk, query=query)
        return Response(PartOfferDeliveredOutSerializer(
            [{**asdict(row.offer), "delivery": row.delivery} for row in rows], many=True).data)


# --- Supplier orders, for the supplier's ERP ----------------------------------------------------

SUPPLIER_KEY_AUTH = ("A supplier's ERP calls with `Authorization: Api-Key <key>`, the key of an API client bound to "
                     "one supplier, and sees that supplier's supplier orders only. Needs the scope orders:read. ")
SUPPLIER_PROBLEM_403 = OpenApiResponse(description="`no_supplier` (the key's client is not bound to a supplier, e.g. "
                                                   "a workshop's key) or `insufficient_scope` (the key lacks "
                                                   "orders:read)")


def _my_supplier(request) -> Supplier:
    supplier = supplier_for_actor(actor=request.user)
    if supplier is None:
        raise NoSupplier("Operators are not a supplier; use a supplier's API key.")
    return supplier


class SupplierOrderCursorPagination(CursorPagination):
    ordering = "-pk"
    page_size = 25


class SupplierOrderListApi(generics.ListAPIView):
    required_scopes = [Scope.ORDERS_READ]
    serializer_class = SupplierOrderOutForSupplierSerializer
    pagination_class = SupplierOrderCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SupplierOrder.objects.none()
        supplier = _my_supplier(self.request)
        # A plain dict, not the QueryDict: DRF takes an empty form value for no value, the API says it is wrong.
        filters = SupplierOrderFilterInSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return selectors.supplier_order_list(supplier=supplier, **filters.validated_data)

    @extend_schema(
        operation_id="suppliers_me_orders_list", tags=["suppliers"],
        description=SUPPLIER_KEY_AUTH + "The supplier's supplier orders (its share of each workshop's order: lines, "
                    "prices, ship-to, warehouse, courier, shipment), newest first. To stay in sync, follow the "
                    "`supplier_order.*` events (webhooks or the events feed); `updated_after` catches up after an "
                    "outage (ask from a little before the last `updated_at` you saw: a change committed late "
                    "may carry an earlier time).",
        parameters=[
            OpenApiParameter("status", str, enum=SupplierOrderStatus.values),
            OpenApiParameter("updated_after", {"type": "string", "format": "date-time"},
                             description="Only supplier orders changed after this time (excluded)"),
            OpenApiParameter("placed_after", {"type": "string", "format": "date-time"},
                             description="Only orders placed at or after this time"),
            OpenApiParameter("placed_before", {"type": "string", "format": "date-time"},
                             description="Only orders placed before this time (excluded)"),
        ],
        responses={200: SupplierOrderOutForSupplierSerializer(many=True), 403: SUPPLIER_PROBLEM_403})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SupplierOrderDetailApi(APIView):
    required_scopes = [Scope.ORDERS_READ]

    @extend_schema(operation_id="suppliers_me_orders_retrieve", tags=["suppliers"],
                   description=SUPPLIER_KEY_AUTH + "One supplier order by its number; another supplier's answers "
                               "404, like a missing one.",
                   responses={200: SupplierOrderOutForSupplierSerializer, 403: SUPPLIER_PROBLEM_403,
                              404: OpenApiResponse(description="`supplier_order_not_found`")})
    def get(self, request, number: str):
        supplier_order = selectors.supplier_order_get(supplier=_my_supplier(request), number=number)
        return Response(SupplierOrderOutForSupplierSerializer(supplier_order).data)


def _my_supplier_order_act(request, number: str, act) -> Response:
    """Run `act` (a service) on one of the caller's supplier orders (another supplier's is a
    404) and answer with the supplier order as it now is."""
    supplier = _my_supplier(request)
    act(selectors.supplier_order_get(supplier=supplier, number=number))
    return Response(SupplierOrderOutForSupplierSerializer(
        selectors.supplier_order_get(supplier=supplier, number=number)).data)


_ANSWER_ERRORS = {
    400: OpenApiResponse(description="`invalid_supplier_order_answer` (a line not of this supplier order, a quantity "
                                     "out of range, a missing reason) or `validation_error`; nothing changed"),
    403: SUPPLIER_PROBLEM_403,
    404: OpenApiResponse(description="`supplier_order_not_found` (also another supplier's)"),
}


class SupplierOrderAcceptApi(APIView):
    required_scopes = [Scope.ORDERS_WRITE]

    @extend_schema(operation_id="suppliers_me_orders_accept", tags=["suppliers"],
                   request=SupplierOrderAcceptInSerializer,
                   description=SUPPLIER_KEY_AUTH + "Needs orders:write. Accept a pending supplier order before its "
                               "`accept_by`: everything, or all but `rejected_lines` (each a line id, how many units "
                               "and why). The rejected units are refunded to the workshop and their reservation "
                               "released; rejecting every unit rejects the supplier order. Answers the supplier "
                               "order as it now is.",
                   responses={200: SupplierOrderOutForSupplierSerializer, **_ANSWER_ERRORS,
                              409: OpenApiResponse(description="`supplier_order_not_pending`: answered already, "
                                                               "its order not paid yet, or closed")})
    def post(self, request, number: str):
        body = SupplierOrderAcceptInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rejections = {line["line"]: services.LineRejection(quantity=line["quantity"], reason=line["reason"])
                      for line in body.validated_data["rejected_lines"]}
        return _my_supplier_order_act(request, number, lambda supplier_order: services.supplier_order_answer(
            supplier_order=supplier_order, rejections=rejections, actor=request.user))


class SupplierOrderRejectApi(APIView):
    required_scopes = [Scope.ORDERS_WRITE]

    @extend_schema(operation_id="suppliers_me_orders_reject", tags=["suppliers"],
                   request=SupplierOrderRejectInSerializer,
                   description=SUPPLIER_KEY_AUTH + "Needs orders:write. Reject a pending supplier order whole, for "
                               "one reason: its share is refunded to the workshop, its reservation released.",
                   responses={200: SupplierOrderOutForSupplierSerializer, **_ANSWER_ERRORS,
                              409: OpenApiResponse(description="`supplier_order_not_pending`")})
    def post(self, request, number: str):
        body = SupplierOrderRejectInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _my_supplier_order_act(request, number, lambda supplier_order: services.supplier_order_reject(
            supplier_order=supplier_order, reason=body.validated_data["reason"], actor=request.user))


class SupplierOrderReadyApi(APIView):
    required_scopes = [Scope.ORDERS_WRITE]

    @extend_schema(operation_id="suppliers_me_orders_ready_to_ship", tags=["suppliers"],
                   request=SupplierOrderReadyInSerializer,
                   description=SUPPLIER_KEY_AUTH + "Needs orders:write. The accepted supplier order is packed: "
                               "the courier is booked now (`supplier_order.confirmed` follows with the waybill; the "
                               "label can then be printed). Parcel count and weight may be corrected. Repeating it "
                               "answers as the first time.",
                   responses={200: SupplierOrderOutForSupplierSerializer, **_ANSWER_ERRORS,
                              409: OpenApiResponse(description="`supplier_order_not_accepted`")})
    def post(self, request, number: str):
        body = SupplierOrderReadyInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return _my_supplier_order_act(request, number, lambda supplier_order: services.supplier_order_mark_ready(
            supplier_order=supplier_order, actor=request.user, parcel_count=body.validated_data.get("parcel_count"),
            weight_g=body.validated_data.get("weight_g")))


class SupplierOrderLabelPdfApi(APIView):
    required_scopes = [Scope.ORDERS_READ]

    @extend_schema(operation_id="suppliers_me_orders_label_pdf", tags=["suppliers"],
                   responses={(200, "application/pdf"): PDF_RESPONSE,
                              (403, PROBLEM_CONTENT_TYPE): _problem(SUPPLIER_PROBLEM_403.description),
                              (404, PROBLEM_CONTENT_TYPE): _problem("`supplier_order_not_found`"),
                              (409, PROBLEM_CONTENT_TYPE): _problem(
                                  "`label_not_ready`: no courier booked yet (status before `confirmed`, or "
                                  "rejected/cancelled)")},
                   description=SUPPLIER_KEY_AUTH + "The shipping label: one 100 × 150 mm page per parcel with the "
                               "courier, the waybill (Code128 and text), \"Paket 1/2\", sender and recipient. "
                               "Available once the courier is booked (status confirmed, shipped or delivered).")
    def get(self, request, number: str):
        supplier_order = selectors.supplier_order_get(supplier=_my_supplier(request), number=number)
        return documents.pdf_response(content=documents.shipping_label_pdf(supplier_order=supplier_order),
                                      kind="label", number=supplier_order.number)


class SupplierOrderPackingSlipPdfApi(APIView):
    required_scopes = [Scope.ORDERS_READ]

    @extend_schema(operation_id="suppliers_me_orders_packing_slip_pdf", tags=["suppliers"],
                   responses={(200, "application/pdf"): PDF_RESPONSE,
                              (403, PROBLEM_CONTENT_TYPE): _problem(SUPPLIER_PROBLEM_403.description),
                              (404, PROBLEM_CONTENT_TYPE): _problem("`supplier_order_not_found`"),
                              (409, PROBLEM_CONTENT_TYPE): _problem(
                                  "`packing_slip_not_available`: not accepted yet, or rejected/cancelled")},
                   description=SUPPLIER_KEY_AUTH + "The packing slip (A4): the accepted lines to pack, the rejected "
                               "ones listed apart with their reasons, the parcel count. Available once accepted.")
    def get(self, request, number: str):
        supplier_order = selectors.supplier_order_get(supplier=_my_supplier(request), number=number)
        return documents.pdf_response(content=documents.packing_slip_pdf(supplier_order=supplier_order),
                                      kind="packing-slip", number=supplier_order.number)
