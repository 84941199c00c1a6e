from django.conf import settings
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from okto88.api.views import MeApi

urlpatterns = [
    path("me/", MeApi.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script at docs/?script: no inline script (the CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

# Each app adds its endpoints in its own api_urls module.
for app_label in settings.PROJECT_APPS:
    try:
        __import__(f"{app_label}.api_urls")
    except ModuleNotFoundError as exc:
        if exc.name != f"{app_label}.api_urls":
            raise
        continue
    urlpatterns.append(path("", include(f"{app_label}.api_urls")))
