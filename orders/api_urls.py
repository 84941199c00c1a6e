from django.urls import path

from orders.api import (
    CartLineListApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderInvoicePdfApi,
    OrderListCreateApi,
    PartOfferListApi,
    SupplierOrderAcceptApi,
    SupplierOrderDetailApi,
    SupplierOrderLabelPdfApi,
    SupplierOrderListApi,
    SupplierOrderPackingSlipPdfApi,
    SupplierOrderReadyApi,
    SupplierOrderRejectApi,
)

urlpatterns = [
    path("orders/", OrderListCreateApi.as_view(), name="api-orders"),
    path("orders/<str:number>/", OrderDetailApi.as_view(), name="api-order-detail"),
    path("orders/<str:number>/cancel/", OrderCancelApi.as_view(), name="api-order-cancel"),
    path("orders/<str:number>/invoices/<str:supplier_order_number>.pdf", OrderInvoicePdfApi.as_view(),
         name="api-order-invoice-pdf"),
    path("cart/lines/", CartLineListApi.as_view(), name="api-cart-lines"),
    path("parts/<int:pk>/offers/", PartOfferListApi.as_view(), name="api-part-offers"),
    path("suppliers/me/orders/", SupplierOrderListApi.as_view(), name="api-suppliers-me-orders"),
    path("suppliers/me/orders/<str:number>/", SupplierOrderDetailApi.as_view(), name="api-suppliers-me-order-detail"),
    path("suppliers/me/orders/<str:number>/accept/", SupplierOrderAcceptApi.as_view(),
         name="api-suppliers-me-order-accept"),
    path("suppliers/me/orders/<str:number>/reject/", SupplierOrderRejectApi.as_view(),
         name="api-suppliers-me-order-reject"),
    path("suppliers/me/orders/<str:number>/ready-to-ship/", SupplierOrderReadyApi.as_view(),
         name="api-suppliers-me-order-ready"),
    path("suppliers/me/orders/<str:number>/label.pdf", SupplierOrderLabelPdfApi.as_view(),
         name="api-suppliers-me-order-label-pdf"),
    path("suppliers/me/orders/<str:number>/packing-slip.pdf", SupplierOrderPackingSlipPdfApi.as_view(),
         name="api-suppliers-me-order-packing-slip-pdf"),
]
