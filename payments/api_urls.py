from django.urls import path

from payments.api import PaymentNotificationApi

urlpatterns = [
    path("payments/notifications/", PaymentNotificationApi.as_view(), name="api-payments-notifications"),
]
