"""Query parameters of the vehicle list endpoints. Invalid values are 400s, never 500s:
ids and years are bounded integers, vehicle types a closed choice."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema_field

from okto88.api.filters import ChoiceFilter, IdFilter, IntegerFilter
from vehicles.models import Make, VehicleModel, VehicleType, VehicleVariant
from vehicles.selectors import make_filter_vehicle_type, variant_year_q


@extend_schema_field({"type": "integer", "minimum": 1900, "maximum": 2100})
class YearFilter(IntegerFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1900)
        kwargs.setdefault("max_value", 2100)
        super().__init__(*args, **kwargs)


class MakeFilter(django_filters.FilterSet):
    vehicle_type = ChoiceFilter(
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
    vehicle_type = ChoiceFilter(choices=VehicleType.choices)

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
    vehicle_type = ChoiceFilter(choices=VehicleType.choices)

    class Meta:
        model = VehicleVariant
        fields = ["model", "make", "year", "vehicle_type"]

    def filter_year(self, queryset, name, value):
        return queryset.filter(variant_year_q(year=value)) if value is not None else queryset
