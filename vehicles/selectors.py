"""Reads over makes, models and variants. Vehicle master data is public to every caller
with `catalog:read`, so nothing here is scoped to an actor."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from vehicles.models import Make, VehicleModel, VehicleVariant
from vehicles.vin import DecodedVin

VIN_CANDIDATE_LIMIT = 100


def make_list(*, vehicle_type: str | None = None) -> QuerySet[Make]:
    """Makes, optionally only those that have models of one vehicle type (car/motorcycle)."""
    makes = Make.objects.all()
    if vehicle_type:
        makes = make_filter_vehicle_type(queryset=makes, vehicle_type=vehicle_type)
    return makes


def make_filter_vehicle_type(*, queryset: QuerySet[Make], vehicle_type: str) -> QuerySet[Make]:
    # EXISTS rather than a join + DISTINCT: one row per make, and the cursor can paginate
    # on the unique name.
    return queryset.filter(Exists(
        VehicleModel.objects.filter(make_id=OuterRef("pk"), vehicle_type=vehicle_type)
    ))


def vehicle_model_list(*, make_id: int | None = None,
                       vehicle_type: str | None = None) -> QuerySet[VehicleModel]:
    models = VehicleModel.objects.select_related("make")
    if make_id is not None:
        models = models.filter(make_id=make_id)
    if vehicle_type:
        models = models.filter(vehicle_type=vehicle_type)
    return models


def variant_year_q(*, year: int, prefix: str = "") -> Q:
    """Variants built in `year`: both bounds inclusive, a null year_to is still produced."""
    return Q(**{f"{prefix}year_from__lte": year}) & (
        Q(**{f"{prefix}year_to__isnull": True}) | Q(**{f"{prefix}year_to__gte": year})
    )


def variant_list(*, model_id: int | None = None, make_id: int | None = None,
                 year: int | None = None, vehicle_type: str | None = None,
                 make_names: tuple[str, ...] | list[str] | None = None) -> QuerySet[VehicleVariant]:
    variants = VehicleVariant.objects.select_related("model__make")
    if model_id is not None:
        variants = variants.filter(model_id=model_id)
    if make_id is not None:
        variants = variants.filter(model__make_id=make_id)
    if make_names is not None:
        variants = variants.filter(model__make__name__in=list(make_names))
    if year is not None:
        variants = variants.filter(variant_year_q(year=year))
    if vehicle_type:
        variants = variants.filter(vehicle_type=vehicle_type)
    return variants


def variant_candidates_for_vin(*, decoded: DecodedVin) -> QuerySet[VehicleVariant]:
    """Variants a decoded VIN may be: the WMI's brand(s), the model year, the vehicle type.

    A VIN's model descriptor (VDS) is maker-specific and not mapped yet, so this narrows to
    make + year; the caller shows the list for the user to choose from.
    """
    if not decoded.makes:
        return VehicleVariant.objects.none()
    variants = variant_list(make_names=decoded.makes, year=decoded.model_year,
                            vehicle_type=decoded.vehicle_type)
    return variants.order_by("model__make__name", "model__name", "year_from", "name", "pk")
