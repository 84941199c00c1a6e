"""Row locks for logistics, in one place. A transaction locks at most one shipment, so there is
no cross-row order to keep; take it before reading the state you are about to change."""

from __future__ import annotations

from typing import Any

from django.db import connection

from logistics.models import Shipment


def shipment_lock(*, pk: int) -> Shipment:
    return Shipment.objects.select_for_update().select_related("carrier").get(pk=pk)


def shipment_lock_or_create(*, reference: str, defaults: dict[str, Any]) -> tuple[Shipment, bool]:
    """The shipment of this reference, locked, created with `defaults` if there is none yet.

    The usual case, a new reference, is one `INSERT … ON CONFLICT (reference) DO NOTHING
    RETURNING id` (the row it inserts is this transaction's own, so it is held as a lock would
    hold it); only a reference that exists is then read FOR UPDATE. The values are those
    Model.save() would write (each field's pre_save and database preparation: defaults,
    auto_now_add, JSON). get_or_create sent a SELECT FOR UPDATE, then a SAVEPOINT, the INSERT
    and its RELEASE."""
    shipment = Shipment(reference=reference, **defaults)
    fields = [field for field in Shipment._meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(shipment, add=True), connection) for field in fields]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Shipment._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
            " ON CONFLICT (reference) DO NOTHING RETURNING id", values)
        row = cursor.fetchone()
    if row is None:
        return Shipment.objects.select_for_update().get(reference=reference), False
    shipment.pk = row[0]
    shipment._state.adding, shipment._state.db = False, connection.alias
    return shipment, True
