"""Query parameters of the vehicle list endpoints. Invalid values are 400s, never 500s:
ids and years are bounded integers, vehicle types a closed choice."""

from __future__ import annotations

import django_filters
from django import forms

from vehicles.models import Make, VehicleModel, VehicleType, VehicleVariant
from vehicles.selectors import make_filter_vehicle_type, variant_year_q

MAX_ID = 2**63 - 1  # bigint: anything larger would reach PostgreSQL and fail there


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class YearFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1900)
        kwargs.setdefault("max_value", 2100)
        super().__init__(*args, **kwargs)


class MakeFilter(django_filters.FilterSet):
    vehicle_type = django_filters.ChoiceFilter(
        choices=VehicleType.choices, method="filter_vehicle_type",
        label="Only makes with models of this vehicle type",
    )

    class Meta:
        model = Make
        fields = ["vehicle_type"]

    def filter_vehicle_type(self, queryset, name, value):
        if not value:
            return queryset
        return make_filter_vehicle_type(queryset=queryset, vehicle_type=value)


class VehicleModelFilter(django_filters.FilterSet):
    make = IdFilter(field_name="make_id", label="Make id")
    vehicle_type = django_filters.ChoiceFilter(choices=VehicleType.choices)

    class Meta:
        model = VehicleModel
        fields = ["make", "vehicle_type"]


class VehicleVariantFilter(django_filters.FilterSet):
    model = IdFilter(field_name="model_id", label="Model id")
    make = IdFilter(field_name="model__make_id", label="Make id")
    year = YearFilter(
        method="filter_year",
        label="Built in this year: year_from <= year <= year_to (no year_to: still produced)",
    )
    vehicle_type = django_filters.ChoiceFilter(choices=VehicleType.choices)

    class Meta:
        model = VehicleVariant
        fields = ["model", "make", "year", "vehicle_type"]

    def filter_year(self, queryset, name, value):
        return queryset.filter(variant_year_q(year=value)) if value is not None else queryset
