"""The offer rules (buyable, available, ranking) are written twice in suppliers.selectors, as
SQL for the raw paths and as the ORM form: both must give the same offers, stock and order."""

from __future__ import annotations

import pytest

from orders import selectors as order_selectors
from suppliers import selectors, services
from suppliers.models import Offer, SupplierStatus
from tests.catalog.factories import PartFactory
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tricky_part():
    """One part with every case the rules tell apart: ties broken by lead time, by stock and by
    id, an offer whose stock is all reserved, one with stock only in an inactive warehouse, one
    without stock rows, an inactive offer, and offers of a suspended and of a pending supplier."""
    part = PartFactory()
    shop = SupplierFactory()

    def offer(price, lead, *stock, supplier=None, **kwargs):
        made = OfferFactory(part=part, supplier=supplier or SupplierFactory(), price=price, lead_time_days=lead,
                            **kwargs)
        for on_hand, reserved, active in stock:
            warehouse = WarehouseFactory(supplier=made.supplier, is_active=active)
            StockFactory(offer=made, warehouse=warehouse, on_hand=on_hand, reserved=reserved)
        return made

    offer(50_000, 1, (4, 4, True))                       # cheapest, but nothing left: zero available
    offer(60_000, 1, (9, 0, False))                      # stock only in an inactive warehouse
    offer(70_000, 1)                                     # no stock rows at all
    offer(100_000, 3, (5, 1, True), (2, 0, True))        # 6 in two warehouses
    offer(100_000, 2, (1, 0, True), supplier=shop)       # same price, quicker
    offer(100_000, 2, (3, 0, True), (7, 7, True))        # same price and lead time, more in stock
    twin_a = offer(120_000, 2, (3, 1, True))             # equal in everything: the id decides
    twin_b = offer(120_000, 2, (2, 0, True), (5, 0, False))
    assert twin_a.pk < twin_b.pk
    offer(1_000, 1, (50, 0, True), is_active=False)      # inactive offer
    suspended = offer(2_000, 1, (50, 0, True))
    services.supplier_update(supplier=suspended.supplier, data={"status": SupplierStatus.SUSPENDED})
    offer(3_000, 1, (50, 0, True), supplier=SupplierFactory(status=SupplierStatus.PENDING))
    return part


def test_the_orm_and_the_sql_forms_agree_on_buyable_available_and_ranking(tricky_part):
    sql = [(o.offer_id, o.available) for o in selectors.part_offers(part_id=tricky_part.pk)]
    orm = list(selectors.offer_buyable_ranked(queryset=Offer.objects.filter(part=tricky_part))
               .values_list("pk", "available"))

    assert orm == sql
    assert len(sql) == 8  # the inactive offer and the suspended and pending suppliers' are left out
    # Price 100,000 at lead time 2 (3 before 1), at lead time 3 (6); the twins; the three with none.
    assert [available for _pk, available in sql] == [3, 1, 6, 2, 2, 0, 0, 0]
    best = selectors.part_best_offers(part_ids=[tricky_part.pk])[tricky_part.pk]
    assert best["offer_id"] == orm[0][0] and best["total_available"] == sum(a for _pk, a in orm)


def test_loaded_offers_and_stock_rows_follow_the_same_rules(tricky_part):
    offers = Offer.objects.filter(part=tricky_part).select_related("supplier")
    buyable = set(selectors.offer_buyable_ranked(queryset=offers).values_list("pk", flat=True))
    assert {o.pk for o in offers if selectors.offer_is_buyable(offer=o)} == buyable

    ranked = dict(selectors.offer_buyable_ranked(queryset=offers).values_list("pk", "available"))
    per_offer = order_selectors.offer_available(offer_ids=list(ranked))
    assert {pk: per_offer.get(pk, 0) for pk in ranked} == ranked
