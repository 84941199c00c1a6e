"""Supplier API for partners (a supplier's ERP with an API key bound to the supplier through
SupplierApiClient, or a logged-in supplier member). A part's offers for workshops,
GET /api/v1/parts/{id}/offers/, are served by orders/api.py: each carries its delivery to the
caller's workshop, which needs logistics and orders.

- PUT /api/v1/suppliers/me/stock/  (stock:write) set on-hand counts, ≤ 10,000 rows, all or nothing
- GET /api/v1/suppliers/me/offers/ (stock:write) the caller's offers with stock per warehouse

"me" is the caller's supplier: a caller bound to none (an operator too: operators act for
the platform, not for a supplier) gets 403 `no_supplier`. The offers list requires
stock:write rather than catalog:read because it is the supplier's own commercial data.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics
from rest_framework.response import Response
from rest_framework.views import APIView

from okto88.api.pagination import CursorPagination
from okto88.models import Scope
from suppliers import selectors, services
from suppliers.errors import NoSupplier
from suppliers.models import Offer, Supplier
from suppliers.serializers import (
    OfferOutSerializer,
    StockBulkSetInSerializer,
    StockBulkSetOutSerializer,
)


def _my_supplier(request) -> Supplier:
    supplier = selectors.supplier_for_actor(actor=request.user)
    if supplier is None:
        raise NoSupplier("Operators are not a supplier; use a supplier's API key or login.")
    return supplier


class OfferCursorPagination(CursorPagination):
    ordering = "pk"
    page_size = 50


class SupplierStockBulkSetApi(APIView):
    required_scopes = [Scope.STOCK_WRITE]

    @extend_schema(
        operation_id="suppliers_me_stock_update", tags=["suppliers"],
        request=StockBulkSetInSerializer,
        responses={200: StockBulkSetOutSerializer,
                   400: OpenApiResponse(description="Malformed rows (problem+json `invalid_stock_rows`, per-row "
                                                    "`errors`: rows.N.field)"),
                   404: OpenApiResponse(description="Every refused row names a SKU or warehouse code the supplier "
                                                    "does not have (`invalid_stock_rows`)"),
                   409: OpenApiResponse(description="Every refused row would set on hand below what is reserved "
                                                    "(`invalid_stock_rows`)"),
                   403: OpenApiResponse(description="`no_supplier`: the caller is not bound to a supplier")},
        description="Set the on-hand count of up to 10,000 (sku, warehouse code) rows. All or nothing: any "
                    "invalid row (unknown SKU or warehouse, negative or non-integer count, duplicate, below "
                    "reserved) rejects the whole request. Rows whose count changes get a ledger entry and a "
                    "`stock.changed` event; unchanged rows write nothing.",
    )
    def put(self, request):
        supplier = _my_supplier(request)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"rows": [exceptions.ErrorDetail("Send {\"rows\": [...]}.",
                                                                               code="required")]})
        rows = request.data.get("rows")
        if not isinstance(rows, list):
            raise exceptions.ValidationError({"rows": [exceptions.ErrorDetail("rows must be a list.",
                                                                               code="not_a_list")]})
        if len(rows) > services.STOCK_BULK_MAX_ROWS:
            raise exceptions.ValidationError({"rows": [exceptions.ErrorDetail(
                f"At most {services.STOCK_BULK_MAX_ROWS} rows per request.", code="too_many_rows")]})
        result = services.stock_bulk_set(supplier=supplier, rows=rows, actor=request.user,
                                         reference=f"api:{request.user}"[:120])
        return Response({"rows": result.rows, "changed": result.changed, "created": result.created})


class SupplierOfferListApi(generics.ListAPIView):
    required_scopes = [Scope.STOCK_WRITE]
    serializer_class = OfferOutSerializer
    pagination_class = OfferCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return Offer.objects.none()
        return selectors.offer_list(actor=self.request.user, supplier=_my_supplier(self.request))

    @extend_schema(operation_id="suppliers_me_offers_list", tags=["suppliers"],
                   responses={200: OfferOutSerializer(many=True),
                              403: OpenApiResponse(description="`no_supplier`")})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
