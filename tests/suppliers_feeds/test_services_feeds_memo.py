"""What an import keeps of the rows it parsed (FeedRowMemo), and what the next import still
checks: the catalog as it is now, the stock as it is now, and every row whose text changed."""

from __future__ import annotations

import pytest

from okto88.models import OutboxEvent
from suppliers.feeds import validation
from suppliers.models import FeedRowMemo, FeedStatus, Offer, Stock, StockMovement
from suppliers.services import offer_update, stock_adjust
from tests.catalog.factories import PartFactory
from tests.suppliers_feeds.conftest import HEADER, csv_upload, run_feed

pytestmark = pytest.mark.django_db

ROWS = ("BR-1,Toyota,04465-0K240,385000,2,12,0\n"
        "BR-2,Toyota,43512-0K090,910000,,5,2\n"
        "BR-3,Toyota,04465-BZ010,150000,3,4,\n")  # found through the Bendix cross reference


def memo(supplier) -> dict[str, tuple]:
    """The kept rows by offer: (number key, price, lead time)."""
    return {str(m.raw_hash): (m.number_key, m.price, m.lead_time)
            for m in FeedRowMemo.objects.filter(supplier=supplier)}


def feed_events():
    return OutboxEvent.objects.filter(topic__in=["offer.price_changed_batch", "stock.changed_batch"])


def test_an_import_keeps_what_it_parsed_and_the_same_file_writes_nothing(world):
    first = run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))
    kept = memo(world.supplier)
    assert first.status == FeedStatus.SUCCEEDED
    assert sorted(kept.values()) == [("044650K240", 385_000, 2), ("04465BZ010", 150_000, 3),
                                     ("435120K090", 910_000, None)]
    ledger, outbox = StockMovement.objects.count(), feed_events().count()

    again = run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))

    assert (again.status, again.offers_changed, again.stock_changed) == (FeedStatus.SUCCEEDED, 0, 0)
    assert memo(world.supplier) == kept
    assert (StockMovement.objects.count(), feed_events().count()) == (ledger, outbox)


def test_the_kept_values_are_what_the_next_import_applies(world):
    """White box: a row whose text is unchanged takes the kept values instead of parsing the text
    again (so a test can tell that the memo is used at all)."""
    run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))
    FeedRowMemo.objects.filter(supplier=world.supplier, price=385_000).update(price=1_000)

    run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))

    assert Offer.objects.get(sku="BR-1").price == 1_000


def test_a_changed_row_is_parsed_and_checked_again(world):
    run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))
    before = memo(world.supplier)

    changed = run_feed(world.supplier, csv_upload(
        f"{HEADER}\n{ROWS.replace('385000,2', '399.000,5').replace('910000,,', '9x,,')}"))

    # BR-1's new text is parsed (Indonesian thousands) and kept; BR-2's bad price is refused.
    assert changed.status == FeedStatus.PARTIAL and changed.rows_rejected == 1
    offer = Offer.objects.get(sku="BR-1")
    assert (offer.price, offer.lead_time_days) == (399_000, 5)
    assert Offer.objects.get(sku="BR-2").price == 910_000
    after = memo(world.supplier)
    assert sorted(after.values()) == [("044650K240", 399_000, 5), ("04465BZ010", 150_000, 3)]
    assert len(set(after) & set(before)) == 1  # BR-3 only


def test_the_part_is_looked_up_in_the_catalog_as_it_is_now(world):
    """The memo holds the row's part-number key, never its part: a catalog change since the last
    import (here written straight to the table, as a bulk load would, without any version bump)
    moves the offer of an unchanged row."""
    run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))
    assert Offer.objects.get(sku="BR-3").part == world.bendix_pad
    toyota_part = PartFactory(brand=world.toyota, category=world.pad.category, number="04465-BZ010")

    again = run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))

    assert again.offers_changed == 1
    assert Offer.objects.get(sku="BR-3").part == toyota_part  # the part's own number wins over the xref


def test_a_changed_parsing_rule_parses_every_row_again(world, monkeypatch):
    run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))
    FeedRowMemo.objects.filter(supplier=world.supplier).update(price=1_000)  # would show if taken
    monkeypatch.setattr(validation, "MEMO_RULES", "another rule")

    run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))

    assert Offer.objects.get(sku="BR-1").price == 385_000
    assert sorted(p for _k, p, _l in memo(world.supplier).values()) == [150_000, 385_000, 910_000]


def test_stock_changed_since_the_last_import_is_set_back_by_the_same_file(world):
    """An unchanged file row is still the truth about its stock and price: what orders or the
    admin changed since is corrected, with its ledger rows and events, and nothing else."""
    run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))
    br1 = Offer.objects.get(sku="BR-1")
    stock = Stock.objects.get(offer=br1, warehouse=world.jkt)
    stock_adjust(stock=stock, delta=-5, reference="count")
    offer_update(offer=Offer.objects.get(sku="BR-2"), data={"price": 920_000})
    last_event = OutboxEvent.objects.order_by("pk").last().pk

    again = run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))

    assert (again.offers_changed, again.stock_changed) == (1, 1)
    stock.refresh_from_db()
    assert stock.on_hand == 12
    (move,) = StockMovement.objects.filter(reference=f"feed:{again.pk}")
    assert (move.stock_id, move.on_hand_delta, move.on_hand_after) == (stock.pk, 5, 12)
    assert Offer.objects.get(sku="BR-2").price == 910_000
    assert sorted(e.topic for e in feed_events().filter(pk__gt=last_event)) == [
        "offer.price_changed_batch", "stock.changed_batch"]

    third = run_feed(world.supplier, csv_upload(f"{HEADER}\n{ROWS}"))
    assert (third.offers_changed, third.stock_changed) == (0, 0)
