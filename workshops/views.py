"""Browser pages of a workshop: the vehicle selector (make → model → year → variant, or a VIN),
the parts that fit the chosen vehicle, and the garage of customer vehicles.

The chosen variant lives in the session (SESSION_VARIANT_KEY) so it stays selected while the
member browses. The parts list is catalog.selectors.part_search, as the catalog API's: it
decides number or words, filters, counts and sorts; this page renders it. Offers come from
suppliers, which sit beside workshops in the app layers, so the best offer per row is read
through the catalog's best-offer seam (one call per page), and its delivery cost and arrival
day (orders' estimates) through the catalog's offer-delivery seam. Cart, part page and orders need
orders and live in orders/views.py.
"""

from __future__ import annotations

import datetime
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog import selectors as catalog_selectors
from catalog.models import Position
from okto88.errors import ApplicationError, InvalidField, error_message
from vehicles import selectors as vehicle_selectors
from vehicles.errors import InvalidVin
from vehicles.services import vin_decode
from workshops import selectors, services
from workshops.errors import NoWorkshop

SESSION_VARIANT_KEY = "okto88.variant_id"
PAGE_SIZE = 20
# The sort menu; "" is the search's own order (catalog_selectors.PartSort.RELEVANCE).
SORTS = {"": catalog_selectors.PartSort.RELEVANCE, "price": catalog_selectors.PartSort.PRICE,
         "available": catalog_selectors.PartSort.AVAILABLE, "lead_time": catalog_selectors.PartSort.LEAD_TIME}
VIN_CANDIDATES_SHOWN = 30
POSITIONS = {value for value, _label in Position.choices if value}

# The VIN's own reason (a translated detail) after what went wrong; in the garage, an invalid
# field is the plate (the only free-text field the form checks).
VIN_WORDING = {InvalidVin: gettext_lazy("This VIN is not valid: %(detail)s")}
GARAGE_WORDING = {**VIN_WORDING, InvalidField: gettext_lazy("A plate number looks like B 1234 XYZ.")}


