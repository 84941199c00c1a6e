"""Demo supplier and its member login."""

from __future__ import annotations

from django.db import transaction

from okto88.demo import DEMO_LOGINS, DEMO_PASSWORD, demo_user
from suppliers.models import MemberRole, Supplier, SupplierMember, SupplierStatus


@transaction.atomic
def demo_load() -> list[str]:
    supplier, _ = Supplier.objects.get_or_create(
        legal_name="PT Sinar Jaya Motor Parts",
        defaults={
            "npwp": "02.345.678.9-012.000",
            "status": SupplierStatus.ACTIVE,
            "contact_email": "sales@sinarjaya.co.id",
        },
    )
    user = demo_user(email=DEMO_LOGINS["supplier"], full_name="Siti Rahayu")
    SupplierMember.objects.get_or_create(user=user, defaults={"supplier": supplier, "role": MemberRole.OWNER})
    return [f"supplier: {DEMO_LOGINS['supplier']} / {DEMO_PASSWORD}"]
