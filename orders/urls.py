from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("bengkel/parts/<int:part_id>/", views.part_detail, name="part"),
    path("bengkel/cart/", views.cart, name="cart"),
    path("bengkel/cart/add/", views.cart_add, name="cart_add"),
    path("bengkel/cart/update/", views.cart_update, name="cart_update"),
    path("bengkel/cart/remove/", views.cart_remove, name="cart_remove"),
    path("bengkel/cart/checkout/", views.checkout, name="checkout"),
    path("bengkel/cart/optimise/", views.cart_optimise, name="cart_optimise"),
    path("bengkel/cart/optimise/apply/", views.cart_optimise_apply, name="cart_optimise_apply"),
    path("bengkel/cart/lock/", views.cart_lock, name="cart_lock"),
    path("bengkel/orders/", views.order_list, name="list"),
    path("bengkel/orders/<str:number>/", views.order_detail, name="detail"),
    path("bengkel/orders/<str:number>/payment/", views.order_payment, name="payment"),
    path("bengkel/orders/<str:number>/live/", views.order_live, name="live"),
    path("bengkel/orders/<str:number>/reorder/", views.order_reorder, name="reorder"),
    path("bengkel/orders/<str:number>/lines/<int:line_id>/order-again/", views.order_line_order_again,
         name="line_order_again"),
    path("bengkel/orders/<str:number>/cancel/", views.order_cancel, name="cancel"),
    path("bengkel/orders/<str:number>/tracking/<str:supplier_order_number>/", views.order_tracking, name="tracking"),
    path("bengkel/orders/<str:number>/invoices/<str:supplier_order_number>.pdf", views.order_invoice_pdf,
         name="invoice_pdf"),
    path("bengkel/badges/", views.header_badges, name="header_badges"),
    path("bengkel/notifications/", views.notifications, name="notifications"),
    path("bengkel/notifications/<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("bengkel/notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
]
