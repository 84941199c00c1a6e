"""The feed import service: staging, row validation, merge, ledger, events, idempotency."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from okto88.models import OutboxEvent
from suppliers.errors import FeedUploadInvalid
from suppliers.models import FeedStatus, Offer, Stock, StockMovement
from tests.suppliers.factories import OfferFactory, StockFactory
from tests.suppliers_feeds.conftest import HEADER, csv_upload, run_feed, xlsx_upload

pytestmark = pytest.mark.django_db


def report_rows(feed_import) -> list[dict]:
    with feed_import.errors_report.open("rb") as handle:
        return list(csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")))


def events(topic: str | None = None):
    qs = OutboxEvent.objects.filter(topic__in=["offer.price_changed_batch", "stock.changed_batch"])
    return qs.filter(topic=topic) if topic else qs


def test_good_feed_creates_offers_stock_ledger_and_events(world):
    feed = run_feed(world.supplier, csv_upload(
        f"{HEADER}\n"
        "BR-1,Toyota,04465-0K240,385000,2,12,0\n"
        "BR-2,toyota,43512 0k090,910000,,5,\n"   # brand in lower case, number typed differently
        "BR-3,Toyota,04465-BZ010,250000,3,,7\n"  # an OE number: found through the cross reference
    ), actor=world.member)

    assert feed.status == FeedStatus.SUCCEEDED, feed.error
    assert (feed.rows_total, feed.rows_done, feed.rows_rejected) == (3, 3, 0)
    assert (feed.offers_changed, feed.stock_changed) == (3, 3)
    assert not feed.errors_report
    offers = {o.sku: o for o in Offer.objects.filter(supplier=world.supplier)}
    assert offers["BR-1"].part == world.pad and offers["BR-1"].price == 385_000
    assert offers["BR-1"].lead_time_days == 2
    assert offers["BR-2"].part == world.disc and offers["BR-2"].lead_time_days == 1  # default for new
    assert offers["BR-3"].part == world.bendix_pad
    stock = {(s.offer.sku, s.warehouse.code): s.on_hand for s in Stock.objects.select_related("offer", "warehouse")}
    # BR-1 SBY1 = 0 is stored (without a ledger row); empty cells create nothing.
    assert stock == {("BR-1", "JKT1"): 12, ("BR-1", "SBY1"): 0, ("BR-2", "JKT1"): 5, ("BR-3", "SBY1"): 7}
    movements = StockMovement.objects.all()
    assert movements.count() == 3
    assert {m.reason for m in movements} == {"import"}
    assert {m.reference for m in movements} == {f"feed:{feed.pk}"}
    assert {m.actor_id for m in movements} == {world.member.pk}
    # One batch per topic; each item has the shape of the single-change event of suppliers.services.
    price_event, stock_event = events("offer.price_changed_batch").get(), events("stock.changed_batch").get()
    assert (price_event.aggregate_type, price_event.aggregate_id) == ("feed_import", str(feed.pk))
    assert price_event.payload["feed_import_id"] == feed.pk and price_event.payload["source"] == "feed"
    assert price_event.payload["offers"][0] == {
        "offer": offers["BR-1"].pk, "supplier": world.supplier.pk, "part": world.pad.pk, "sku": "BR-1",
        "old_price": None, "price": 385_000}
    assert [o["sku"] for o in price_event.payload["offers"]] == ["BR-1", "BR-2", "BR-3"]
    jkt_stock = Stock.objects.get(offer=offers["BR-1"], warehouse=world.jkt)
    assert stock_event.payload["stocks"][0] == {
        "stock": jkt_stock.pk, "offer": offers["BR-1"].pk, "supplier": world.supplier.pk, "warehouse": world.jkt.pk,
        "on_hand": 12, "reserved": 0, "available": 12}
    # BR-1 SBY1 = 0 is new but unchanged from nothing: no item.
    assert [(s["offer"], s["on_hand"]) for s in stock_event.payload["stocks"]] == [
        (offers["BR-1"].pk, 12), (offers["BR-2"].pk, 5), (offers["BR-3"].pk, 7)]


def test_bad_rows_are_reported_and_skipped_while_good_rows_apply(world):
    existing = OfferFactory(supplier=world.supplier, part=world.plug, sku="BR-NEG", price=99_000)
    StockFactory(offer=existing, warehouse=world.jkt, on_hand=4)
    feed = run_feed(world.supplier, csv_upload(
        "sku,brand,part_number,price,lead_time_days,stock_JKT1,stock_XXX9\n"
        "BR-OK,Toyota,04465-0K240,385000,2,12,\n"
        "BR-UNKNOWN,Toyota,99999-NOPE,100000,2,1,\n"
        "BR-NEG,Toyota,90919-01253,-5000,2,8,\n"
        "BR-NAN,Toyota,43512-0K090,910000,2,banyak,\n"
        "BR-WH,Toyota,43512-0K090,910000,2,1,3\n"
        "BR-DUP,Toyota,43512-0K090,910000,2,1,\n"
        "BR-DUP,Toyota,43512-0K090,920000,2,2,\n"
        "BR-PRICE,Toyota,43512-0K090,12.50,2,1,\n"
    ))

    assert feed.status == FeedStatus.PARTIAL, feed.error
    assert (feed.rows_total, feed.rows_rejected) == (8, 7)
    assert (feed.offers_changed, feed.stock_changed) == (1, 1)
    report = report_rows(feed)
    by_row = {(int(r["row"]), r["column"]): r for r in report}
    assert set(by_row) == {(3, "part_number"), (4, "price"), (5, "stock_JKT1"), (6, "stock_XXX9"),
                           (7, "sku"), (8, "sku"), (9, "price")}
    assert "No catalog part matches" in by_row[3, "part_number"]["message"]
    assert by_row[3, "part_number"]["value"] == "99999-NOPE"
    assert "greater than 0" in by_row[4, "price"]["message"]
    assert "whole number" in by_row[5, "stock_JKT1"]["message"] and by_row[5, "stock_JKT1"]["value"] == "banyak"
    assert "Unknown warehouse code “XXX9”" in by_row[6, "stock_XXX9"]["message"]
    assert "rows 7, 8" in by_row[7, "sku"]["message"]
    assert "whole number of rupiah" in by_row[9, "price"]["message"]
    # Only the good row changed anything; the bad row's stored offer and stock are untouched.
    assert set(Offer.objects.filter(supplier=world.supplier).values_list("sku", flat=True)) == {"BR-OK", "BR-NEG"}
    existing.refresh_from_db()
    assert existing.price == 99_000
    assert Stock.objects.get(offer=existing).on_hand == 4
    assert events().count() == 2  # BR-OK's price and stock


def test_stock_below_reserved_is_refused_as_a_row_error(world):
    offer = OfferFactory(supplier=world.supplier, part=world.pad, sku="BR-1", price=100_000)
    stock = StockFactory(offer=offer, warehouse=world.jkt, on_hand=10, reserved=6)
    feed = run_feed(world.supplier, csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,120000,2,5,9\n"))

    assert feed.status == FeedStatus.FAILED and feed.rows_rejected == 1  # its only row
    (row,) = report_rows(feed)
    assert row["column"] == "stock_JKT1" and "below the 6 already reserved" in row["message"]
    stock.refresh_from_db()
    offer.refresh_from_db()
    assert (stock.on_hand, stock.reserved, offer.price) == (10, 6, 100_000)
    assert not Stock.objects.filter(warehouse=world.sby).exists()
    assert events().count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sku,brand,part_number,price\nBR-1,Toyota,Bremsbeläge,1000\n".encode("latin-1"), "not UTF-8"),
        ("\ufeffsku,brand\n".encode("utf-16"), "UTF-16"),
        (b"", "The file is empty"),
        (b"\n\n", "The file is empty"),
        (f"{HEADER}\n\n".encode(), "header but no rows"),
        (b"sku,brand,partnumber,harga,stock_JKT1\nBR-1,Toyota,04465-0K240,1000,1\n",
         "missing columns: part_number, price; unknown columns: partnumber, harga"),
    ],
    ids=["latin-1", "utf-16", "empty", "blank-lines", "header-only", "wrong-columns"],
)
def test_file_level_errors_fail_the_import_and_change_nothing(world, content, message):
    feed = run_feed(world.supplier, csv_upload(content))

    assert feed.status == FeedStatus.FAILED
    assert message in feed.error
    assert feed.finished_at is not None
    assert not Offer.objects.exists() and not StockMovement.objects.exists() and not events().exists()


def test_wrong_columns_error_lists_the_expected_header(world):
    feed = run_feed(world.supplier, csv_upload("sku;merk;price\nA;B;1\n"))
    assert feed.status == FeedStatus.FAILED
    assert "sku,brand,part_number,price,lead_time_days,stock_<warehouse code>" in feed.error


def test_encoding_error_names_the_line(world):
    content = f"{HEADER}\nBR-1,Toyota,04465-0K240,1000,1,1,1\nBR-2,Toyota,43512-0K090,1000,1,1,1 \xe9\n"
    feed = run_feed(world.supplier, csv_upload(content.encode("latin-1")))
    assert feed.status == FeedStatus.FAILED and "line 3" in feed.error and "0xE9" in feed.error
    assert not Offer.objects.exists()


def test_semicolons_bom_crlf_and_blank_lines_keep_row_numbers(world):
    content = ("\ufeffSKU;Brand;Part_Number;Price;Stock_jkt1\r\n"
               "BR-1;Toyota;04465-0K240;385000;3\r\n"
               "\r\n"
               "BR-2;Toyota;nope;385000;3\r\n")
    feed = run_feed(world.supplier, csv_upload(content))
    assert feed.status == FeedStatus.PARTIAL, feed.error
    assert (feed.rows_total, feed.rows_rejected) == (2, 1)
    assert [(r["row"], r["column"]) for r in report_rows(feed)] == [("4", "part_number")]
    assert Stock.objects.get().warehouse == world.jkt


def test_xlsx_feed(world):
    feed = run_feed(world.supplier, xlsx_upload([
        HEADER.split(","),
        ["BR-1", "Toyota", "04465-0K240", 385000, 2, 12, 0],
        [None] * 7,
        ["BR-2", "Toyota", "43512-0K090", 910000.0, None, "x", None],
    ]))
    assert feed.status == FeedStatus.PARTIAL, feed.error
    assert (feed.rows_total, feed.rows_rejected, feed.offers_changed, feed.stock_changed) == (2, 1, 1, 1)
    assert [(r["row"], r["column"]) for r in report_rows(feed)] == [("4", "stock_JKT1")]
    assert Offer.objects.get().price == 385_000


def test_not_an_xlsx_file(world):
    feed = run_feed(world.supplier, csv_upload(b"PK\x03\x04 not really a zip", name="feed.xlsx"))
    assert feed.status == FeedStatus.FAILED and "not a valid Excel" in feed.error


def test_reimport_is_idempotent_and_changes_emit_only_their_events(world):
    content = (f"{HEADER}\n"
               "BR-1,Toyota,04465-0K240,385000,2,12,0\n"
               "BR-2,Toyota,43512-0K090,910000,4,5,2\n")
    first = run_feed(world.supplier, csv_upload(content))
    ledger, outbox = StockMovement.objects.count(), events().count()

    again = run_feed(world.supplier, csv_upload(content))

    assert again.status == FeedStatus.SUCCEEDED
    assert (again.rows_total, again.offers_changed, again.stock_changed, again.rows_rejected) == (2, 0, 0, 0)
    assert StockMovement.objects.count() == ledger and events().count() == outbox
    assert first.offers_changed == 2

    # A new price for BR-1 and new stock for BR-2 in SBY1: one event each, one ledger row.
    last_event_id = OutboxEvent.objects.order_by("pk").last().pk
    changed = run_feed(world.supplier, csv_upload(
        f"{HEADER}\nBR-1,Toyota,04465-0K240,399000,2,12,0\nBR-2,Toyota,43512-0K090,910000,4,5,1\n"))
    assert (changed.offers_changed, changed.stock_changed) == (1, 1)
    new_events = events().filter(pk__gt=last_event_id)
    assert sorted((e.topic, [i["offer"] for i in e.payload.get("offers", e.payload.get("stocks"))])
                  for e in new_events) == [
        ("offer.price_changed_batch", [Offer.objects.get(sku="BR-1").pk]),
        ("stock.changed_batch", [Offer.objects.get(sku="BR-2").pk]),
    ]
    (price,) = new_events.get(topic="offer.price_changed_batch").payload["offers"]
    assert (price["old_price"], price["price"]) == (385_000, 399_000)
    (stock,) = new_events.get(topic="stock.changed_batch").payload["stocks"]
    assert (stock["warehouse"], stock["on_hand"], stock["available"]) == (world.sby.pk, 1, 1)
    (move,) = StockMovement.objects.filter(reference=f"feed:{changed.pk}")
    assert (move.on_hand_delta, move.on_hand_after, move.stock.warehouse) == (-1, 1, world.sby)


def test_ledger_explains_on_hand_after_imports(world):
    offer = OfferFactory(supplier=world.supplier, part=world.plug, sku="BR-0", price=10_000)
    StockFactory(offer=offer, warehouse=world.jkt, on_hand=7, reserved=2)
    for jkt, sby in [(3, 9), (12, 0), (12, 4), (2, 40)]:
        feed = run_feed(world.supplier, csv_upload(
            f"{HEADER}\nBR-0,Toyota,90919-01253,10000,1,{jkt},{sby}\nBR-1,Toyota,04465-0K240,5000,1,{sby},{jkt}\n"))
        assert feed.status == FeedStatus.SUCCEEDED and feed.rows_rejected == 0, feed.error
    for stock in Stock.objects.all():
        ledger = stock.movements.aggregate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
        assert (ledger["on_hand"] or 0, ledger["reserved"] or 0) == (stock.on_hand, stock.reserved)
    assert Stock.objects.get(offer=offer, warehouse=world.jkt).on_hand == 2


def test_upload_rejects_other_file_types(world):
    from suppliers.feeds import feed_import_create

    with pytest.raises(FeedUploadInvalid):
        feed_import_create(supplier=world.supplier, actor=None,
                           file=SimpleUploadedFile("feed.pdf", b"%PDF-1.4", content_type="application/pdf"))


@pytest.mark.django_db(transaction=True)
def test_ragged_row_is_a_file_level_error(world):
    feed = run_feed(world.supplier, csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,1,1,1,1\nBR-2,Toyota,1,1\n"))
    assert feed.status == FeedStatus.FAILED
    assert "Line 3" in feed.error
    assert not Offer.objects.exists()


def test_a_second_run_of_a_finished_import_does_nothing(world):
    from suppliers.feeds import feed_import_run

    feed = run_feed(world.supplier, csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\n"))
    finished_at = feed.finished_at
    again = feed_import_run(feed_import=feed)
    assert again.finished_at == finished_at and StockMovement.objects.count() == 1


def test_events_are_batched_in_id_order(world, monkeypatch):
    from suppliers.feeds import events as feed_events

    monkeypatch.setattr(feed_events, "EVENT_BATCH", 2)
    feed = run_feed(world.supplier, csv_upload(
        f"{HEADER}\n"
        "BR-1,Toyota,04465-0K240,385000,2,12,1\n"
        "BR-2,Toyota,43512-0K090,910000,,5,\n"
        "BR-3,Toyota,90919-01253,250000,3,,7\n"
    ))
    assert feed.status == FeedStatus.SUCCEEDED, feed.error

    price = list(events("offer.price_changed_batch").order_by("pk"))
    stock = list(events("stock.changed_batch").order_by("pk"))
    assert [(e.payload["batch"], len(e.payload["offers"])) for e in price] == [(1, 2), (2, 1)]
    assert [(e.payload["batch"], len(e.payload["stocks"])) for e in stock] == [(1, 2), (2, 2)]
    assert max(e.pk for e in price) < min(e.pk for e in stock)
    assert [o["offer"] for e in price for o in e.payload["offers"]] == sorted(
        Offer.objects.values_list("pk", flat=True))
    assert [s["stock"] for e in stock for s in e.payload["stocks"]] == sorted(
        Stock.objects.values_list("pk", flat=True))


def test_feed_refreshes_the_best_offer_of_its_parts(world):
    from suppliers.models import PartBestOffer

    feed = run_feed(world.supplier, csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,3\n"))
    assert feed.status == FeedStatus.SUCCEEDED, feed.error
    best = PartBestOffer.objects.get(part=world.pad)
    assert (best.offer_id, best.price, best.available, best.supplier_count) == (
        Offer.objects.get(sku="BR-1").pk, 385_000, 15, 1)
    run_feed(world.supplier, csv_upload(f"{HEADER}\nBR-1,Toyota,04465-0K240,380000,2,0,0\n"))
    best.refresh_from_db()
    assert (best.price, best.available) == (380_000, 0)


@pytest.mark.parametrize(("written", "rupiah"), [
    ("189000", 189_000), ("189.000", 189_000), ("Rp 189.000", 189_000), ("Rp189.000", 189_000),
    ("rp. 189.000", 189_000), ("189.000,00", 189_000), ("Rp 1.250.000,-", 1_250_000), ("189000,0", 189_000),
    ("Rp\u00a0189.000", 189_000), ("999.999.999.999.999", 999_999_999_999_999),
])
def test_prices_written_the_indonesian_way_are_read(world, written, rupiah):
    feed = run_feed(world.supplier, csv_upload(f'{HEADER}\nBR-1,Toyota,04465-0K240,"{written}",2,1,\n'))
    assert feed.status == FeedStatus.SUCCEEDED, (feed.error, feed.errors_report and report_rows(feed))
    assert Offer.objects.get().price == rupiah


@pytest.mark.parametrize("written", [
    "189,000", "189.00", "12.50", "1.89", "189.000,50", "18.9000", "1,189.00", "189.000.0", "Rp", "US$ 12",
    ".189", "189.", "1 890 000",
])
def test_ambiguous_prices_are_refused_with_how_to_write_them(world, written):
    feed = run_feed(world.supplier, csv_upload(
        f'{HEADER}\nBR-1,Toyota,04465-0K240,"{written}",2,1,\nBR-2,Toyota,43512-0K090,189000,2,1,\n'))
    assert feed.status == FeedStatus.PARTIAL
    (row,) = report_rows(feed)
    assert (row["row"], row["column"], row["value"]) == ("2", "price", written)
    assert "189.000 or Rp 189.000" in row["message"] and "a dot separates thousands" in row["message"]
    assert list(Offer.objects.values_list("sku", flat=True)) == ["BR-2"]


def test_a_fractional_xlsx_number_is_not_read_as_thousands(world):
    feed = run_feed(world.supplier, xlsx_upload([
        HEADER.split(","), ["BR-1", "Toyota", "04465-0K240", 189.123, 2, 1, None],
        ["BR-2", "Toyota", "43512-0K090", "189.000", 2, 1, None],
    ]))
    assert feed.status == FeedStatus.PARTIAL
    (row,) = report_rows(feed)
    assert (row["column"], row["value"]) == ("price", "189,123")
    assert Offer.objects.get().price == 189_000


def test_the_status_says_whether_every_row_was_applied(world):
    good = "BR-1,Toyota,04465-0K240,385000,2,1,\n"
    bad = "BR-X,Toyota,99999-NOPE,1000,2,1,\n"

    assert run_feed(world.supplier, csv_upload(f"{HEADER}\n{good}")).status == FeedStatus.SUCCEEDED
    mostly_bad = run_feed(world.supplier, csv_upload(f"{HEADER}\n{good}{bad * 9}"))
    assert (mostly_bad.status, mostly_bad.rows_rejected, mostly_bad.error) == (FeedStatus.PARTIAL, 9, "")
    all_bad = run_feed(world.supplier, csv_upload(f"{HEADER}\n{bad * 3}"))
    assert all_bad.status == FeedStatus.FAILED and all_bad.rows_rejected == 3
    assert "None of the 3 rows could be applied" in all_bad.error
    assert all_bad.errors_report  # the rows' problems are still there to read


def test_partial_and_failed_are_not_shown_as_succeeded_in_indonesian(world):
    from django.utils import translation

    partial = run_feed(world.supplier, csv_upload(
        f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,1,\nBR-X,Toyota,99999-NOPE,1000,2,1,\n"))
    with translation.override("id"):
        assert partial.get_status_display() == "Sebagian diterapkan"
        assert FeedStatus.FAILED.label == "Gagal"


def test_best_offers_follow_offers_that_get_worse_move_to_another_part_or_leave_it(world):
    # The merge brings the best offers up to date from the changed offers before and after (not
    # from every offer of the part): each step is checked against the rule from scratch.
    from suppliers.models import PartBestOffer
    from tests.read_models import assert_read_models_exact

    rival = OfferFactory(part=world.pad, price=300_000)
    StockFactory(offer=rival, on_hand=5)

    def best(part):
        row = PartBestOffer.objects.get(part=part)
        return row.offer_id, row.price, row.available, row.total_available, row.supplier_count

    def feed(*rows):
        done = run_feed(world.supplier, csv_upload("\n".join([HEADER, *rows]) + "\n"))
        assert done.status == FeedStatus.SUCCEEDED, done.error
        assert_read_models_exact()

    feed("BR-1,Toyota,04465-0K240,250000,2,4,0", "BR-2,Toyota,04465-0K240,400000,2,1,",
         "BR-3,Toyota,43512-0K090,100000,2,0,0", "BR-4,Toyota,90919-01253,50000,1,,")
    offer = dict(Offer.objects.filter(supplier=world.supplier).values_list("sku", "pk"))
    assert best(world.pad) == (offer["BR-1"], 250_000, 4, 10, 2)
    assert best(world.disc) == (offer["BR-3"], 100_000, 0, 0, 1)
    # BR-1 gets dearer than the rival; BR-2 moves to the disc, in stock; BR-3 gets stock.
    feed("BR-1,Toyota,04465-0K240,350000,2,4,0", "BR-2,Toyota,43512-0K090,90000,2,2,",
         "BR-3,Toyota,43512-0K090,100000,2,7,0", "BR-4,Toyota,90919-01253,50000,1,,")
    assert best(world.pad) == (rival.pk, 300_000, 5, 9, 2)
    assert best(world.disc) == (offer["BR-2"], 90_000, 2, 9, 1)
    # BR-1 leaves the pad for the plug: the pad keeps the rival alone; BR-3 runs out.
    feed("BR-1,Toyota,90919-01253,350000,2,4,0", "BR-3,Toyota,43512-0K090,100000,2,0,0")
    assert best(world.pad) == (rival.pk, 300_000, 5, 5, 1)
    assert best(world.plug) == (offer["BR-1"], 350_000, 4, 4, 1)
    assert best(world.disc) == (offer["BR-2"], 90_000, 2, 2, 1)


def test_a_best_offer_that_gets_better_or_worse_by_stock_alone_stays_exact(world):
    """A part whose best offer is a changed one that ranks as well or better (cheaper, more in
    stock) keeps it without being recomputed from every offer; one that ranks worse (less in
    stock, out of stock) is recomputed. Each step is checked against the rule from scratch."""
    from suppliers.models import PartBestOffer
    from suppliers.services import best_offers
    from tests.read_models import assert_read_models_exact

    rival = OfferFactory(part=world.pad, price=300_000)
    StockFactory(offer=rival, on_hand=5)
    recomputed = []  # the parts each full refresh (part_best_offer_refresh's statement) recomputed

    def watch(execute, sql, params, many, context):
        if sql == best_offers._BEST_OFFER_UPDATE_SQL:
            recomputed.append(sorted(params["parts"]))
        return execute(sql, params, many, context)

    def feed(row: str) -> tuple:
        from django.db import connection

        with connection.execute_wrapper(watch):
            done = run_feed(world.supplier, csv_upload(f"{HEADER}\n{row}\n"))
        assert done.status == FeedStatus.SUCCEEDED, done.error
        assert_read_models_exact()
        best = PartBestOffer.objects.get(part=world.pad)
        return best.offer_id, best.price, best.available, best.total_available

    feed("BR-1,Toyota,04465-0K240,250000,2,4,0")
    mine = Offer.objects.get(sku="BR-1").pk
    recomputed.clear()
    # Cheaper and more in stock: still the best, not recomputed.
    assert feed("BR-1,Toyota,04465-0K240,240000,2,9,1") == (mine, 240_000, 10, 15)
    assert recomputed == []
    # Less in stock at the same price: ranks worse, so the part is recomputed (still the best).
    assert feed("BR-1,Toyota,04465-0K240,240000,2,3,0") == (mine, 240_000, 3, 8)
    assert recomputed == [[world.pad.pk]]
    # Out of stock: the rival, in stock, comes first.
    assert feed("BR-1,Toyota,04465-0K240,240000,2,0,0") == (rival.pk, 300_000, 5, 5)


def test_stock_changed_since_the_last_import_is_set_back_by_the_same_file(world):
    """An unchanged file row is still the truth about its stock and price: what orders or the
    admin changed since is corrected, with its ledger rows and events, and nothing else."""
    from suppliers.services import offer_update, stock_adjust

    content = (f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\nBR-2,Toyota,43512-0K090,910000,,5,2\n"
               "BR-3,Toyota,04465-BZ010,150000,3,4,\n")
    run_feed(world.supplier, csv_upload(content))
    br1 = Offer.objects.get(sku="BR-1")
    stock = Stock.objects.get(offer=br1, warehouse=world.jkt)
    stock_adjust(stock=stock, delta=-5, reference="count")
    offer_update(offer=Offer.objects.get(sku="BR-2"), data={"price": 920_000})
    last_event = OutboxEvent.objects.order_by("pk").last().pk

    again = run_feed(world.supplier, csv_upload(content))

    assert (again.offers_changed, again.stock_changed) == (1, 1)
    stock.refresh_from_db()
    assert stock.on_hand == 12
    (move,) = StockMovement.objects.filter(reference=f"feed:{again.pk}")
    assert (move.stock_id, move.on_hand_delta, move.on_hand_after) == (stock.pk, 5, 12)
    assert Offer.objects.get(sku="BR-2").price == 910_000
    assert sorted(e.topic for e in events().filter(pk__gt=last_event)) == [
        "offer.price_changed_batch", "stock.changed_batch"]

    third = run_feed(world.supplier, csv_upload(content))
    assert (third.offers_changed, third.stock_changed) == (0, 0)


def test_a_re_sent_file_keeps_only_its_changed_or_wrong_rows_and_still_reports_every_error(world, monkeypatch):
    """Validation drops a row equal to its stored offer and stock in the pass that pairs it with
    them; a repeated SKU, a bad stock cell or an unknown warehouse in an otherwise unchanged row
    is still refused and reported."""
    from suppliers.feeds import run as feed_run

    content = (f"{HEADER}\nBR-1,Toyota,04465-0K240,385000,2,12,0\nBR-2,Toyota,43512-0K090,910000,4,5,2\n"
               "BR-3,Toyota,04465-BZ010,150000,3,4,\nBR-4,Toyota,90919-01253,99000,1,3,3\n"
               "BR-5,Bendix,DB 1234,120000,2,,6\n")
    run_feed(world.supplier, csv_upload(content))
    kept: list[list[int]] = []
    merge = feed_run._merge

    def merge_seeing_feed_row(cursor, **kwargs):
        cursor.execute("SELECT coalesce(array_agg(row_no ORDER BY row_no), '{}') FROM feed_row")
        kept.append(cursor.fetchone()[0])
        return merge(cursor, **kwargs)

    monkeypatch.setattr(feed_run, "_merge", merge_seeing_feed_row)

    # Only the row found through a cross reference (row 4: the fallback needs it) is looked at again.
    same = run_feed(world.supplier, csv_upload(content))
    assert (same.status, same.offers_changed, same.stock_changed) == (FeedStatus.SUCCEEDED, 0, 0)
    assert kept[-1] == [4]
    # A quantity written with a leading zero (row 2) is looked at, and found the same.
    same = run_feed(world.supplier, csv_upload(content.replace(",12,0\n", ",012, 0 \n")))
    assert (same.status, same.offers_changed, same.stock_changed) == (FeedStatus.SUCCEEDED, 0, 0)
    assert kept[-1] == [2, 4]

    resent = run_feed(world.supplier, csv_upload(
        f"{HEADER},stock_XXX9\n"
        "BR-1,Toyota,04465-0K240,385000,2,12,0,\n"   # unchanged: dropped
        "BR-2,Toyota,43512-0K090,910000,4,5,2,\n"    # unchanged, but its SKU comes again in row 6
        "BR-4,Toyota,90919-01253,99000,1,3,x,\n"     # unchanged but for a bad cell
        "BR-5,Bendix,DB 1234,120000,2,,6,1\n"        # unchanged but for a cell of an unknown warehouse
        "BR-2,Toyota,43512-0K090,910000,4,5,2,\n"
        "BR-3,Toyota,04465-BZ010,150000,3,4,,\n"     # unchanged, through the cross reference
    ))

    assert kept[-1] == [3, 4, 5, 6, 7]
    assert (resent.status, resent.rows_rejected, resent.offers_changed, resent.stock_changed) == (
        FeedStatus.PARTIAL, 4, 0, 0)
    by_row = {(int(r["row"]), r["column"]): r["message"] for r in report_rows(resent)}
    assert set(by_row) == {(3, "sku"), (6, "sku"), (4, "stock_SBY1"), (5, "stock_XXX9")}
    assert "rows 3, 6" in by_row[3, "sku"] and "whole number" in by_row[4, "stock_SBY1"]
    assert "Unknown warehouse code “XXX9”" in by_row[5, "stock_XXX9"]
