"""Read-only vehicle API for partners and the browser: makes, models, variants, VIN lookup."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from okto88.api.pagination import CursorPagination
from okto88.models import Scope
from vehicles import selectors, services
from vehicles.errors import InvalidVin
from vehicles.filters import MakeFilter, VehicleModelFilter, VehicleVariantFilter
from vehicles.serializers import (
    MakeSerializer,
    VehicleModelSerializer,
    VehicleVariantSerializer,
    VinLookupSerializer,
)

TAGS = ["vehicles"]

# What vin_decode accepts, as the schema's pattern: 17 of A-Z (no I, O, Q) and digits, any case,
# with spaces and dashes anywhere. The view holds a VIN to it too, so the two cannot disagree
# (str.upper maps a few other letters to A-Z: "ſ" to "S").
VIN_PATTERN = r"^[\s-]*(?:[A-HJ-NPR-Za-hj-npr-z0-9][\s-]*){17}$"
_VIN_RE = re.compile(VIN_PATTERN)


class MakeCursorPagination(CursorPagination):
    ordering = "name"  # unique


class IdCursorPagination(CursorPagination):
    # Model and variant names repeat across makes and generations; the id does not.
    ordering = "pk"


class MakeListApi(ListAPIView):
    required_scopes = [Scope.CATALOG_READ]
    serializer_class = MakeSerializer
    filterset_class = MakeFilter
    pagination_class = MakeCursorPagination

    def get_queryset(self):
        return selectors.make_list()

    @extend_schema(operation_id="vehicles_makes_list", tags=TAGS,
                   summary="Vehicle makes, alphabetical")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VehicleModelListApi(ListAPIView):
    required_scopes = [Scope.CATALOG_READ]
    serializer_class = VehicleModelSerializer
    filterset_class = VehicleModelFilter
    pagination_class = IdCursorPagination

    def get_queryset(self):
        return selectors.vehicle_model_list()

    @extend_schema(operation_id="vehicles_models_list", tags=TAGS,
                   summary="Vehicle models, by make and vehicle type")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VehicleVariantListApi(ListAPIView):
    required_scopes = [Scope.CATALOG_READ]
    serializer_class = VehicleVariantSerializer
    filterset_class = VehicleVariantFilter
    pagination_class = IdCursorPagination

    def get_queryset(self):
        return selectors.variant_list()

    @extend_schema(operation_id="vehicles_variants_list", tags=TAGS,
                   summary="Vehicle variants, by model, make and production year")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class VinDecodeApi(APIView):
    required_scopes = [Scope.CATALOG_READ]

    @extend_schema(
        operation_id="vehicles_vin_retrieve",
        tags=TAGS,
        summary="Decode a VIN and list the variants it may be",
        description=(
            "Spaces and dashes are ignored and letters may be lower case. A VIN of the wrong "
            "length or with I, O, Q or other characters is a 400 problem with code "
            "`invalid_vin`. The check digit is reported, not enforced. At most "
            f"{selectors.VIN_CANDIDATE_LIMIT} candidate variants are listed."
        ),
        parameters=[OpenApiParameter("vin", {"type": "string", "pattern": VIN_PATTERN}, OpenApiParameter.PATH,
                                     description="17-character VIN; spaces and dashes are ignored",
                                     examples=[OpenApiExample("Indonesian Honda motorcycle",
                                                              value="MH1JFZ110KK123456")])],
        responses=VinLookupSerializer,
    )
    def get(self, request, vin: str):
        decoded = services.vin_decode(vin=vin)  # its InvalidVin says what is wrong
        if not _VIN_RE.fullmatch(vin):
            raise InvalidVin("A VIN contains only the letters A-Z (without I, O, Q) and digits.",
                                      extra={"vin": decoded.vin})
        limit = selectors.VIN_CANDIDATE_LIMIT
        candidates = list(selectors.variant_candidates_for_vin(decoded=decoded)[: limit + 1])
        body = {
            "decoded": decoded,
            "candidates": candidates[:limit],
            "candidates_truncated": len(candidates) > limit,
        }
        return Response(VinLookupSerializer(body).data)
