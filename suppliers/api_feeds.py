"""Feed imports through the API (scope stock:write), always for the caller's own supplier.

The caller is an API client bound to a supplier (SupplierApiClient) or a logged-in supplier
member; anybody else gets 403 `no_supplier`. Another supplier's import id answers 404.
"""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiRequest, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from okto88.models import Scope
from suppliers import feeds
from suppliers.errors import FeedImportNotFound, NoSupplier
from suppliers.models import FeedImport
from suppliers.selectors import supplier_for_actor

FIRST_ERRORS = 20


class FeedUploadSerializer(serializers.Serializer):
    # An empty file is taken like any other: its import fails with "the file is empty" in its
    # report, as every other unreadable content does.
    file = serializers.FileField(allow_empty_file=True, help_text="CSV (UTF-8) or XLSX (by its name, or sent as "
                                 "text/csv or the XLSX media type): sku, brand, part_number, price, "
                                           "lead_time_days, stock_<warehouse code>…; price in whole rupiah "
                                           "(189000, 189.000 or Rp 189.000). An XLSX that unpacks too large is "
                                           "refused with 413; too many rows or columns, or an overlong line, "
                                           "fail the import with the reason in `error`.")


class FeedRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    value = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class FeedImportSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    rows_per_second = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField(help_text=f"The first {FIRST_ERRORS} rows of the error report")
    errors_report_url = serializers.SerializerMethodField()

    class Meta:
        model = FeedImport
        fields = ["id", "url", "original_name", "status", "rows_total", "rows_done", "rows_rejected",
                  "offers_changed", "stock_changed", "rows_per_second", "error", "errors", "errors_report_url",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def _absolute(self, name: str, obj: FeedImport) -> str:
        path = reverse(name, kwargs={"feed_import_id": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: FeedImport) -> str:
        return self._absolute("api-supplier-feed-detail", obj)

    def get_rows_per_second(self, obj: FeedImport) -> float | None:
        return feeds.feed_import_rate(feed_import=obj)

    @extend_schema_field(FeedRowErrorSerializer(many=True))
    def get_errors(self, obj: FeedImport) -> list[dict]:
        return feeds.feed_import_errors_head(feed_import=obj, limit=FIRST_ERRORS)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})  # null until a report exists
    def get_errors_report_url(self, obj: FeedImport) -> str | None:
        return self._absolute("api-supplier-feed-report", obj) if obj.errors_report else None


def _caller_supplier(request):
    supplier = supplier_for_actor(actor=request.user)
    if supplier is None:  # an operator: "me" names no supplier
        raise NoSupplier("Operators are not bound to a supplier; use admin to upload for one.")
    return supplier


class FeedImportCreateApi(APIView):
    required_scopes = [Scope.STOCK_WRITE]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="supplier_feeds_create", tags=["suppliers"], request={"multipart/form-data": OpenApiRequest(
            FeedUploadSerializer, encoding={"file": {"contentType": ", ".join(feeds.FEED_MEDIA_TYPES)}})},
        responses={202: FeedImportSerializer,
                   413: OpenApiResponse(description="`feed_upload_too_large`: larger than the upload limit, or an "
                                                    "XLSX whose parts unpack too large (problem+json)"),
                   415: OpenApiResponse(description="`feed_file_unsupported`: the file is neither .csv nor .xlsx "
                                                    "(problem+json)")},
        description="Upload a price/stock feed for the caller's supplier. The import runs in the background; "
                    "poll the URL in `Location`.",
    )
    def post(self, request):
        supplier = _caller_supplier(request)
        serializer = FeedUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        feed_import = feeds.feed_import_create(supplier=supplier, file=serializer.validated_data["file"],
                                               actor=request.user)
        body = FeedImportSerializer(feed_import, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class FeedImportDetailApi(APIView):
    required_scopes = [Scope.STOCK_WRITE]

    @extend_schema(operation_id="supplier_feeds_retrieve", tags=["suppliers"],
                   responses={200: FeedImportSerializer})
    def get(self, request, feed_import_id: int):
        supplier = _caller_supplier(request)
        feed_import = _own_feed(supplier, feed_import_id)
        return Response(FeedImportSerializer(feed_import, context={"request": request}).data)


class FeedImportReportApi(APIView):
    required_scopes = [Scope.STOCK_WRITE]

    @extend_schema(
        operation_id="supplier_feeds_report", tags=["suppliers"],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="row,column,value,message")},
    )
    def get(self, request, feed_import_id: int):
        supplier = _caller_supplier(request)
        feed_import = _own_feed(supplier, feed_import_id)
        if not feed_import.errors_report:
            raise FeedImportNotFound("This import has no error report.")
        return FileResponse(feed_import.errors_report.open("rb"), as_attachment=True,
                            filename=f"feed-{feed_import.pk}-errors.csv", content_type="text/csv")


def _own_feed(supplier, feed_import_id: int) -> FeedImport:
    feed_import = FeedImport.objects.filter(supplier=supplier, pk=feed_import_id).first()
    if feed_import is None:
        raise FeedImportNotFound()
    return feed_import
