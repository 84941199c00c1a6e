from django.urls import include, path

urlpatterns = [
    # The events feed and the event contract live in their own module (partners/api_feed_urls.py).
    path("", include("partners.api_feed_urls")),
]