def workshop_member_required(view):
    """Anonymous → the login page; signed in but not a workshop member → 403."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        try:
            request.workshop = selectors.workshop_for_actor(actor=request.user)
        except NoWorkshop as exc:
            raise PermissionDenied(exc.message) from exc
        return view(request, *args, **kwargs)

    return wrapper


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def session_variant(request):
    variant_id = _int_or_none(request.session.get(SESSION_VARIANT_KEY))
    if variant_id is None:
        return None
    return vehicle_selectors.variant_list().filter(pk=variant_id).first()


# --- Vehicle selector ---------------------------------------------------------------------

def _years(variants) -> list[int]:
    this_year = datetime.date.today().year
    years: set[int] = set()
    for variant in variants:
        years.update(range(variant.year_from, (variant.year_to or this_year) + 1))
    return sorted(years, reverse=True)


def _selector_context(*, make_id: int | None, model_id: int | None, year: int | None) -> dict:
    """Each step narrows the next: models of the make, years the model was built, variants of that year."""
    makes = list(vehicle_selectors.make_list().order_by("name"))
    models = list(vehicle_selectors.vehicle_model_list(make_id=make_id).order_by("name")) if make_id else []
    if model_id not in {m.pk for m in models}:
        model_id, year = None, None
    years, variants = [], []
    if model_id:
        model_variants = list(vehicle_selectors.variant_list(model_id=model_id).order_by("year_from", "name", "pk"))
        years = _years(model_variants)
        if year in years:
            variants = [v for v in model_variants if v.year_from <= year and (v.year_to is None or v.year_to >= year)]
        else:
            year = None
    return {"makes": makes, "models": models, "years": years, "variants": variants,
            "sel_make": make_id, "sel_model": model_id, "sel_year": year}


@require_GET
@workshop_member_required
def vehicle_selector(request):
    """The selector fieldset, re-rendered by htmx after each choice."""
    context = _selector_context(make_id=_int_or_none(request.GET.get("make")),
                                model_id=_int_or_none(request.GET.get("model")),
                                year=_int_or_none(request.GET.get("year")))
    return render(request, "workshops/_vehicle_selector.html", context)


def _safe_next(request, default: str) -> str:
    nxt = request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return default


@require_POST
@workshop_member_required
def vehicle_select(request):
    """Remember the chosen variant (or forget it with clear=1) and go back to the parts."""
    if request.POST.get("clear"):
        request.session.pop(SESSION_VARIANT_KEY, None)
        return redirect(_safe_next(request, reverse("workshops:parts")))
    variant_id = _int_or_none(request.POST.get("variant"))
    variant = vehicle_selectors.variant_list().filter(pk=variant_id).first() if variant_id else None
    if variant is None:
        messages.error(request, _("Choose a make, model, year and variant first."))
        return redirect("workshops:parts")
    request.session[SESSION_VARIANT_KEY] = variant.pk
    messages.success(request, _("Vehicle chosen: %(vehicle)s.") % {"vehicle": _variant_label(variant)})
    return redirect(_safe_next(request, reverse("workshops:parts")))


def _variant_label(variant) -> str:
    years = f"{variant.year_from}–{variant.year_to}" if variant.year_to else f"{variant.year_from}–"
    return f"{variant.model.make.name} {variant.model.name} {variant.name} ({years})"


@require_http_methods(["GET", "POST"])
@workshop_member_required
def vin_lookup(request):
    """Decode a VIN and propose the variants it may be (make + model year)."""
    vin = (request.POST.get("vin") or request.GET.get("vin") or "").strip()
    context: dict = {"vin": vin, "candidates": [], "decoded": None, "error": ""}
    if vin:
        try:
            decoded = vin_decode(vin=vin)
        except InvalidVin as exc:
            context["error"] = error_message(exc, wording=VIN_WORDING)
        else:
            context["decoded"] = decoded
            candidates = list(vehicle_selectors.variant_candidates_for_vin(decoded=decoded)[:VIN_CANDIDATES_SHOWN + 1])
            context["candidates"] = candidates[:VIN_CANDIDATES_SHOWN]
            context["more"] = len(candidates) > VIN_CANDIDATES_SHOWN
    template = "workshops/_vin_result.html" if request.htmx else "workshops/vin.html"
    return render(request, template, context)


# --- Parts ----------------------------------------------------------------------------------

@require_GET
@workshop_member_required
def parts(request):
    variant = session_variant(request)
    q = (request.GET.get("q") or "").strip()[:100]
    category_id = _int_or_none(request.GET.get("category"))
    brand_id = _int_or_none(request.GET.get("brand"))
    position = request.GET.get("position") or ""
    if position not in POSITIONS:
        position = ""
    sort = request.GET.get("sort") or ""
    if sort not in SORTS:
        sort = ""
    context: dict = {
        "variant": variant, "variant_label": _variant_label(variant) if variant else "",
        "q": q, "sel_category": category_id, "sel_brand": brand_id, "sel_position": position, "sort": sort,
        "sort_choices": [("", _("Relevance")), ("price", _("Lowest price")),
                         ("available", _("Most in stock")), ("lead_time", _("Fastest delivery"))],
        "number_matches": None, "page": None, "facets": None, "positions": [], "offers": {}, "deliveries": {},
    }
    if not variant:
        context.update(_selector_context(make_id=_int_or_none(request.GET.get("make")),
                                         model_id=_int_or_none(request.GET.get("model")),
                                         year=_int_or_none(request.GET.get("year"))))
    if not (q or variant):  # nothing to list yet: the page asks for a vehicle or a search
        return render(request, "workshops/parts.html", context)

    search = catalog_selectors.part_search(q=q, variant_id=variant.pk if variant else None, category_id=category_id,
                                           brand_id=brand_id, position=position, sort=SORTS[sort])
    if search.kind == catalog_selectors.SearchKind.NUMBER:
        context["number_matches"] = search.number_matches
        context["offers"] = search.best_offers(part_ids=[m.part.pk for m in search.number_matches])
        context["deliveries"] = _best_offer_deliveries(request, context["offers"])
        return render(request, "workshops/parts.html", context)
    page = Paginator(search.parts, PAGE_SIZE).get_page(request.GET.get("page"))
    context.update(page=page, offers=search.best_offers(part_ids=[p.pk for p in page.object_list]),
                   sort_truncated=search.sort_truncated, facets=search.facets, positions=search.positions)
    context["deliveries"] = _best_offer_deliveries(request, context["offers"])
    return render(request, "workshops/parts.html", context)


def _best_offer_deliveries(request, offers: dict[int, dict]) -> dict[int, object]:
    """{part_id: its best offer's delivery to the workshop's default address}, one call per page
    through the catalog's seam (the estimates are orders' own: orders.services.offer_delivery_estimates)."""
    by_offer = catalog_selectors.offer_deliveries(actor=request.user,
                                                  offer_ids=[offer["offer_id"] for offer in offers.values()])
    return {part_id: by_offer.get(offer["offer_id"]) for part_id, offer in offers.items()}


# --- Garage ---------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@workshop_member_required
def garage(request):
    if request.method == "POST":
        variant_id = _int_or_none(request.POST.get("variant"))
        variant = vehicle_selectors.variant_list().filter(pk=variant_id).first() if variant_id else None
        try:
            vehicle = services.customer_vehicle_save(
                workshop=request.workshop, plate_number=request.POST.get("plate_number", ""),
                vin=request.POST.get("vin", ""), variant=variant, owner_name=request.POST.get("owner_name", ""))
        except ApplicationError as exc:
            messages.error(request, error_message(exc, wording=GARAGE_WORDING))
        else:
            messages.success(request, _("%(plate)s saved in the garage.") % {"plate": vehicle.plate_number})
            return redirect("workshops:garage")
    variant = session_variant(request)
    return render(request, "workshops/garage.html", {
        "vehicles": selectors.customer_vehicle_list(actor=request.user),
        "variant": variant, "variant_label": _variant_label(variant) if variant else "",
        "form": request.POST if request.method == "POST" else {},
    })
