"""The one supersession-cycle check (selectors.supersession_loops), asked by the services, the
admin's part form and the catalog import."""

from __future__ import annotations

from itertools import pairwise

import pytest

from catalog import selectors, services
from catalog.admin import PartForm
from catalog.models import Part, PartStatus
from tests.catalog.factories import PartFactory


def stored(chains: dict[str, str | None]):
    asked = []

    def fetch(parts: set[str]) -> dict[str, str | None]:
        asked.append(sorted(parts))
        return {p: chains.get(p) for p in parts}
    return fetch, asked


def test_a_chain_back_to_its_start_is_a_loop_through_stored_parts_too():
    fetch, asked = stored({"B": "C", "C": "A", "X": "Y", "Y": "X"})
    # A → B closes A → B → C → A; D → X runs into a loop of others and ends there; E → E is one.
    loops = selectors.supersession_loops(successors={"A": "B", "D": "X", "E": "E", "F": None},
                                         stored_successors=fetch)
    assert loops == ["A", "E"]
    assert asked == [["B", "X"], ["C", "Y"]]  # a level at a time, each part once


def test_changes_replace_what_is_stored():
    fetch, _asked = stored({"B": "A"})
    assert selectors.supersession_loops(successors={"A": "B"}, stored_successors=fetch) == ["A"]
    # B's stored successor is replaced by the same change set: no loop any more.
    assert selectors.supersession_loops(successors={"A": "B", "B": None}, stored_successors=fetch) == []


@pytest.mark.django_db
def test_services_and_admin_refuse_a_loop_however_long_the_chain():
    # Longer than the chain the search follows (SUPERSESSION_MAX_DEPTH): still a loop.
    parts = [PartFactory() for _ in range(selectors.SUPERSESSION_MAX_DEPTH + 3)]
    for old, new in pairwise(parts):
        Part.objects.filter(pk=old.pk).update(superseded_by=new, status=PartStatus.SUPERSEDED)
    first, last = parts[0], parts[-1]
    assert selectors.part_supersession_would_loop(old_id=last.pk, new_id=first.pk)
    assert not selectors.part_supersession_would_loop(old_id=first.pk, new_id=last.pk)

    with pytest.raises(services.SupersessionCycle):
        services.part_supersede(old=last, new=first)
    form = PartForm(instance=last, data={
        "brand": last.brand_id, "category": last.category_id, "number": last.number, "name_id": last.name_id,
        "name_en": last.name_en, "status": last.status, "weight_g": last.weight_g, "superseded_by": first.pk})
    assert not form.is_valid()
    assert form.errors["superseded_by"] == [str(services.SupersessionCycle.title)], form.errors
