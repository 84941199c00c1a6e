from django.urls import path

from orders.api import CartLineListApi, OrderCancelApi, OrderDetailApi, OrderListCreateApi

urlpatterns = [
    path("orders/", OrderListCreateApi.as_view(), name="api-orders"),
    path("orders/<str:number>/", OrderDetailApi.as_view(), name="api-order-detail"),
    path("orders/<str:number>/cancel/", OrderCancelApi.as_view(), name="api-order-cancel"),
    path("cart/lines/", CartLineListApi.as_view(), name="api-cart-lines"),
]
