from django.urls import path

from workshops import views

app_name = "workshops"

urlpatterns = [
    path("bengkel/parts/", views.parts, name="parts"),
    path("bengkel/vehicle/selector/", views.vehicle_selector, name="vehicle_selector"),
    path("bengkel/vehicle/select/", views.vehicle_select, name="vehicle_select"),
    path("bengkel/vehicle/vin/", views.vin_lookup, name="vin_lookup"),
    path("bengkel/garage/", views.garage, name="garage"),
]
