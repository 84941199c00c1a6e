"""The business section of the operations view, and each supplier's own figures (the supplier
admin): GMV, orders and average order value by day, supplier, category and province; fill rate;
why orders were lost; demand without supply.

Everything is read from the daily read model analytics.models.SalesDay (its
rule, and so the definitions of GMV and fill rate, in analytics.read_models), so a page sums at
most a few thousand rows whatever the number of orders. A period covers the whole days
(Asia/Jakarta) it touches: an order counts on the day it was placed. With `supplier_id` every
figure counts only that supplier's supplier orders and lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Sum
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from analytics.figures import Column, Figure
from analytics.models import LOST_ORDER_STATUSES, SalesDay
from analytics.periods import JAKARTA, Period
from analytics.selectors.demand import demand_figures
from catalog.models import Category
from orders.models import OrderStatus, SupplierOrderStatus
from suppliers.models import Offer, Supplier

# Rows a ranking (by supplier, category, province, reason, part) lists, largest first.
TOP_ROWS = 50
_SUMS = ("orders", "supplier_orders", "gmv_orders", "gmv", "gmv_qty", "lines_ordered", "lines_shipped", "qty_ordered",
         "qty_shipped", "cancelled", "failed", "expired")

GMV_NOTE = _("GMV: the goods of paid orders with their PPN (per line, rounded half up to whole rupiah), without "
             "shipping; an order cancelled or failed after payment leaves it (its money went back), an expired or "
             "unpaid one never enters it. Average order value: GMV ÷ the orders in it. Days in Asia/Jakarta, by "
             "the day the order was placed.")
FILL_RATE_NOTE = _("Fill rate: of the lines of paid orders, the share whose supplier order was shipped or "
                   "delivered, by line and by quantity. Orders still being prepared count as not shipped yet, "
                   "so the last days read low until they ship.")


def period_days(period: Period) -> tuple[dt.date, dt.date]:
    """The first and last day (Asia/Jakarta) the period touches."""
    last_instant = period.end - dt.timedelta(microseconds=1)
    return period.start.astimezone(JAKARTA).date(), max(last_instant, period.start).astimezone(JAKARTA).date()


def _days(period: Period) -> list[dt.date]:
    first, last = period_days(period)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _sales(*, period: Period, grain: str, supplier_id: int | None, by: Iterable[str]) -> list[dict]:
    first, last = period_days(period)
    rows = SalesDay.objects.filter(grain=grain, day__gte=first, day__lte=last)
    if supplier_id is not None:
        rows = rows.filter(supplier_id=supplier_id)
    return list(rows.values(*by).annotate(**{name: Sum(name) for name in _SUMS}).order_by(*by))


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _aov(gmv: int, orders: int) -> int | None:
    return (2 * gmv + orders) // (2 * orders) if orders else None  # whole rupiah, rounded half up


def _money_columns() -> tuple[Column, ...]:
    return (Column("orders", _("Orders placed"), "int"), Column("gmv_orders", _("Orders in GMV"), "int"),
            Column("gmv", _("GMV"), "money"), Column("aov", _("Average order value"), "money"))


def _money_values(row: dict) -> dict:
    gmv, gmv_orders = int(row["gmv"] or 0), int(row["gmv_orders"] or 0)
    return {"orders": int(row["orders"] or 0), "gmv_orders": gmv_orders, "gmv": gmv, "aov": _aov(gmv, gmv_orders)}


def _fill_values(row: dict) -> dict:
    lines, lines_shipped = int(row["lines_ordered"] or 0), int(row["lines_shipped"] or 0)
    qty, qty_shipped = int(row["qty_ordered"] or 0), int(row["qty_shipped"] or 0)
    return {"lines_ordered": lines, "lines_shipped": lines_shipped, "fill_rate_lines": _share(lines_shipped, lines),
            "qty_ordered": qty, "qty_shipped": qty_shipped, "fill_rate_qty": _share(qty_shipped, qty)}


def _fill_columns() -> tuple[Column, ...]:
    return (Column("lines_ordered", _("Lines ordered"), "int"), Column("lines_shipped", _("Lines shipped"), "int"),
            Column("fill_rate_lines", _("Fill rate (lines)"), "percent"),
            Column("qty_ordered", _("Units ordered"), "int"), Column("qty_shipped", _("Units shipped"), "int"),
            Column("fill_rate_qty", _("Fill rate (units)"), "percent"))


def _zero() -> dict:
    return dict.fromkeys(_SUMS, 0)


def _grain(supplier_id: int | None, platform: str) -> str:
    return "supplier" if supplier_id is not None else platform


def sales_by_day_figure(*, period: Period, supplier_id: int | None = None) -> Figure:
    found = {row["day"]: row for row in _sales(period=period, grain=_grain(supplier_id, "day"),
                                                supplier_id=supplier_id, by=("day",))}
    rows = []
    for day in _days(period):
        row = found.get(day) or _zero()
        rows.append({"day": day, **_money_values(row), "cancelled": int(row["cancelled"] or 0),
                     "failed": int(row["failed"] or 0), "expired": int(row["expired"] or 0)})
    return Figure(
        key="sales_by_day", title=_("GMV, orders and average order value by day"),
        columns=(Column("day", _("Day"), "date"), *_money_columns(), Column("cancelled", _("Cancelled"), "int"),
                 Column("failed", _("Failed"), "int"), Column("expired", _("Expired"), "int")),
        rows=rows, chart="line", x="day", series=("gmv",), secondary=("orders", "gmv_orders"), note=GMV_NOTE,
    )


def fill_rate_by_day_figure(*, period: Period, supplier_id: int | None = None) -> Figure:
    found = {row["day"]: row for row in _sales(period=period, grain=_grain(supplier_id, "day"),
                                                supplier_id=supplier_id, by=("day",))}
    rows = [{"day": day, **_fill_values(found.get(day) or _zero())} for day in _days(period)]
    total = _fill_values({name: sum(int(row[name]) for row in found.values()) for name in
                          ("lines_ordered", "lines_shipped", "qty_ordered", "qty_shipped")})
    return Figure(
        key="fill_rate_by_day", title=_("Fill rate by day"),
        columns=(Column("day", _("Day"), "date"), *_fill_columns()),
        rows=rows, chart="line", x="day", series=("fill_rate_lines", "fill_rate_qty"), note=FILL_RATE_NOTE,
        extra={"totals": total},
    )


def _ranked(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (-int(row["gmv"] or 0), -int(row["orders"] or 0)))[:TOP_ROWS]


def sales_by_supplier_figure(*, period: Period) -> Figure:
    rows = _ranked(_sales(period=period, grain="supplier", supplier_id=None, by=("supplier_id",)))
    names = dict(Supplier.objects.filter(pk__in=[row["supplier_id"] for row in rows]).values_list("pk", "legal_name"))
    return Figure(
        key="sales_by_supplier", title=_("Sales by supplier"),
        columns=(Column("supplier", _("Supplier")), *_money_columns(), *_fill_columns()),
        rows=[{"supplier": names.get(row["supplier_id"], str(row["supplier_id"])), **_money_values(row),
               **_fill_values(row)} for row in rows],
        chart="hbar", x="supplier", series=("gmv",),
        note=_("An order with parts from several suppliers counts once for each of them."),
    )


def sales_by_category_figure(*, period: Period) -> Figure:
    rows = _ranked(_sales(period=period, grain="category", supplier_id=None, by=("category_id",)))
    english = (get_language() or "").startswith("en")
    names = {pk: (en if english else idn) for pk, idn, en in
             Category.objects.filter(pk__in=[row["category_id"] for row in rows]).values_list("pk", "name_id",
                                                                                               "name_en")}
    return Figure(
        key="sales_by_category", title=_("Sales by category"),
        columns=(Column("category", _("Category")), *_money_columns()),
        rows=[{"category": names.get(row["category_id"], str(row["category_id"])), **_money_values(row)}
              for row in rows],
        chart="hbar", x="category", series=("gmv",),
        note=_("An order with parts of several categories counts once in each of them."),
    )


def sales_by_province_figure(*, period: Period) -> Figure:
    rows = _ranked(_sales(period=period, grain="province", supplier_id=None, by=("province",)))
    return Figure(
        key="sales_by_province", title=_("Sales by province"),
        columns=(Column("province", _("Province")), *_money_columns()),
        rows=[{"province": row["province"] or "—", **_money_values(row)} for row in rows],
        chart="hbar", x="province", series=("gmv",), note=_("The province of the delivery address."),
    )


def _status_label(status: str) -> str:
    return str(dict(OrderStatus.choices).get(status, status))


def lost_orders_figure(*, period: Period, supplier_id: int | None = None) -> Figure:
    """Why orders were lost: cancelled, failed or expired, with the reason on their timeline
    (stored in English, translated here for the reader)."""
    first, last = period_days(period)
    rows = SalesDay.objects.filter(grain="supplier_status" if supplier_id is not None else "status",
                                   day__gte=first, day__lte=last, status__in=LOST_ORDER_STATUSES)
    if supplier_id is not None:
        rows = rows.filter(supplier_id=supplier_id)
        counted = "supplier_orders"
    else:
        counted = "orders"
    found = rows.values("status", "reason").annotate(n=Sum(counted)).order_by("-n", "status", "reason")[:TOP_ROWS]
    return Figure(
        key="lost_orders", title=_("Cancelled, failed and expired orders by reason"),
        columns=(Column("status", _("Status")), Column("reason", _("Reason")),
                 Column("orders", _("Supplier orders") if supplier_id is not None else _("Orders"), "int")),
        rows=[{"status": _status_label(row["status"]), "reason": gettext(row["reason"]) if row["reason"] else "—",
               "orders": int(row["n"])} for row in found],
        chart="hbar", x="reason", series=("orders",),
        note=_("The reason written on the order's timeline when it was closed."),
    )


def supplier_orders_by_status_figure(*, period: Period, supplier_id: int) -> Figure:
    first, last = period_days(period)
    found = {row["supplier_status"]: int(row["n"]) for row in
             SalesDay.objects.filter(grain="supplier_status", supplier_id=supplier_id, day__gte=first, day__lte=last)
             .values("supplier_status").annotate(n=Sum("supplier_orders"))}
    return Figure(
        key="orders_by_status", title=_("Your orders by status"),
        columns=(Column("status", _("Status")), Column("orders", _("Supplier orders"), "int")),
        rows=[{"status": str(label), "orders": found.get(status, 0)} for status, label in SupplierOrderStatus.choices],
        chart="bar", x="status", series=("orders",),
        note=_("Your supplier orders of the orders placed in the period, by their status now."),
    )


def supplier_top_parts_figure(*, period: Period, supplier_id: int) -> Figure:
    """The supplier's offers (its SKUs) ranked by GMV in the period."""
    first, last = period_days(period)
    found = list(SalesDay.objects.filter(grain="supplier_offer", supplier_id=supplier_id, day__gte=first,
                                         day__lte=last)
                 .values("offer_id").annotate(gmv_total=Sum("gmv"), quantity=Sum("gmv_qty"))
                 .order_by("-gmv_total", "-quantity", "offer_id")[:TOP_ROWS])
    offers = {offer.pk: offer for offer in
              Offer.objects.filter(pk__in=[row["offer_id"] for row in found]).select_related("part")}
    english = (get_language() or "").startswith("en")
    rows = []
    for row in found:
        offer = offers.get(row["offer_id"])
        part = offer.part if offer else None
        rows.append({"part_number": part.number if part else "", "sku": offer.sku if offer else "",
                     "name": (part.name_en if english else part.name_id) if part else "",
                     "quantity": int(row["quantity"]), "gmv": int(row["gmv_total"])})
    return Figure(
        key="top_parts", title=_("Your top parts"),
        columns=(Column("part_number", _("Part number")), Column("sku", _("SKU")), Column("name", _("Name")),
                 Column("quantity", _("Units sold"), "int"), Column("gmv", _("GMV"), "money")),
        rows=rows, chart="hbar", x="part_number", series=("gmv",),
        note=_("Your SKUs ranked by GMV (as in the first figure); units sold are the units in it."),
    )


def business_figures(*, period: Period, supplier_id: int | None = None) -> list[Figure]:
    """The business section (supplier_id None: the platform), or one supplier's own figures."""
    if supplier_id is not None:
        return [
            sales_by_day_figure(period=period, supplier_id=supplier_id),
            fill_rate_by_day_figure(period=period, supplier_id=supplier_id),
            supplier_orders_by_status_figure(period=period, supplier_id=supplier_id),
            supplier_top_parts_figure(period=period, supplier_id=supplier_id),
            lost_orders_figure(period=period, supplier_id=supplier_id),
        ]
    return [
        sales_by_day_figure(period=period),
        sales_by_supplier_figure(period=period),
        sales_by_category_figure(period=period),
        sales_by_province_figure(period=period),
        fill_rate_by_day_figure(period=period),
        lost_orders_figure(period=period),
        *demand_figures(period=period),
    ]
