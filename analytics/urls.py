"""The operations view's pages (included at the site root by okto88/urls.py)."""

from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("ops/", views.dashboard, name="dashboard"),
    path("ops/stalled/", views.stalled, name="stalled"),
    path("ops/orders/<str:number>/", views.order_timeline, name="order_timeline"),
    path("ops/orders/<str:number>/redrive/", views.order_redrive, name="order_redrive"),
    path("ops/<slug:section>/", views.section_page, name="section"),
]
