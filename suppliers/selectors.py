"""Reads for suppliers, always scoped to the actor.

`supplier_for_actor` is the one place that decides whose data an actor sees: a supplier
member or a bound API client sees its own supplier, an operator sees all (None), anybody
else is refused (NoSupplier).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Greatest

from okto88.models import Role
from suppliers.errors import NoSupplier
from suppliers.models import Offer, Stock, StockMovement, Supplier, SupplierStatus, Warehouse


def actor_is_operator(*, actor: Any) -> bool:
    """Operators (staff) act for the platform; API clients never are operators."""
    return bool(getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)
                and getattr(actor, "is_staff", False) and hasattr(actor, "role") and actor.role == Role.OPERATOR)


def supplier_for_actor(*, actor: Any) -> Supplier | None:
    """The supplier whose data `actor` may see; None means all (operators). Raises NoSupplier otherwise."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        raise NoSupplier()
    api_client = getattr(actor, "api_client", None)
    if api_client is not None:  # an ApiClientPrincipal
        access = getattr(api_client, "supplier_access", None) if _has_related(api_client, "supplier_access") else None
        if access is None:
            raise NoSupplier("This API client is not bound to a supplier.")
        return access.supplier
    if actor_is_operator(actor=actor):
        return None
    if _has_related(actor, "supplier_membership"):
        return actor.supplier_membership.supplier
    raise NoSupplier("This user is not a member of a supplier.")


def supplier_for_actor_or_none(*, actor: Any) -> tuple[bool, Supplier | None]:
    """(allowed, supplier): like supplier_for_actor without raising; for admin permission checks."""
    try:
        return True, supplier_for_actor(actor=actor)
    except NoSupplier:
        return False, None


def _has_related(obj: Any, name: str) -> bool:
    try:
        return getattr(obj, name) is not None
    except Exception:  # RelatedObjectDoesNotExist
        return False


def _scoped(queryset: QuerySet, *, actor: Any, path: str) -> QuerySet:
    supplier = supplier_for_actor(actor=actor)
    if supplier is None:
        return queryset
    return queryset.filter(**{path: supplier.pk})


def supplier_list(*, actor: Any) -> QuerySet[Supplier]:
    return _scoped(Supplier.objects.order_by("pk"), actor=actor, path="pk")


def warehouse_list(*, actor: Any, supplier: Supplier | None = None) -> QuerySet[Warehouse]:
    qs = _scoped(Warehouse.objects.select_related("supplier").order_by("pk"), actor=actor, path="supplier")
    return qs.filter(supplier=supplier) if supplier is not None else qs


def offer_list(*, actor: Any, supplier: Supplier | None = None, part_id: int | None = None,
               is_active: bool | None = None, q: str | None = None) -> QuerySet[Offer]:
    """Offers with their part and their stock rows (per warehouse) prefetched: no N+1."""
    qs = _scoped(Offer.objects.all(), actor=actor, path="supplier")
    if supplier is not None:
        qs = qs.filter(supplier=supplier)
    if part_id is not None:
        qs = qs.filter(part_id=part_id)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    if q:
        qs = qs.filter(Q(sku__icontains=q) | Q(part__number__icontains=q))
    return qs.select_related("part", "part__brand", "supplier").prefetch_related(
        Prefetch("stocks", queryset=Stock.objects.select_related("warehouse").order_by("warehouse__code"))
    )


def stock_list(*, actor: Any, supplier: Supplier | None = None, warehouse: Warehouse | None = None
               ) -> QuerySet[Stock]:
    qs = _scoped(Stock.objects.select_related("offer", "warehouse", "offer__part").order_by("pk"),
                 actor=actor, path="offer__supplier")
    if supplier is not None:
        qs = qs.filter(offer__supplier=supplier)
    if warehouse is not None:
        qs = qs.filter(warehouse=warehouse)
    return qs


def stock_movement_list(*, actor: Any, stock: Stock | None = None) -> QuerySet[StockMovement]:
    qs = _scoped(StockMovement.objects.select_related("stock", "actor").order_by("-pk"), actor=actor,
                 path="stock__offer__supplier")
    return qs.filter(stock=stock) if stock is not None else qs


# --- Read side for workshops -------------------------------------------------------------

# Three rules decide what a workshop sees of the offers: which offers it may buy, how much of
# one it can get, and which offer comes first. Each is written here once, as SQL for the raw
# paths (the part page, the best-offer read model) and beside it as the ORM form for querysets
# and loaded rows; tests/suppliers/test_selectors_offer_rules.py checks both forms agree.

