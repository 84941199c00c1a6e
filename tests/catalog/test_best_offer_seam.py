"""The seam through which the catalog reads best offers without importing suppliers."""

from __future__ import annotations

from catalog import selectors
from suppliers import selectors as supplier_selectors


def test_suppliers_register_their_best_offers_when_django_starts():
    assert selectors.best_offer_source() is supplier_selectors.part_best_offers


def test_a_swapped_source_answers_inside_the_block_only():
    def source(*, part_ids: list[int]) -> dict[int, dict]:
        return {pk: {"price": pk} for pk in part_ids}

    with selectors.best_offer_source_using(source):
        assert selectors.part_best_offers(part_ids=[3, 4]) == {3: {"price": 3}, 4: {"price": 4}}
        assert selectors.part_best_offers(part_ids=[]) == {}
    assert selectors.best_offer_source() is supplier_selectors.part_best_offers
    with selectors.best_offer_source_using(None):
        assert selectors.part_best_offers(part_ids=[3]) == {}
    assert selectors.best_offer_source() is supplier_selectors.part_best_offers
