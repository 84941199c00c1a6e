from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Workshop(models.Model):
    """A bengkel that buys parts."""

    name = models.CharField(_("name"), max_length=160)
    npwp = models.CharField(_("NPWP"), max_length=20, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    credit_limit = models.BigIntegerField(_("credit limit (Rp)"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("workshop")
        verbose_name_plural = _("workshops")
        constraints = [
            models.CheckConstraint(condition=models.Q(credit_limit__gte=0), name="workshop_credit_limit_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name


class WorkshopApiClient(models.Model):
    """Binds a partner API client (a workshop's fleet system) to the one workshop it orders for."""

    api_client = models.OneToOneField("platform.ApiClient", on_delete=models.CASCADE, related_name="workshop_access")
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="api_clients")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("workshop API client")
        verbose_name_plural = _("workshop API clients")

    def __str__(self) -> str:
        return f"{self.api_client} → {self.workshop}"


class MemberRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Staff")


class WorkshopMember(models.Model):
    """A user belongs to at most one workshop."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workshop_membership")
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(_("role"), max_length=10, choices=MemberRole.choices, default=MemberRole.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("workshop member")
        verbose_name_plural = _("workshop members")

    def __str__(self) -> str:
        return f"{self.user} @ {self.workshop}"


class Address(models.Model):
    """A delivery address: an Indonesian administrative area (validated by services)."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=60, default="Bengkel")
    recipient_name = models.CharField(_("recipient"), max_length=120)
    phone = models.CharField(_("phone"), max_length=32)
    street = models.CharField(_("street address"), max_length=200)
    province = models.CharField(_("province"), max_length=80)
    city = models.CharField(_("regency/city"), max_length=80)
    district = models.CharField(_("district"), max_length=80)
    postal_code = models.CharField(_("postal code"), max_length=5)
    region_code = models.CharField(_("region code"), max_length=20, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["workshop"], condition=models.Q(is_default=True), name="address_one_default_per_workshop"
            ),
            models.CheckConstraint(
                condition=models.Q(postal_code__regex=r"^[0-9]{5}$"), name="address_postal_code_5_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.street}, {self.district}, {self.city}"


class CustomerVehicle(models.Model):
    """A vehicle of one of the workshop's customers (the garage)."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="vehicles")
    plate_number = models.CharField(_("plate number"), max_length=12)
    vin = models.CharField(_("VIN"), max_length=17, blank=True)
    variant = models.ForeignKey(
        "vehicles.VehicleVariant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner_name = models.CharField(_("owner"), max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer vehicle")
        verbose_name_plural = _("customer vehicles")
        constraints = [
            models.UniqueConstraint(fields=["workshop", "plate_number"], name="customer_vehicle_plate_unique"),
        ]

    def __str__(self) -> str:
        return self.plate_number
