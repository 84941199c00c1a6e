"""Staff admin for vehicle master data, built to stay fast with 20,000+ variants:
no full COUNT(*) on filtered pages, related rows fetched in the list query, and
autocomplete widgets instead of <select>s with every model in them."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from vehicles.models import Make, VehicleModel, VehicleVariant


@admin.register(Make)
class MakeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "country"]
    search_fields = ["name", "slug"]
    list_filter = ["country"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["name"]


@admin.register(VehicleModel)
class VehicleModelAdmin(admin.ModelAdmin):
    list_display = ["name", "make", "vehicle_type", "slug"]
    list_filter = ["vehicle_type", "make"]
    search_fields = ["name", "slug", "make__name"]
    autocomplete_fields = ["make"]
    list_select_related = ["make"]
    prepopulated_fields = {"slug": ["name"]}
    show_full_result_count = False
    ordering = ["make__name", "name"]


@admin.register(VehicleVariant)
class VehicleVariantAdmin(admin.ModelAdmin):
    list_display = [
        "__str__", "make_name", "generation", "year_from", "year_to", "engine_code",
        "displacement_cc", "fuel", "transmission", "vehicle_type",
    ]
    # "model__make" lists the makes table (dozens of rows), not DISTINCT over the variants.
    list_filter = ["vehicle_type", "fuel", "transmission", "model__make"]
    # "=" and "^" keep the lookups index-friendly; engine codes are searched by prefix.
    search_fields = ["model__name", "=model__make__name", "name", "generation", "^engine_code"]
    autocomplete_fields = ["model"]
    list_select_related = ["model__make"]
    show_full_result_count = False
    list_per_page = 50
    ordering = ["model__make__name", "model__name", "year_from", "name"]

    @admin.display(description=_("make"), ordering="model__make__name")
    def make_name(self, obj: VehicleVariant) -> str:
        return obj.model.make.name
