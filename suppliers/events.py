"""The suppliers' events: one payload builder per topic, used by suppliers.services (single
changes) and suppliers.feeds (the feed import's batches, whose items are the single-change
payloads), and the topics' contract."""

from __future__ import annotations

from typing import Any

from okto88.events import Audience, EventTopic, event_topics_register, nullable, prop

FEED_SOURCE = "feed"


def stock_changed_payload(*, stock_id: int, offer_id: int, supplier_id: int, warehouse_id: int, on_hand: int,
                          reserved: int) -> dict[str, Any]:
    return {"stock": stock_id, "offer": offer_id, "supplier": supplier_id, "warehouse": warehouse_id,
            "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved}


def offer_price_changed_payload(*, offer_id: int, supplier_id: int, part_id: int, sku: str, old_price: int | None,
                                price: int) -> dict[str, Any]:
    return {"offer": offer_id, "supplier": supplier_id, "part": part_id, "sku": sku, "old_price": old_price,
            "price": price}


def stock_changed_batch_payload(*, feed_import_id: int, supplier_id: int, batch: int,
                                stocks: list[dict[str, Any]]) -> dict[str, Any]:
    """`stocks`: stock_changed_payload items."""
    return {"source": FEED_SOURCE, "feed_import_id": feed_import_id, "supplier": supplier_id, "batch": batch,
            "stocks": stocks}


def offer_price_changed_batch_payload(*, feed_import_id: int, supplier_id: int, batch: int,
                                      offers: list[dict[str, Any]]) -> dict[str, Any]:
    """`offers`: offer_price_changed_payload items."""
    return {"source": FEED_SOURCE, "feed_import_id": feed_import_id, "supplier": supplier_id, "batch": batch,
            "offers": offers}


# --- The contract -------------------------------------------------------------------------

# Offers and stock: the supplier they belong to (its ERP).
SUPPLIER_AUDIENCE = Audience(scope="stock:write", supplier_field="supplier")

STOCK_CHANGED = EventTopic(
    name="stock.changed", version=2,
    audience=SUPPLIER_AUDIENCE, aggregate_type="stock",
    producer="suppliers.services",
    notes=("A feed import's stock changes come as `stock.changed_batch` instead.\n\n"
           "Version 2 (from version 1): adds `supplier`, the id of the supplier whose offer the stock row "
           "stocks, so that a supplier's webhook endpoint and events feed receive the stock changes of its "
           "own offers (the topic's audience is scoped by it). Every other field is as in version 1."),
    builder="suppliers.events.stock_changed_payload",
    summary="A stock row's units on hand or reserved changed (an adjustment, a count, a reservation, its release).",
    payload={
        "stock": prop("integer", "The stock row's id (also the event's aggregate_id)."),
        "offer": prop("integer", "The offer it stocks."),
        "supplier": prop("integer", "The supplier of the offer (and of the warehouse)."),
        "warehouse": prop("integer", "The warehouse it is in."),
        "on_hand": prop("integer", "Units on hand after the change.", minimum=0),
        "reserved": prop("integer", "Units reserved for orders after the change.", minimum=0),
        "available": prop("integer", "on_hand − reserved: what can still be ordered.", minimum=0),
    },
)
OFFER_PRICE_CHANGED = EventTopic(
    name="offer.price_changed", version=1,
    audience=SUPPLIER_AUDIENCE, aggregate_type="offer",
    producer="suppliers.services",
    notes="A feed import's new and repriced offers come as `offer.price_changed_batch` instead.",
    builder="suppliers.events.offer_price_changed_payload",
    summary="An offer's price changed, or (in a feed batch) an offer was created with its first price.",
    payload={
        "offer": prop("integer", "The offer's id (also a single event's aggregate_id)."),
        "supplier": prop("integer", "The supplier selling it."),
        "part": prop("integer", "The catalog part it offers."),
        "sku": prop("string", "The supplier's SKU."),
        "old_price": nullable("integer", "The price before, in rupiah; null for an offer a feed created."),
        "price": prop("integer", "The price now, in rupiah.", exclusiveMinimum=0),
    },
)
_BATCH_NOTES = ("A feed import writes its changes in batches of up to suppliers.feeds.EVENT_BATCH (1000) items "
                "instead of one event per row; the single-change topic is never written for them.")
_BATCH = {
    "source": prop("string", "Always `feed`.", const=FEED_SOURCE),
    "feed_import_id": prop("integer", "The feed import (also the event's aggregate_id)."),
    "supplier": prop("integer", "The supplier whose feed it is."),
    "batch": prop("integer", "The batch's number within this import and topic, from 1.", minimum=1),
}
STOCK_CHANGED_BATCH = EventTopic(
    name="stock.changed_batch", version=2,
    audience=SUPPLIER_AUDIENCE, aggregate_type="feed_import", batch_of="stock.changed",
    producer="suppliers.feeds", builder="suppliers.events.stock_changed_batch_payload",
    summary="Stock rows a supplier feed import changed (units on hand), a batch at a time.",
    notes=(_BATCH_NOTES + "\n\nVersion 2 (from version 1): each item is a `stock.changed` v2 payload (it names "
           "its `supplier`, the same as the batch's); the batch's own fields are as in version 1."),
    payload={**_BATCH, "stocks": prop("array", "The changed stock rows, each a `stock.changed` v2 payload, by id.",
                                      items=STOCK_CHANGED.item_schema(), minItems=1)},
)
OFFER_PRICE_CHANGED_BATCH = EventTopic(
    name="offer.price_changed_batch", version=1,
    audience=SUPPLIER_AUDIENCE, aggregate_type="feed_import", batch_of="offer.price_changed",
    producer="suppliers.feeds", builder="suppliers.events.offer_price_changed_batch_payload",
    summary="Offers a supplier feed import created or repriced, a batch at a time.", notes=_BATCH_NOTES,
    payload={**_BATCH, "offers": prop("array", "The new or repriced offers, each an `offer.price_changed` v1 "
                                               "payload, by offer id.",
                                      items=OFFER_PRICE_CHANGED.item_schema(), minItems=1)},
)

event_topics_register(STOCK_CHANGED, OFFER_PRICE_CHANGED, STOCK_CHANGED_BATCH, OFFER_PRICE_CHANGED_BATCH)
