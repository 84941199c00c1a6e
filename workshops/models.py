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
