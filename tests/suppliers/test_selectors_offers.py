"""Read side: scoping by actor and the workshop view of a part's offers."""

from __future__ import annotations

import pytest

from catalog import selectors as catalog_selectors
from suppliers import selectors, services
from suppliers.errors import NoSupplier
from suppliers.models import SupplierStatus
from tests.catalog.factories import PartFactory
from tests.platform.factories import OperatorFactory, UserFactory
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierMemberFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def test_lists_are_scoped_to_the_members_supplier_and_operators_see_all():
    a, b = OfferFactory(), OfferFactory()
    member = SupplierMemberFactory(supplier=a.supplier).user
    assert list(selectors.offer_list(actor=member)) == [a]
    assert set(selectors.offer_list(actor=OperatorFactory())) == {a, b}
    assert list(selectors.supplier_list(actor=member)) == [a.supplier]
    with pytest.raises(NoSupplier):
        selectors.offer_list(actor=UserFactory())


def test_part_offers_and_best_offers():
    part = PartFactory()
    cheap_empty = OfferFactory(part=part, price=90_000)
    StockFactory(offer=cheap_empty, on_hand=2, reserved=2)
    in_stock = OfferFactory(part=part, price=100_000)
    StockFactory(offer=in_stock, on_hand=3, reserved=1)
    StockFactory(offer=in_stock, warehouse=WarehouseFactory(supplier=in_stock.supplier, city="Kota Bandung"),
                 on_hand=4)
    OfferFactory(part=part, price=1_000, is_active=False)
    suspended = OfferFactory(part=part, price=2_000)
    services.supplier_update(supplier=suspended.supplier, data={"status": SupplierStatus.SUSPENDED})

    offers = selectors.part_offers(part_id=part.pk)
    assert [o.offer_id for o in offers] == [in_stock.pk, cheap_empty.pk]
    assert offers[0].available == 6 and sorted(offers[0].warehouse_cities) == [
        "Kota Administrasi Jakarta Selatan", "Kota Bandung"]

    other = PartFactory()
    only_empty = OfferFactory(part=other, price=5_000)
    best = selectors.part_best_offers(part_ids=[part.pk, other.pk, PartFactory().pk])
    assert best[part.pk]["offer_id"] == in_stock.pk and best[part.pk]["price"] == 100_000
    assert best[part.pk]["total_available"] == 6 and best[part.pk]["supplier_count"] == 2
    assert best[other.pk]["offer_id"] == only_empty.pk and best[other.pk]["available"] == 0
    assert len(best) == 2


def test_best_offers_is_one_query_for_many_parts(django_assert_num_queries):
    parts = [OfferFactory().part_id for _ in range(5)]
    with django_assert_num_queries(1):
        selectors.part_best_offers(part_ids=parts)


# One ranking: the best offer a search shows is the first offer of the part page, also when
# prices tie. Each case is written both ways round (the winner created first and last), so
# the offer id, the last tie-break, cannot be what makes it pass.
@pytest.mark.parametrize("winner_first", [True, False])
@pytest.mark.parametrize(
    ("winner", "loser"),
    [
        ({"lead_time_days": 1, "on_hand": 2}, {"lead_time_days": 3, "on_hand": 9}),  # quicker wins
        ({"lead_time_days": 2, "on_hand": 9}, {"lead_time_days": 2, "on_hand": 2}),  # more in stock wins
    ],
    ids=["lead_time", "stock"],
)
def test_for_equal_prices_the_best_offer_is_the_first_offer_of_the_part_page(winner, loser, winner_first):
    part = PartFactory()
    made = {}
    for name in (["winner", "loser"] if winner_first else ["loser", "winner"]):
        spec = winner if name == "winner" else loser
        made[name] = OfferFactory(part=part, price=150_000, lead_time_days=spec["lead_time_days"])
        StockFactory(offer=made[name], on_hand=spec["on_hand"])

    page = selectors.part_offers(part_id=part.pk)
    searched = catalog_selectors.part_best_offers(part_ids=[part.pk])[part.pk]
    assert [o.offer_id for o in page] == [made["winner"].pk, made["loser"].pk]
    assert searched["offer_id"] == page[0].offer_id == made["winner"].pk


def test_equal_offers_keep_one_order_by_offer_id():
    part = PartFactory()
    offers = [OfferFactory(part=part, price=10_000, lead_time_days=2) for _ in range(3)]
    for offer in offers:
        StockFactory(offer=offer, on_hand=4)
    page = selectors.part_offers(part_id=part.pk)
    assert [o.offer_id for o in page] == sorted(o.pk for o in offers)
    assert selectors.part_best_offers(part_ids=[part.pk])[part.pk]["offer_id"] == page[0].offer_id
