"""One outbox event per changed part, with catalog.events' builders: the shape a single change writes."""

from __future__ import annotations

from catalog import events
from catalog.imports.kinds import ImportKind
from catalog.imports.report import PROGRESS_EVERY, Progress
from catalog.imports.writing import _Changes
from catalog.models import Fitment, Part
from okto88.services import NewOutboxEvent, outbox_events_write

EVENT_BATCH = 5000


def _event(kind: str, *, part: dict, change: dict | None, actor_id: int | None,
           new_numbers: dict[int, str], fitted: dict[int, list[int]]) -> tuple[str, dict]:
    """The topic and payload of one part's event, from the topic's builder in catalog.events:
    the same shape a single change writes."""
    origin = {"source": events.SOURCE_IMPORT, "actor_id": actor_id}
    if change is None:
        return "part.created", events.part_created_payload(part=part, **origin)
    if kind == ImportKind.PARTS:
        changed = change["changed"]
        if "superseded_by" in changed and part["superseded_by_id"] is not None:
            return "part.superseded", events.part_superseded_payload(
                part=part, new_part_id=part["superseded_by_id"], new_number=new_numbers[part["superseded_by_id"]],
                changed=changed, **origin)
        return "part.updated", events.part_updated_payload(part=part, changed=changed, **origin)
    if kind == ImportKind.CROSSREFS:
        return "part.updated", events.part_updated_payload(
            part=part, changed=["cross_references"], cross_reference_ids=change["added"] + change["modified"], **origin)
    # The import only adds or changes fitment, never removes it (that is fitment_set's job).
    return "part.fitment_changed", events.part_fitment_changed_payload(
        part=part, variant_ids=fitted.get(part["id"], []), added_variant_ids=change["added"],
        changed_variant_ids=change["modified"], removed_variant_ids=[], **origin)


def _write_events(*, kind: str, changes: _Changes, actor, progress: Progress | None) -> int:
    ids = changes.part_ids()
    total, done = len(ids), 0
    actor_id = actor.pk if actor is not None else None
    for start in range(0, total, EVENT_BATCH):
        parts = [dict(zip(events.PART_FIELDS, values, strict=True)) for values in
                 Part.objects.filter(id__in=ids[start:start + EVENT_BATCH]).order_by("id")
                 .values_list(*events.PART_FIELDS)]
        # What the payloads name beyond the part's own row, one query per batch.
        new_numbers: dict[int, str] = {}
        fitted: dict[int, list[int]] = {}
        if kind == ImportKind.PARTS:
            successors = {p["superseded_by_id"] for p in parts if p["superseded_by_id"] is not None}
            new_numbers = dict(Part.objects.filter(pk__in=successors).values_list("pk", "number"))
        elif kind == ImportKind.FITMENT:
            for part_id, variant_id in (Fitment.objects.filter(part_id__in=[p["id"] for p in parts])
                                        .values_list("part_id", "variant_id").distinct()):
                fitted.setdefault(part_id, []).append(variant_id)
        batch = []
        for part in parts:
            topic, payload = _event(kind, part=part, change=changes.updated.get(part["id"]), actor_id=actor_id,
                                    new_numbers=new_numbers, fitted=fitted)
            batch.append(NewOutboxEvent(topic=topic, aggregate_type=events.AGGREGATE_TYPE, aggregate_id=part["id"],
                                        payload=payload, version=part["version"]))
            done += 1
            if progress and (done % PROGRESS_EVERY == 0 or done == total):
                progress(stage="events", done=done, total=total)
        outbox_events_write(events=batch)
    return total
