from django.urls import path

from logistics.api import TrackingNotificationApi

urlpatterns = [
    path("logistics/notifications/", TrackingNotificationApi.as_view(), name="api-logistics-notifications"),
]
