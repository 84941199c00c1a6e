"""The seams through which the catalog reads best offers without importing suppliers, and the parts
list reads offer deliveries without importing orders."""

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


def test_orders_register_the_offer_delivery_estimates_and_without_a_source_there_are_none():
    from orders import services as order_services

    assert selectors.offer_delivery_source() is order_services.offer_delivery_estimates
    seen = []

    def source(*, actor, offer_ids):
        seen.append((actor, list(offer_ids)))
        return {pk: f"estimate {pk}" for pk in offer_ids}

    with selectors.offer_delivery_source_using(source):
        assert selectors.offer_deliveries(actor="someone", offer_ids=[5]) == {5: "estimate 5"}
        assert selectors.offer_deliveries(actor="someone", offer_ids=[]) == {}
    assert seen == [("someone", [5])]  # one call per page, none for no offers
    with selectors.offer_delivery_source_using(None):
        assert selectors.offer_deliveries(actor="someone", offer_ids=[5]) == {}
    assert selectors.offer_delivery_source() is order_services.offer_delivery_estimates
