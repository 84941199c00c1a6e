from django.urls import path

from catalog.api import (
    BrandListApi,
    CategoryListApi,
    PartDetailApi,
    PartFitmentListApi,
    PartListApi,
    PartLookupApi,
)

urlpatterns = [
    path("categories/", CategoryListApi.as_view(), name="api-categories"),
    path("brands/", BrandListApi.as_view(), name="api-brands"),
    path("parts/", PartListApi.as_view(), name="api-parts"),
    path("parts/lookup/", PartLookupApi.as_view(), name="api-parts-lookup"),
    path("parts/<int:pk>/", PartDetailApi.as_view(), name="api-part-detail"),
    path("parts/<int:pk>/fitments/", PartFitmentListApi.as_view(), name="api-part-fitments"),
]
