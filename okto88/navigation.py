"""Navigation by role. Apps add entries here as their pages arrive; unknown routes are skipped."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from okto88.models import Role

NAV_ITEMS: dict[Role, list[tuple[str, str]]] = {
    Role.WORKSHOP_MEMBER: [
        (_("Find parts"), "workshops:parts"),
        (_("Garage"), "workshops:garage"),
        (_("Cart"), "orders:cart"),
        (_("Orders"), "orders:list"),
    ],
    Role.SUPPLIER_MEMBER: [
        (_("Supplier admin"), "admin:index"),
        (_("API docs"), "api-docs"),
    ],
    Role.OPERATOR: [
        (_("Admin"), "admin:index"),
        (_("Catalog import"), "catalog:import"),
        (_("Analytics"), "analytics:dashboard"),
        (_("API docs"), "api-docs"),
    ],
    Role.NONE: [(_("API docs"), "api-docs")],
}


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, url_name in NAV_ITEMS.get(user.role, []):
        try:
            items.append({"label": label, "url": reverse(url_name), "current": False})
        except NoReverseMatch:
            continue
    # The current entry: the one whose URL is the longest start of the path (/ops/ on /ops/load/).
    under = [item for item in items if request.path.startswith(item["url"])]
    if under:
        max(under, key=lambda item: len(item["url"]))["current"] = True
    return {"nav_items": items, "user_role": user.role}
