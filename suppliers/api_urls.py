from django.urls import include, path

urlpatterns = [
    # Feed import endpoints live in their own module (suppliers/api_feeds_urls.py).
    path("", include("suppliers.api_feeds_urls")),
]
