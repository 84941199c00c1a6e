"""How a part's attributes read on its page. Attributes are free JSON (feeds and imports bring a
supplier's own keys), so only the keys and values the platform itself writes are translated;
any other key is shown as written, with underscores as spaces."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from catalog.models import Position
from vehicles.models import Fuel, Transmission, VehicleType

ATTRIBUTE_LABELS = {
    "vehicle_type": _("Vehicle type"),
    "position": _("Position"),
    "fuel": _("Fuel"),
    "transmission": _("Transmission"),
}

ATTRIBUTE_VALUES: dict[str, dict[str, Any]] = {
    "vehicle_type": dict(VehicleType.choices),
    "position": {value: label for value, label in Position.choices if value},
    "fuel": dict(Fuel.choices),
    "transmission": dict(Transmission.choices),
}


def part_attributes_display(*, attributes: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) pairs in the reader's language, sorted by label."""
    rows = []
    for key, value in (attributes or {}).items():
        label = ATTRIBUTE_LABELS.get(key)
        label = str(label) if label is not None else str(key).replace("_", " ").capitalize()
        known = ATTRIBUTE_VALUES.get(key, {})
        shown = known.get(value) if isinstance(value, str) else None
        if shown is None:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        rows.append((label, str(shown)))
    return sorted(rows)
