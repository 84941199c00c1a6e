"""Delivery estimates on every offer: what the part costs delivered to the workshop's default
address, and the day it arrives, for the cheapest and for the fastest courier service.

One function computes them, `offer_delivery_estimates`; every surface calls it: the part page
and the part offers API (through `part_offers_delivered`, which also sorts and filters by them)
and the parts list's best offers (through the catalog's seam `catalog.selectors.OfferDeliverySource`,
registered by OrdersConfig.ready: workshops may not import orders).

Where the rules come from, each from its one home:
- the origin: the warehouse checkout would ship from (`orders.selectors.supplier_warehouse_choose`);
- the destination: `okto88.areas.courier_area` of the workshop's default address;
- the quotes: `logistics.services.shipping_quotes_many` (cached for SHIPPING_QUOTE_CACHE_SECONDS,
  asked concurrently on misses, waited for at most PARTNER_HTTP_TIMEOUT_SECONDS in all: a late
  route is "courier unavailable" on this page and cached for the next), one request per
  distinct route: offers that share an origin area and a weight share a quote;
- the arrival day: `okto88.working_hours.arrival_date` (lead time, then the courier's days;
  Sundays and Indonesian public holidays skipped).

The figures are for the smallest quantity the offer sells: its minimum order rounded up to the
pack size (`quantity_is_minimum`), which is one unit for most offers. The delivered price is that
quantity's price plus the cheapest service's cost for its weight.

Nothing here fails a page: a visitor who is no workshop, a workshop without a default address,
an offer no single warehouse can serve, a courier down or a destination it refuses each give
the offer no figures and a `reason` (REASONS), never an error.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.conf import settings

from logistics import services as logistics_services
from okto88.areas import courier_area
from okto88.bounds import BIGINT_MAX
from okto88.errors import ApplicationError, InvalidField
from okto88.working_hours import arrival_date
from orders import selectors
from suppliers.models import Offer
from suppliers.selectors import PartOffer, part_offers
from workshops.errors import NoWorkshop
from workshops.models import Address
from workshops.selectors import address_default, workshop_for_actor

# Why an offer has no delivery figures (the API's `delivery.reason`); besides these, the code of
# the courier's error for the offer's route: courier_unavailable, courier_circuit_open,
# courier_rejected (e.g. a destination it does not serve), invalid_shipment_request.
NOT_A_WORKSHOP = "not_a_workshop"  # anonymous, a supplier, an operator, an API key bound to no workshop
NO_DEFAULT_ADDRESS = "no_default_address"
NOT_IN_STOCK = "not_in_stock"  # no single active warehouse holds the quantity
NO_SERVICE = "no_service"  # the courier answered, with no service we can book
REASONS = (NOT_A_WORKSHOP, NO_DEFAULT_ADDRESS, NOT_IN_STOCK, NO_SERVICE)


@dataclass(frozen=True)
class DeliveryOption:
    """One courier service for one offer: its cost and the day the part arrives with it."""

    carrier_code: str
    carrier_name: str
    service_level: str
    cost: int  # rupiah, for the offer's quantity
    eta_days: int  # the courier's working days
    arrives_on: dt.date  # lead time + eta_days, Asia/Jakarta


@dataclass(frozen=True)
class OfferDelivery:
    offer_id: int
    quantity: int  # the units the figures are for
    quantity_is_minimum: bool  # True: the offer's minimum order (rounded up to its pack); False: one unit
    cheapest: DeliveryOption | None = None
    fastest: DeliveryOption | None = None
    delivered_price: int | None = None  # price × quantity + the cheapest service's cost
    reason: str = ""  # why there are no figures ("" when there are)

    @property
    def available(self) -> bool:
        return self.cheapest is not None


def offer_quantity_smallest(*, min_order_qty: int, pack_size: int) -> int:
    """The smallest quantity the offer sells: its minimum order rounded up to whole packs (the
    rules orders.services.cart_line_add enforces)."""
    pack = max(pack_size, 1)
    return max(math.ceil(max(min_order_qty, 1) / pack) * pack, 1)


def offer_delivery_estimates(*, actor: Any, offer_ids: Iterable[int],
                             now: dt.datetime | None = None) -> dict[int, OfferDelivery]:
    """{offer id: OfferDelivery} to the default address of the workshop `actor` acts for (a
    member, or an API key bound to the workshop): nobody else's address, ever. An actor who is
    no workshop gets every offer without figures (NOT_A_WORKSHOP). Offers that do not exist are
    absent. One courier request per distinct route not in the quote cache, all at once."""
    try:
        workshop = workshop_for_actor(actor=actor)
    except NoWorkshop:
        address, reason = None, NOT_A_WORKSHOP
    else:
        address = address_default(workshop=workshop)
        reason = NO_DEFAULT_ADDRESS if address is None else ""
    return offer_delivery_estimates_to(address=address, offer_ids=offer_ids, now=now, reason=reason)


def offer_delivery_estimates_to(*, address: Address | None, offer_ids: Iterable[int],
                                now: dt.datetime | None = None, reason: str = NO_DEFAULT_ADDRESS,
                                ) -> dict[int, OfferDelivery]:
    """The estimates to `address` (without one: every offer without figures, for `reason`)."""
    offers = list(Offer.objects.filter(pk__in=list(set(offer_ids))).select_related("part")
                  .only("id", "supplier_id", "price", "lead_time_days", "min_order_qty", "pack_size",
                        "part__weight_g").order_by("pk"))
    quantities = {o.pk: offer_quantity_smallest(min_order_qty=o.min_order_qty, pack_size=o.pack_size)
                  for o in offers}

    def without(offer: Offer, why: str) -> OfferDelivery:
        return OfferDelivery(offer_id=offer.pk, quantity=quantities[offer.pk],
                             quantity_is_minimum=quantities[offer.pk] > 1, reason=why)

    if address is None:
        return {o.pk: without(o, reason) for o in offers}
    rows = selectors.offer_stock_rows(offer_ids=[o.pk for o in offers])
    destination = courier_area(place=address)
    routes: dict[str, logistics_services.QuoteRoute] = {}
    route_of: dict[int, str] = {}
    result: dict[int, OfferDelivery] = {}
    for offer in offers:
        chosen = selectors.supplier_warehouse_choose(needs={offer.pk: quantities[offer.pk]}, rows=rows,
                                                     destination_province=address.province)
        if chosen is None:
            result[offer.pk] = without(offer, NOT_IN_STOCK)
            continue
        _warehouse_id, origin, _stock = chosen
        # At least one gram, as checkout's PlanGroup.weight_g bills a part without a weight.
        weight_g = max((offer.part.weight_g or 0) * quantities[offer.pk], 1)
        key = json.dumps([origin, weight_g], sort_keys=True)
        routes.setdefault(key, logistics_services.QuoteRoute(origin=origin, destination=destination,
                                                             weight_g=weight_g))
        route_of[offer.pk] = key
    # A page waits on the courier at most one adapter timeout, however many routes it asks.
    answers = dict(zip(routes, logistics_services.shipping_quotes_many(
        routes=list(routes.values()), wait_seconds=settings.PARTNER_HTTP_TIMEOUT_SECONDS), strict=True)) \
        if routes else {}
    arrivals: dict[tuple[int, int], dt.date] = {}

    def option(quote, lead_time_days: int) -> DeliveryOption:
        days = (lead_time_days, quote.eta_days)
        if days not in arrivals:
            arrivals[days] = arrival_date(lead_time_days=lead_time_days, courier_days=quote.eta_days, now=now)
        return DeliveryOption(carrier_code=quote.carrier_code, carrier_name=quote.carrier_name,
                              service_level=quote.service_level, cost=quote.cost, eta_days=quote.eta_days,
                              arrives_on=arrivals[days])

    for offer in offers:
        if offer.pk in result:
            continue
        answer = answers[route_of[offer.pk]]
        if isinstance(answer, ApplicationError):  # courier down or destination refused: shown, not fatal
            result[offer.pk] = without(offer, answer.code)
            continue
        if not answer:
            result[offer.pk] = without(offer, NO_SERVICE)
            continue
        cheapest = option(answer[0], offer.lead_time_days)  # quotes come cheapest first
        fastest = option(min(answer, key=lambda q: (q.eta_days, q.cost)), offer.lead_time_days)
        quantity = quantities[offer.pk]
        result[offer.pk] = OfferDelivery(
            offer_id=offer.pk, quantity=quantity, quantity_is_minimum=quantity > 1, cheapest=cheapest,
            fastest=fastest, delivered_price=offer.price * quantity + cheapest.cost)
    return result


# --- A part's offers with their delivery: sorted and filtered ---------------------------------

class OfferSort(StrEnum):
    RANKING = "ranking"  # in stock first, then by price (suppliers.selectors.OFFER_RANKING_SQL)
    DELIVERED_PRICE = "delivered_price"  # lowest delivered price first
    ARRIVAL = "arrival"  # earliest arrival first (the fastest service's day)


@dataclass(frozen=True)
class OfferQuery:
    sort: OfferSort = OfferSort.RANKING
    arrives_by: dt.date | None = None  # only offers whose fastest service arrives on or before this day
    max_delivered_price: int | None = None  # only offers delivered for at most this many rupiah


def offer_query_parse(params: Mapping[str, Any]) -> OfferQuery:
    """The part offers' query (`sort`, `arrives_by` YYYY-MM-DD, `max_delivered_price` whole rupiah)
    from a request's parameters; InvalidField naming the parameter when one is not valid. The
    page and the API both read their parameters here."""
    sort = params.get("sort") or OfferSort.RANKING
    try:
        sort = OfferSort(sort)
    except ValueError:
        raise InvalidField(f"sort must be one of: {', '.join(s.value for s in OfferSort)}.",
                           extra={"field": "sort", "value": str(sort)[:40]}) from None
    arrives_by = params.get("arrives_by") or None
    if arrives_by is not None:
        try:
            arrives_by = dt.date.fromisoformat(str(arrives_by))
        except ValueError:
            raise InvalidField("arrives_by is a date written YYYY-MM-DD.",
                               extra={"field": "arrives_by", "value": str(arrives_by)[:40]}) from None
    max_price = params.get("max_delivered_price") or None
    if max_price is not None:
        text = str(max_price).strip()
        if not text.isdigit() or not 0 < int(text) <= BIGINT_MAX:
            raise InvalidField("max_delivered_price is a whole number of rupiah greater than zero.",
                               extra={"field": "max_delivered_price", "value": text[:40]})
        max_price = int(text)
    return OfferQuery(sort=sort, arrives_by=arrives_by, max_delivered_price=max_price)


@dataclass(frozen=True)
class PartOfferDelivered:
    offer: PartOffer
    delivery: OfferDelivery


def part_offers_delivered(*, actor: Any, part_id: int, query: OfferQuery = OfferQuery(),
                          now: dt.datetime | None = None) -> list[PartOfferDelivered]:
    """Every buyable offer of the part (suppliers.selectors.part_offers) with its delivery to the
    actor's default address, filtered and sorted by `query`. A filter on delivery keeps only
    offers with figures (without them nothing says the offer qualifies); a sort on delivery puts
    offers without figures last, in their ranking order, as are ties."""
    offers = part_offers(part_id=part_id)
    deliveries = offer_delivery_estimates(actor=actor, offer_ids=[o.offer_id for o in offers], now=now)
    rows = [PartOfferDelivered(offer=o, delivery=deliveries[o.offer_id]) for o in offers
            if o.offer_id in deliveries]
    if query.arrives_by is not None:
        rows = [r for r in rows if r.delivery.fastest is not None and r.delivery.fastest.arrives_on <= query.arrives_by]
    if query.max_delivered_price is not None:
        rows = [r for r in rows if r.delivery.delivered_price is not None
                and r.delivery.delivered_price <= query.max_delivered_price]
    if query.sort == OfferSort.DELIVERED_PRICE:
        rows.sort(key=lambda r: (not r.delivery.available, r.delivery.delivered_price or 0,
                                 r.delivery.fastest.arrives_on if r.delivery.fastest else dt.date.max))
    elif query.sort == OfferSort.ARRIVAL:
        rows.sort(key=lambda r: (not r.delivery.available,
                                 r.delivery.fastest.arrives_on if r.delivery.fastest else dt.date.max,
                                 r.delivery.delivered_price or 0))
    return rows
