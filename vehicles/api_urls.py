from django.urls import path

from vehicles.api import MakeListApi, VehicleModelListApi, VehicleVariantListApi, VinDecodeApi

urlpatterns = [
    path("vehicles/makes/", MakeListApi.as_view(), name="api-vehicles-makes"),
    path("vehicles/models/", VehicleModelListApi.as_view(), name="api-vehicles-models"),
    path("vehicles/variants/", VehicleVariantListApi.as_view(), name="api-vehicles-variants"),
    path("vehicles/vin/<str:vin>/", VinDecodeApi.as_view(), name="api-vehicles-vin"),
]
