"""Logistics test data: real Indonesian areas (as okto88.areas resolves them) and carriers."""

from __future__ import annotations

import uuid

from logistics.models import Carrier

CARRIERS = [("jne", "JNE"), ("sicepat", "SiCepat"), ("jnt", "J&T Express"), ("anteraja", "AnterAja")]

JAKARTA_SELATAN = {"province": "Daerah Khusus Ibukota Jakarta", "city": "Kota Administrasi Jakarta Selatan",
                   "district": "Kebayoran Baru", "postal_code": "12110"}
JAKARTA_TIMUR = {"province": "Daerah Khusus Ibukota Jakarta", "city": "Kota Administrasi Jakarta Timur",
                 "district": "Matraman", "postal_code": "13110"}
BANDUNG = {"province": "Jawa Barat", "city": "Kota Bandung", "district": "Sukasari", "postal_code": "40151"}
MAKASSAR = {"province": "Sulawesi Selatan", "city": "Kota Makassar", "district": "Mariso", "postal_code": "90121"}
JAYAPURA = {"province": "Papua", "city": "Kota Jayapura", "district": "Jayapura Utara", "postal_code": "99111"}


def carriers_seed() -> dict[str, Carrier]:
    """The carriers the data migration seeds; transactional tests flush them, so seed again."""
    return {code: Carrier.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in CARRIERS}


def new_reference() -> str:
    # The fake courier lives for the whole session: every test books under its own reference.
    return f"SO-{uuid.uuid4().hex[:12].upper()}"
