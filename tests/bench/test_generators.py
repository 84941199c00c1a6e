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
from suppliers.models import Offer, PartBestOffer, Stock
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


def test_the_feed_benchmark_floors_write_the_rows_its_imports_write(tmp_path, settings):
    # The floor a feed import is measured against must do the import's writes, no fewer: the same
    # offers, stock and ledger rows, cold and for a daily update of the same SKUs.
    from django.core.files import File

    from bench.feed_bench import floor_cold, floor_daily, prepare_floor_supplier, prepare_supplier, write_feed
    from suppliers import feeds
    from suppliers.models import StockMovement

    settings.MEDIA_ROOT = str(tmp_path / "media")
    catalog_generate(**TINY)
    supplier, floor_supplier = prepare_supplier(vacuum=False), prepare_floor_supplier(vacuum=False)
    paths = {name: tmp_path / f"{name}.csv" for name in ("feed", "feed-rows", "update", "update-rows")}
    write_feed(paths["feed"], 2000, seed=3, resolved=paths["feed-rows"])
    write_feed(paths["update"], 2000, seed=3, update_of=1, resolved=paths["update-rows"])

    def imported(path):
        with path.open("rb") as handle:
            feed_import = feeds.feed_import_create(supplier=supplier, file=File(handle, name=path.name), actor=None)
        return feeds.feed_import_run(feed_import=feed_import)

    def rows(of):
        offers = sorted(Offer.objects.filter(supplier=of).values_list("sku", "part_id", "price", "lead_time_days"))
        stock = sorted(Stock.objects.filter(offer__supplier=of).values_list("offer__sku", "warehouse__code",
                                                                            "on_hand"))
        ledger = sorted(StockMovement.objects.filter(stock__offer__supplier=of).values_list(
            "stock__offer__sku", "stock__warehouse__code", "on_hand_delta", "on_hand_after"))
        return offers, stock, ledger

    for floor, path in ((floor_cold, "feed"), (floor_daily, "update")):
        ledger_before = StockMovement.objects.filter(stock__offer__supplier=supplier).count()
        written = floor(supplier=floor_supplier, resolved=paths[f"{path}-rows"])
        feed_import = imported(paths[path])
        assert feed_import.status in ("succeeded", "partial") and feed_import.offers_changed > 0
        assert written["offers"] == feed_import.offers_changed
        ledger = StockMovement.objects.filter(stock__offer__supplier=supplier).count() - ledger_before
        assert written["ledger"] == ledger
        assert rows(floor_supplier) == rows(supplier)
    assert_read_models_exact()
