"""Warehouses of a supplier: a code unique per supplier, a real courier area."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from okto88.areas import area_resolve
from okto88.errors import InvalidField
from suppliers.errors import DuplicateWarehouseCode
from suppliers.models import Supplier, Warehouse
from suppliers.services.best_offers import part_best_offer_refresh


def _warehouse_code(code: str) -> str:
    code = (code or "").strip().upper()
    if not code or len(code) > 20:
        raise InvalidField("A warehouse code has 1–20 characters, e.g. JKT1.", extra={"field": "code"})
    return code


@transaction.atomic
def warehouse_create(*, supplier: Supplier, code: str, name: str, province: str, city: str, district: str,
                     postal_code: str, address_line: str = "", is_active: bool = True) -> Warehouse:
    """Raises UnknownArea naming the field (province, city, district, postal_code) that is wrong."""
    code = _warehouse_code(code)
    area = area_resolve(province=province, city=city, district=district, postal_code=postal_code)
    if Warehouse.objects.filter(supplier=supplier, code=code).exists():
        raise DuplicateWarehouseCode(extra={"field": "code", "value": code})
    return Warehouse.objects.create(
        supplier=supplier, code=code, name=(name or code).strip(), province=area.province, city=area.city,
        district=area.district, postal_code=area.postal_code, region_code=area.region_code,
        address_line=(address_line or "").strip(), is_active=is_active,
    )


WAREHOUSE_UPDATABLE = {"code", "name", "province", "city", "district", "postal_code", "address_line", "is_active"}
AREA_FIELDS = ("province", "city", "district", "postal_code")


@transaction.atomic
def warehouse_update(*, warehouse: Warehouse, data: Mapping[str, Any]) -> Warehouse:
    unknown = set(data) - WAREHOUSE_UPDATABLE
    if unknown:
        raise InvalidField(f"Cannot change: {', '.join(sorted(unknown))}.", extra={"fields": sorted(unknown)})
    if "code" in data:
        code = _warehouse_code(data["code"])
        if Warehouse.objects.filter(supplier_id=warehouse.supplier_id, code=code).exclude(pk=warehouse.pk).exists():
            raise DuplicateWarehouseCode(extra={"field": "code", "value": code})
        warehouse.code = code
    if any(name in data for name in AREA_FIELDS):
        area = area_resolve(**{name: data.get(name, getattr(warehouse, name)) for name in AREA_FIELDS})
        warehouse.province, warehouse.city, warehouse.district = area.province, area.city, area.district
        warehouse.postal_code, warehouse.region_code = area.postal_code, area.region_code
    was_active = Warehouse.objects.filter(pk=warehouse.pk).values_list("is_active", flat=True).first()
    for name in ("name", "address_line", "is_active"):
        if name in data:
            setattr(warehouse, name, data[name])
    warehouse.save()
    if warehouse.is_active != was_active:  # only active warehouses ship: their stock counts as available
        part_best_offer_refresh(warehouse_id=warehouse.pk)
    return warehouse
