from django.urls import include, path

from suppliers.api import PartOfferListApi, SupplierOfferListApi, SupplierStockBulkSetApi

urlpatterns = [
    path("suppliers/me/stock/", SupplierStockBulkSetApi.as_view(), name="api-suppliers-me-stock"),
    path("suppliers/me/offers/", SupplierOfferListApi.as_view(), name="api-suppliers-me-offers"),
    path("parts/<int:pk>/offers/", PartOfferListApi.as_view(), name="api-part-offers"),
    # Feed import endpoints live in their own module (suppliers/api_feeds_urls.py).
    path("", include("suppliers.api_feeds_urls")),
]
