from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class VehicleType(models.TextChoices):
    CAR = "car", _("Car")
    MOTORCYCLE = "motorcycle", _("Motorcycle")


class Fuel(models.TextChoices):
    PETROL = "petrol", _("Petrol")
    DIESEL = "diesel", _("Diesel")
    HYBRID = "hybrid", _("Hybrid")
    ELECTRIC = "electric", _("Electric")


class Transmission(models.TextChoices):
    MANUAL = "manual", _("Manual")
    AUTOMATIC = "automatic", _("Automatic")
    CVT = "cvt", _("CVT")


class Make(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    country = models.CharField(_("country"), max_length=60, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("make")
        verbose_name_plural = _("makes")

    def __str__(self) -> str:
        return self.name


class VehicleModel(models.Model):
    make = models.ForeignKey(Make, on_delete=models.PROTECT, related_name="models")
    name = models.CharField(_("name"), max_length=80)
    slug = models.SlugField(max_length=80)
    vehicle_type = models.CharField(_("vehicle type"), max_length=12, choices=VehicleType.choices)

    class Meta:
        ordering = ["make__name", "name"]
        verbose_name = _("model")
        verbose_name_plural = _("models")
        constraints = [
            models.UniqueConstraint(fields=["make", "slug"], name="vehicle_model_make_slug_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.make.name} {self.name}"


class VehicleVariant(models.Model):
    """One buildable configuration: model + generation + engine + years.

    year_to is null while the variant is still produced.
    """

    model = models.ForeignKey(VehicleModel, on_delete=models.PROTECT, related_name="variants")
    generation = models.CharField(_("generation"), max_length=40, blank=True)
    name = models.CharField(_("name"), max_length=120, help_text=_("e.g. 1.3 G M/T"))
    year_from = models.PositiveSmallIntegerField(_("from year"))
    year_to = models.PositiveSmallIntegerField(_("to year"), null=True, blank=True)
    engine_code = models.CharField(_("engine code"), max_length=30, blank=True)
    displacement_cc = models.PositiveIntegerField(_("displacement (cc)"), null=True, blank=True)
    fuel = models.CharField(_("fuel"), max_length=10, choices=Fuel.choices, default=Fuel.PETROL)
    transmission = models.CharField(
        _("transmission"), max_length=10, choices=Transmission.choices, blank=True
    )
    body = models.CharField(_("body"), max_length=30, blank=True)
    vehicle_type = models.CharField(_("vehicle type"), max_length=12, choices=VehicleType.choices)

    class Meta:
        ordering = ["model_id", "year_from", "name"]
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        constraints = [
            models.CheckConstraint(
                condition=Q(year_from__gte=1950) & Q(year_from__lte=2100),
                name="variant_year_from_sane",
            ),
            models.CheckConstraint(
                condition=Q(year_to__isnull=True) | Q(year_to__gte=F("year_from")),
                name="variant_years_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["model", "year_from", "year_to"], name="variant_model_years"),
        ]

    def __str__(self) -> str:
        years = f"{self.year_from}–{self.year_to or ''}"
        return f"{self.model} {self.generation} {self.name} ({years})".replace("  ", " ")
