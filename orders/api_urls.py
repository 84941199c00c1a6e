from django.urls import path

from orders.api import (
    CartLineListApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderListCreateApi,
    SupplierOrderAcceptApi,
    SupplierOrderDetailApi,
    SupplierOrderListApi,
    SupplierOrderReadyApi,
    SupplierOrderRejectApi,
)

urlpatterns = [
    path("orders/", OrderListCreateApi.as_view(), name="api-orders"),
    path("orders/<str:number>/", OrderDetailApi.as_view(), name="api-order-detail"),
    path("orders/<str:number>/cancel/", OrderCancelApi.as_view(), name="api-order-cancel"),
    path("cart/lines/", CartLineListApi.as_view(), name="api-cart-lines"),
    path("suppliers/me/orders/", SupplierOrderListApi.as_view(), name="api-suppliers-me-orders"),
    path("suppliers/me/orders/<str:number>/", SupplierOrderDetailApi.as_view(), name="api-suppliers-me-order-detail"),
    path("suppliers/me/orders/<str:number>/accept/", SupplierOrderAcceptApi.as_view(),
         name="api-suppliers-me-order-accept"),
    path("suppliers/me/orders/<str:number>/reject/", SupplierOrderRejectApi.as_view(),
         name="api-suppliers-me-order-reject"),
    path("suppliers/me/orders/<str:number>/ready-to-ship/", SupplierOrderReadyApi.as_view(),
         name="api-suppliers-me-order-ready"),
]
