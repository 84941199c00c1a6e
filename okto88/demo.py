"""Demo data for `make run`: the platform's part (accounts). Idempotent."""

from __future__ import annotations

import importlib

from django.db import transaction

from okto88.models import ApiClient, User

DEMO_PASSWORD = "okto88-demo"  # noqa: S105 - demo accounts only, printed by `make run`
DEMO_LOGINS = {
    "operator": "operator@okto88.id",
    "workshop": "bengkel@okto88.id",
    "supplier": "supplier@okto88.id",
}


def demo_user(*, email: str, full_name: str, is_staff: bool = False) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": full_name, "is_staff": is_staff, "is_superuser": is_staff}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def demo_load() -> list[str]:
    demo_user(email=DEMO_LOGINS["operator"], full_name="Operator okto88", is_staff=True)
    ApiClient.objects.get_or_create(name="Demo partner", defaults={"contact_email": "partner@example.co.id"})
    return [f"operator: {DEMO_LOGINS['operator']} / {DEMO_PASSWORD}"]


# Dependency order: each app's demo data may refer to the ones before it.
DEMO_MODULES = [
    "okto88.demo", "vehicles.demo", "catalog.demo", "suppliers.demo", "workshops.demo",
    "payments.demo", "logistics.demo", "orders.demo", "partners.demo",
]


def demo_load_all() -> list[str]:
    """Load every app's demo data; return the lines to show (logins and the like). By module
    name: the platform imports no app, and an app without demo data has no module."""
    lines: list[str] = []
    for module_name in DEMO_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        lines += module.demo_load() or []
    return lines