# Buyable: an active offer of an active supplier (a pending or suspended supplier sells
# nothing). The SQL reads suppliers_offer as o and suppliers_supplier as su, with the
# parameter %(active)s = SupplierStatus.ACTIVE.
BUYABLE_OFFER_SQL = "o.is_active AND su.status = %(active)s"
BUYABLE_OFFER_Q = Q(is_active=True, supplier__status=SupplierStatus.ACTIVE)


def offer_is_buyable(*, offer: Offer) -> bool:
    """BUYABLE_OFFER_Q for one loaded offer (its supplier must have been loaded with it)."""
    return offer.is_active and offer.supplier.status == SupplierStatus.ACTIVE


# Available: what can ship, on_hand − reserved summed over the offer's stock in active
# warehouses (an inactive one ships nothing), never below 0. The SQL reads suppliers_stock as s
# and suppliers_warehouse as w, grouped by offer.
AVAILABLE_SQL = "GREATEST(COALESCE(sum(s.on_hand - s.reserved) FILTER (WHERE w.is_active), 0), 0)"
AVAILABLE_EXPRESSION = Greatest(
    Coalesce(Sum(F("stocks__on_hand") - F("stocks__reserved"), filter=Q(stocks__warehouse__is_active=True)), 0), 0)


def stock_available(*, stock: Stock) -> int:
    """One stock row's share of AVAILABLE_SQL (its warehouse must be active to count at all)."""
    return max(stock.on_hand - stock.reserved, 0)


# The offers a workshop may buy with what they can ship, one row per offer. {where}
# narrows the offers (a part filter, or nothing for every part). A join grouped by offer, not
# a sub-query per offer: the planner nests loops for a few parts and hashes for a feed's
# hundred thousand (3x faster there, same result). Shared with services' best-offer refresh.
VISIBLE_OFFERS_SQL = f"""
    SELECT o.id, o.part_id, o.supplier_id, o.price, o.lead_time_days,
           {AVAILABLE_SQL} AS available
    FROM suppliers_offer o JOIN suppliers_supplier su ON su.id = o.supplier_id
    LEFT JOIN suppliers_stock s ON s.offer_id = o.id
    LEFT JOIN suppliers_warehouse w ON w.id = s.warehouse_id
    WHERE {BUYABLE_OFFER_SQL} {{where}}
    GROUP BY o.id
"""  # noqa: S608 - fixed fragments only; every value is a parameter

# The one ranking of a part's offers: what a workshop would pick first comes first. In stock
# first, then the cheapest, the quickest, the most in stock, and the offer id so that equal
# offers keep one order. The part page lists offers in this order and the best-offer read
# model (services.part_best_offer_refresh) keeps its first, so the best offer in a search is
# always the first offer on the part page. Keys as (column, descending); out_of_stock is
# "available <= 0" (false sorts first).
OFFER_RANKING = (("out_of_stock", False), ("price", False), ("lead_time_days", False), ("available", True),
                 ("id", False))
_RANKING_SQL_COLUMNS = {"out_of_stock": "available <= 0"}
# Over VISIBLE_OFFERS_SQL's columns.
OFFER_RANKING_SQL = ", ".join(f"{_RANKING_SQL_COLUMNS.get(column, column)}{' DESC' if descending else ''}"
                              for column, descending in OFFER_RANKING)


def offer_ranking_key_sql(alias: str) -> str:
    """OFFER_RANKING as one row value over `alias`'s VISIBLE_OFFERS_SQL columns: of two offers,
    the one with the smaller row ranks first (descending keys are numbers, negated)."""
    derived = {"out_of_stock": f"{alias}.available <= 0"}  # _RANKING_SQL_COLUMNS over `alias`
    assert derived.keys() == _RANKING_SQL_COLUMNS.keys()
    keys = []
    for column, descending in OFFER_RANKING:
        key = derived.get(column, f"{alias}.{column}")
        keys.append(f"-({key})" if descending else f"({key})")
    return "ROW(" + ", ".join(keys) + ")"


# Over offer_buyable_ranked's annotations.
OFFER_RANKING_ORDER_BY = tuple(f"{'-' if descending else ''}{column}" for column, descending in OFFER_RANKING)


