"""Demo workshop and its member login."""

from __future__ import annotations

from django.db import transaction

from okto88.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_user
from workshops.models import MemberRole, Workshop, WorkshopMember


@transaction.atomic
def demo_load() -> list[str]:
    workshop, _ = Workshop.objects.get_or_create(
        name="Bengkel Maju Jaya", defaults={"npwp": "01.234.567.8-901.000", "credit_limit": 25_000_000}
    )
    user = demo_user(email=DEMO_LOGINS["workshop"], full_name="Budi Santoso")
    WorkshopMember.objects.get_or_create(user=user, defaults={"workshop": workshop, "role": MemberRole.OWNER})
    return [f"workshop: {DEMO_LOGINS['workshop']} / {DEMO_PASSWORD}"]
