from django.urls import path

from orders.api import (
    CartLineListApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderListCreateApi,
    SupplierOrderDetailApi,
    SupplierOrderListApi,
)

urlpatterns = [
    path("orders/", OrderListCreateApi.as_view(), name="api-orders"),
    path("orders/<str:number>/", OrderDetailApi.as_view(), name="api-order-detail"),
    path("orders/<str:number>/cancel/", OrderCancelApi.as_view(), name="api-order-cancel"),
    path("cart/lines/", CartLineListApi.as_view(), name="api-cart-lines"),
    path("suppliers/me/orders/", SupplierOrderListApi.as_view(), name="api-suppliers-me-orders"),
    path("suppliers/me/orders/<str:number>/", SupplierOrderDetailApi.as_view(), name="api-suppliers-me-order-detail"),
]
