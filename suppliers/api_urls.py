from django.urls import include, path

from suppliers.api import SupplierOfferListApi, SupplierStockBulkSetApi

urlpatterns = [
    path("suppliers/me/stock/", SupplierStockBulkSetApi.as_view(), name="api-suppliers-me-stock"),
    path("suppliers/me/offers/", SupplierOfferListApi.as_view(), name="api-suppliers-me-offers"),
    # parts/<pk>/offers/ (api-part-offers) is orders' (orders/api_urls.py): offers with their delivery.
    # Feed import endpoints live in their own module (suppliers/api_feeds_urls.py).
    path("", include("suppliers.api_feeds_urls")),
]
