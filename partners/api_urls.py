from django.urls import include, path

from partners.api import (
    DeliveryDetailApi,
    DeliveryListApi,
    DeliveryReplayApi,
    EndpointDetailApi,
    EndpointListCreateApi,
    EndpointReplayFailedApi,
    EndpointSecretRotateApi,
    EndpointTestSendApi,
    EventTypeListApi,
)

ENDPOINT = "webhooks/endpoints/<int:endpoint_id>/"

urlpatterns = [
    # The events feed and the event contract live in their own module (partners/api_feed_urls.py).
    path("", include("partners.api_feed_urls")),
    path("webhooks/event-types/", EventTypeListApi.as_view(), name="api-webhooks-event-types"),
    path("webhooks/endpoints/", EndpointListCreateApi.as_view(), name="api-webhooks-endpoints"),
    path(ENDPOINT, EndpointDetailApi.as_view(), name="api-webhooks-endpoint"),
    path(f"{ENDPOINT}rotate-secret/", EndpointSecretRotateApi.as_view(), name="api-webhooks-endpoint-rotate-secret"),
    path(f"{ENDPOINT}test/", EndpointTestSendApi.as_view(), name="api-webhooks-endpoint-test"),
    path(f"{ENDPOINT}replay-failed/", EndpointReplayFailedApi.as_view(), name="api-webhooks-endpoint-replay-failed"),
    path(f"{ENDPOINT}deliveries/", DeliveryListApi.as_view(), name="api-webhooks-deliveries"),
    path(f"{ENDPOINT}deliveries/<int:delivery_id>/", DeliveryDetailApi.as_view(), name="api-webhooks-delivery"),
    path(f"{ENDPOINT}deliveries/<int:delivery_id>/replay/", DeliveryReplayApi.as_view(),
         name="api-webhooks-delivery-replay"),
]
