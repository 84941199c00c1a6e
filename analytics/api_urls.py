from django.urls import path

from analytics.api import OpsOrderTimelineApi, OpsSectionApi, OpsSecurityAlertListApi, OpsStalledApi

urlpatterns = [
    path("ops/security/alerts/", OpsSecurityAlertListApi.as_view(), name="api-ops-security-alerts"),
    path("ops/stalled/", OpsStalledApi.as_view(), name="api-ops-stalled"),
    path("ops/orders/<str:number>/timeline/", OpsOrderTimelineApi.as_view(), name="api-ops-order-timeline"),
    path("ops/<str:section>/", OpsSectionApi.as_view(), name="api-ops-section"),
]
