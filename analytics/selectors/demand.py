"""Demand without supply: searches that found parts none of which had an offer ("no_offer"),
and part numbers nobody matched ("no_match"), as catalog.selectors.part_search counts them
(okto88.recording.count("demand", (reason, category id, brand id, query))) into Rollup rows of
kind "demand" whose labels are [reason, category id or "", brand id or "", query]."""

from __future__ import annotations

from django.db.models import F, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from analytics.figures import Column, Figure
from analytics.models import Rollup
from analytics.periods import Period
from catalog.models import Brand, Category

DEMAND_KIND = "demand"
REASONS = {
    "no_offer": _("Found, but no offer"),
    "no_match": _("Part number not found"),
}
# Rows a figure lists, most searched first.
TOP_ROWS = 50
_LABELS = ("reason", "category", "brand", "query")


def _demand_counts(*, period: Period, labels: tuple[str, ...]) -> list[dict]:
    """Searches per distinct `labels` (names of _LABELS) in the period, most first, at most TOP_ROWS."""
    names = {name: F(f"labels__{_LABELS.index(name)}") for name in labels}
    rows = (Rollup.objects.filter(kind=DEMAND_KIND, bucket_start__gte=period.start, bucket_start__lt=period.end)
            .annotate(**{f"l_{name}": expression for name, expression in names.items()})
            .values(*(f"l_{name}" for name in labels)).annotate(searches=Sum("count"))
            .order_by("-searches", *(f"l_{name}" for name in labels))[:TOP_ROWS])
    return [{**{name: row[f"l_{name}"] or "" for name in labels}, "searches": int(row["searches"])} for row in rows]


def _category_names(ids: set[str]) -> dict[str, str]:
    english = (get_language() or "").startswith("en")
    pks = [int(pk) for pk in ids if pk.isdigit()]
    return {str(pk): (en if english else idn) for pk, idn, en in
            Category.objects.filter(pk__in=pks).values_list("pk", "name_id", "name_en")}


def _brand_names(ids: set[str]) -> dict[str, str]:
    pks = [int(pk) for pk in ids if pk.isdigit()]
    return {str(pk): name for pk, name in Brand.objects.filter(pk__in=pks).values_list("pk", "name")}


def _reason_label(reason: str) -> str:
    return str(REASONS.get(reason, reason))


def demand_by_category_figure(*, period: Period) -> Figure:
    rows = _demand_counts(period=period, labels=("reason", "category", "brand"))
    categories = _category_names({row["category"] for row in rows})
    brands = _brand_names({row["brand"] for row in rows})
    anything = str(_("(any)"))
    return Figure(
        key="demand_by_category", title=_("Demand without supply by category and brand"),
        columns=(Column("reason", _("What happened")), Column("category", _("Category")),
                 Column("brand", _("Brand")), Column("searches", _("Searches"), "int")),
        rows=[{"reason": _reason_label(row["reason"]), "category": categories.get(row["category"], anything),
               "brand": brands.get(row["brand"], anything), "searches": row["searches"]} for row in rows],
        chart="none",
        note=_("Searches that found parts none of which had an offer, and part numbers that matched nothing. "
               "The category and brand are the ones the search was narrowed to, else those of its first "
               "result."),
    )


def demand_top_queries_figure(*, period: Period) -> Figure:
    rows = _demand_counts(period=period, labels=("reason", "query"))
    return Figure(
        key="demand_top_queries", title=_("Most searched without supply"),
        columns=(Column("query", _("Search")), Column("reason", _("What happened")),
                 Column("searches", _("Searches"), "int")),
        rows=[{"query": row["query"], "reason": _reason_label(row["reason"]), "searches": row["searches"]}
              for row in rows],
        chart="hbar", x="query", series=("searches",),
        note=_("The searched text, trimmed and in lower case (a part number as its key)."),
    )


def demand_figures(*, period: Period) -> list[Figure]:
    return [demand_by_category_figure(period=period), demand_top_queries_figure(period=period)]


__all__ = ["DEMAND_KIND", "REASONS", "demand_by_category_figure", "demand_figures", "demand_top_queries_figure"]
