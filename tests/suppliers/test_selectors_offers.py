"""Read side: scoping by actor and the workshop view of a part's offers."""

from __future__ import annotations

import pytest

from suppliers import selectors, services
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
    with pytest.raises(selectors.NoSupplier):
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
