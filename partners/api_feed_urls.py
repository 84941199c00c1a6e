from django.urls import path

from partners.api_feed import EventContractApi, EventFeedApi

urlpatterns = [
    path("events/", EventFeedApi.as_view(), name="api-events"),
    path("events/asyncapi.json", EventContractApi.as_view(), name="api-events-asyncapi"),
]
