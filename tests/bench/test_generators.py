"""The benchmark generators (bench/generate_catalog.py, bench/generate_suppliers.py) at a tiny
scale, and the feed benchmark's clean slate (bench/feed_bench.py), inside the test's transaction
(no VACUUM): what they write around the services leaves every read model exact, as `manage.py
check_read_models` checks it."""

from __future__ import annotations

import pytest
from django.db import connection

from bench.generate_catalog import catalog_generate
from bench.generate_suppliers import suppliers_generate
from catalog.models import Part, VariantFacet
from suppliers.models import Offer, PartBestOffer
from tests.read_models import assert_read_models_exact
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierFactory

pytestmark = pytest.mark.django_db

TINY = {"parts": 400, "variants": 200, "fitments": 1500, "brands": 40, "seed": 7, "vacuum": False}


def _pending_checks_done() -> None:
    # The generators TRUNCATE and ALTER tables, which PostgreSQL refuses while deferred
    # foreign-key checks of this transaction's earlier inserts are pending.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_catalog_generator_leaves_every_read_model_exact():
    catalog_generate(**TINY)
    assert Part.objects.count() == 400 and VariantFacet.objects.exists()
    assert_read_models_exact()


def test_the_supplier_generator_over_the_generated_catalog_leaves_every_read_model_exact():
    catalog_generate(**TINY)
    suppliers_generate(suppliers=6, offers=800, seed=7, vacuum=False)
    assert Offer.objects.count() == 800 and PartBestOffer.objects.filter(supplier_count__gt=0).exists()
    assert_read_models_exact()


def test_a_catalog_generated_over_offers_keeps_no_best_offer_of_them():
    # Its TRUNCATE ... CASCADE takes the offers with the parts, but not the best-offer rows
    # (derived rows, no foreign key); part ids start again at 1, so they would show on new parts.
    OfferFactory()
    _pending_checks_done()
    catalog_generate(**TINY)
    assert not Offer.objects.exists()
    assert_read_models_exact()


def test_the_feed_benchmark_emptying_its_supplier_leaves_no_best_offer_of_the_gone_offers():
    from bench.feed_bench import SUPPLIER_NAME, prepare_supplier

    supplier = SupplierFactory(legal_name=SUPPLIER_NAME)
    StockFactory(offer=OfferFactory(supplier=supplier), on_hand=4)
    kept = OfferFactory(price=200_000)  # another supplier's offer keeps its best offer
    _pending_checks_done()
    prepare_supplier(vacuum=False)
    assert not Offer.objects.filter(supplier=supplier).exists()
    assert PartBestOffer.objects.get(part=kept.part).offer_id == kept.pk
    assert_read_models_exact()