def offer_buyable_ranked(*, queryset: QuerySet[Offer] | None = None) -> QuerySet[Offer]:
    """The ORM form of VISIBLE_OFFERS_SQL ranked by OFFER_RANKING_SQL: the buyable offers among
    `queryset` (default all) annotated with `available` and `out_of_stock`, in ranking order."""
    qs = (queryset if queryset is not None else Offer.objects.all()).filter(BUYABLE_OFFER_Q)
    return (qs.annotate(available=AVAILABLE_EXPRESSION)
            .annotate(out_of_stock=ExpressionWrapper(Q(available__lte=0), output_field=BooleanField()))
            .order_by(*OFFER_RANKING_ORDER_BY))


_PART_OFFERS_SQL = f"""
WITH visible AS ({VISIBLE_OFFERS_SQL.format(where="AND o.part_id = %(part)s")})
SELECT id, available FROM visible ORDER BY {OFFER_RANKING_SQL}
"""  # noqa: S608 - fixed fragments only; every value is a parameter


@dataclass(frozen=True)
class PartOffer:
    offer_id: int
    supplier_id: int
    supplier_name: str
    sku: str
    price: int
    available: int
    lead_time_days: int
    min_order_qty: int
    pack_size: int
    warehouse_cities: list[str]


def part_offers(*, part_id: int) -> list[PartOffer]:
    """Every buyable offer of one part, ranked by OFFER_RANKING_SQL (three queries)."""
    with connection.cursor() as cursor:
        cursor.execute(_PART_OFFERS_SQL, {"part": part_id, "active": SupplierStatus.ACTIVE})
        ranked = cursor.fetchall()
    offers = Offer.objects.select_related("supplier").in_bulk([offer_id for offer_id, _ in ranked])
    cities: dict[int, list[str]] = {}
    for offer_id, city in (Stock.objects.filter(offer__in=list(offers), warehouse__is_active=True)
                           .order_by("offer_id", "warehouse__city").values_list("offer_id", "warehouse__city")
                           .distinct()):
        cities.setdefault(offer_id, []).append(city)
    return [
        PartOffer(offer_id=o.pk, supplier_id=o.supplier_id, supplier_name=o.supplier.legal_name, sku=o.sku,
                  price=o.price, available=available, lead_time_days=o.lead_time_days,
                  min_order_qty=o.min_order_qty, pack_size=o.pack_size, warehouse_cities=cities.get(o.pk, []))
        for offer_id, available in ranked if (o := offers.get(offer_id)) is not None
    ]


def part_best_offers(*, part_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per part: the lowest price among offers in stock (else the lowest price at all), the total
    available stock and how many suppliers offer it. One query on the PartBestOffer read model
    (one row per part, kept current by services.part_best_offer_refresh), however many offers.

    Returns {part_id: {"offer_id", "supplier_id", "price", "lead_time_days", "available",
    "total_available", "supplier_count"}}: the catalog's BestOfferSource, registered by
    SuppliersConfig.ready. Parts without a buyable offer are absent.
    """
    if not part_ids:
        return {}
    # Raw: the hot path of every search page, where building the ORM query cost more than running it.
    # The ids go as one array literal ('{1,2,3}'), not as a list: psycopg quotes a list element by
    # element (a regular expression each), a third of this function's CPU for a page of 50 parts.
    ids = "{" + ",".join(str(int(part_id)) for part_id in part_ids) + "}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT part_id, offer_id, supplier_id, price, lead_time_days, available, total_available, supplier_count"
            " FROM suppliers_partbestoffer WHERE part_id = ANY(%s::bigint[]) AND supplier_count > 0",
            [ids])
        rows = cursor.fetchall()
    return {
        part_id: {"offer_id": offer_id, "supplier_id": supplier_id, "price": price, "lead_time_days": lead_time,
                  "available": available, "total_available": total, "supplier_count": suppliers}
        for part_id, offer_id, supplier_id, price, lead_time, available, total, suppliers in rows
    }


__all__ = [
    "AVAILABLE_EXPRESSION", "AVAILABLE_SQL", "BUYABLE_OFFER_Q", "BUYABLE_OFFER_SQL", "OFFER_RANKING",
    "OFFER_RANKING_ORDER_BY", "OFFER_RANKING_SQL", "VISIBLE_OFFERS_SQL", "PartOffer",
    "actor_is_operator", "offer_buyable_ranked", "offer_is_buyable", "offer_list", "part_best_offers", "part_offers",
    "stock_available",
    "stock_list", "stock_movement_list", "supplier_for_actor", "supplier_for_actor_or_none", "supplier_list",
    "warehouse_list",
]
