from django.urls import path

from suppliers.api_feeds import FeedImportCreateApi, FeedImportDetailApi, FeedImportReportApi

urlpatterns = [
    path("suppliers/me/feeds/", FeedImportCreateApi.as_view(), name="api-supplier-feeds"),
    path("suppliers/me/feeds/<int:feed_import_id>/", FeedImportDetailApi.as_view(), name="api-supplier-feed-detail"),
    path("suppliers/me/feeds/<int:feed_import_id>/report/", FeedImportReportApi.as_view(),
         name="api-supplier-feed-report"),
]
