"""The merge's outbox events, batched; their payloads are suppliers.events' builders."""

from __future__ import annotations

from django.db import connection

from okto88.services import NewOutboxEvent, outbox_events_write
from suppliers.events import (
    offer_price_changed_batch_payload,
    offer_price_changed_payload,
    stock_changed_batch_payload,
    stock_changed_payload,
)
from suppliers.models import FeedImport

# Events are batched: one `offer.price_changed_batch` per EVENT_BATCH new or repriced offers,
# one `stock.changed_batch` per EVENT_BATCH changed stock rows. Each item is the payload
# suppliers.services writes for a single change, from the same builder (suppliers.events). One
# event per row cost more than the rest of the merge (two million outbox rows for a cold
# million-row feed), and the relay then had to publish each of them one by one.
EVENT_BATCH = 1000
# Batch events per INSERT into the outbox: bounds the memory a large feed's events take.
EVENT_WRITE_CHUNK = 20
_PRICE_ROWS = """
    SELECT id, part_id, sku, previous_price, price FROM feed_offer_changed
    WHERE previous_price IS DISTINCT FROM price ORDER BY id
"""
_STOCK_ROWS = "SELECT id, offer_id, warehouse_id, on_hand, reserved FROM feed_stock_changed ORDER BY id"


def _price_batch(*, feed_import: FeedImport, batch: int, rows: list[tuple]) -> dict:
    supplier_id = feed_import.supplier_id
    return offer_price_changed_batch_payload(
        feed_import_id=feed_import.pk, supplier_id=supplier_id, batch=batch,
        offers=[offer_price_changed_payload(offer_id=offer_id, supplier_id=supplier_id, part_id=part_id, sku=sku,
                                            old_price=old_price, price=price)
                for offer_id, part_id, sku, old_price, price in rows])


def _stock_batch(*, feed_import: FeedImport, batch: int, rows: list[tuple]) -> dict:
    # A feed is one supplier's: merge.py matches and creates offers of the feed's supplier only.
    supplier_id = feed_import.supplier_id
    return stock_changed_batch_payload(
        feed_import_id=feed_import.pk, supplier_id=supplier_id, batch=batch,
        stocks=[stock_changed_payload(stock_id=stock_id, offer_id=offer_id, supplier_id=supplier_id,
                                      warehouse_id=warehouse_id, on_hand=on_hand, reserved=reserved)
                for stock_id, offer_id, warehouse_id, on_hand, reserved in rows])


_EVENT_KINDS = [("offer.price_changed_batch", _PRICE_ROWS, _price_batch),
                ("stock.changed_batch", _STOCK_ROWS, _stock_batch)]


def _write_events(*, feed_import: FeedImport) -> int:
    """Batched `offer.price_changed_batch` (new or repriced offers) and `stock.changed_batch`
    (stock rows whose on_hand changed) events in the merge's transaction, through the platform's
    outbox_events_write; none if nothing changed. The rows stream from a server-side cursor."""
    written = 0
    for topic, rows_sql, build in _EVENT_KINDS:
        pending: list[NewOutboxEvent] = []
        with connection.chunked_cursor() as rows:
            rows.execute(rows_sql)
            batch = 0
            while chunk := rows.fetchmany(EVENT_BATCH):
                batch += 1
                pending.append(NewOutboxEvent(topic=topic, aggregate_type="feed_import", aggregate_id=feed_import.pk,
                                              payload=build(feed_import=feed_import, batch=batch, rows=chunk)))
                if len(pending) == EVENT_WRITE_CHUNK:
                    written += len(outbox_events_write(events=pending))
                    pending = []
        written += len(outbox_events_write(events=pending))
    return written
