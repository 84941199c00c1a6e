"""The operations view's pages (included at the site root by okto88/urls.py)."""

from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("ops/", views.dashboard, name="dashboard"),
    path("ops/stalled/", views.stalled, name="stalled"),
    path("ops/orders/<str:number>/", views.order_timeline, name="order_timeline"),
    path("ops/orders/<str:number>/redrive/", views.order_redrive, name="order_redrive"),
    path("ops/security/", views.security_alerts, name="security"),
    path("ops/security/<int:alert_id>/acknowledge/", views.security_alert_acknowledge, name="security_acknowledge"),
    path("ops/security/<int:alert_id>/mute/", views.security_alert_mute, name="security_mute"),
    path("ops/<slug:section>/", views.section_page, name="section"),
]
