"""Catalog API (read-only, scope catalog:read): categories, brands, parts and the searches.

Pagination — every list is bounded:
- plain lists (categories, brands, parts without `q`, a part's fitments) use the cursor
  pagination of the platform (`?page_size=` up to 200), stable under inserts;
- ranked search (`q`, or a sort by best offer) pages by `limit` (≤ 100) and `offset` (≤ 1,000):
  a rank is not a unique key a cursor could hold, and no workshop reads past the first pages.
  The response has no `count`: counting every match is the expensive part of a ranked search.
  A part number in `q` lists at most selectors.NUMBER_SEARCH_LIMIT matches, as the workshop
  page does.
- the number lookup returns at most `limit` (≤ 100) matches and says when it truncated.

Caching — the part searches (`/parts/` and `/parts/lookup/`) are read-through cached in
Redis for CATALOG_SEARCH_CACHE_SECONDS (default 300; 0 turns it off), keyed by the
absolute URL and the catalog version that every catalog write moves on after its commit
(selectors.catalog_cache_version), so a write is visible to the next request.
Authentication, scopes and throttling run on every request.

What is cached is the page already rendered to JSON, cut where each part's `best_offer`
goes (_RenderedPage), and the same page with the best offers joined in, valid while the
best-offer version (selectors.BEST_OFFER_VERSION_KEY, moved on by every change of a best
offer) is current. A hit is served as stored; after a supplier change the pieces are joined
with the offers of the moment (one lookup for the page) instead of unpickling and
re-rendering a few hundred nested values, which cost more than the rest of the request.
A page sorted by best offer has its order from the offers too: its rendered page is valid
only under both versions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from catalog import selectors
from catalog.models import Brand, BrandKind, Category, Fitment, Part, Position
from catalog.serializers import (
    BrandSerializer,
    CategorySerializer,
    FitmentSerializer,
    NumberLookupSerializer,
    PartDetailSerializer,
    PartPageSerializer,
    PartSerializer,
    RankedPartSerializer,
    part_row_data,
)
from okto88.api.filters import BooleanFilter, ChoiceFilter, IdFilter, IntegerFilter
from okto88.api.pagination import CursorPagination, page_size_param
from okto88.bounds import BIGINT_MAX
from okto88.models import Scope
from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)

DEFAULT_SEARCH_CACHE_SECONDS = 300


def _search_cache_seconds() -> int:
    return int(getattr(settings, "CATALOG_SEARCH_CACHE_SECONDS", DEFAULT_SEARCH_CACHE_SECONDS))


@dataclass(frozen=True)
class _RenderedPage:
    """A search page as JSON bytes, cut where each part's `best_offer` goes: pieces[i] comes
    before the offer of part_ids[i], and the last piece after the last offer."""

    pieces: tuple[bytes, ...]
    part_ids: tuple[int, ...]


# Stands in for each best offer while the page renders; the random part keeps it from ever
# matching text in catalog data.
_OFFER_MARK = f"\ue000best_offer:{secrets.token_hex(8)}\ue000"
_OFFER_MARK_JSON = JSONRenderer().render(_OFFER_MARK)


@dataclass(frozen=True)
class _FacetsJSON:
    """The facets of a page already rendered as JSON (selectors.search_references)."""

    text: str


_FACETS_MARK = f"\ue000facets:{secrets.token_hex(8)}\ue000"
_FACETS_MARK_JSON = JSONRenderer().render(_FACETS_MARK)


def _page_render(data: dict, parts: list[dict]) -> _RenderedPage:
    """Render `data` as the API renders any response, each of `parts` (dicts inside `data`, in
    the order they appear in it) with its best offer left out; facets already rendered
    (_FacetsJSON) are put in as they are, escaped as JSONRenderer escapes the rest."""
    for part in parts:
        part["best_offer"] = _OFFER_MARK
    facets = data.get("facets")
    if isinstance(facets, _FacetsJSON):
        data["facets"] = _FACETS_MARK
    rendered = JSONRenderer().render(data)
    if isinstance(facets, _FacetsJSON):
        rendered = rendered.replace(_FACETS_MARK_JSON, _escaped_as_drf(facets.text).encode(), 1)
    pieces = tuple(rendered.split(_OFFER_MARK_JSON))
    if len(pieces) != len(parts) + 1:
        raise AssertionError("a part's best offer is not where the page was cut")
    return _RenderedPage(pieces=pieces, part_ids=tuple(part["id"] for part in parts))


# As JSONRenderer writes it (compact, not ASCII-escaped); one encoder, not one per call.
_offer_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _escaped_as_drf(text: str) -> str:
    """JSON text escaped as JSONRenderer escapes it: U+2028 and U+2029 are valid in JSON but end a
    line in JavaScript before ES2019, so DRF writes them as \\u escapes."""
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _offer_json(offer: dict | None) -> bytes:
    return _escaped_as_drf(_offer_encoder.encode(offer)).encode()


def _page_body(page: _RenderedPage, offers: dict[int, dict] | None = None) -> bytes:
    """The page with each part's best offer of this moment (one lookup for the page, unless the
    request has read them already: `offers`, the page's parts' best offers)."""
    if offers is None:
        offers = selectors.part_best_offers(part_ids=page.part_ids)
    body = [page.pieces[0]]
    for part_id, piece in zip(page.part_ids, page.pieces[1:], strict=True):
        body += (_offer_json(offers.get(part_id)), piece)
    return b"".join(body)


def _json_response(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="application/json")


@dataclass(frozen=True)
class _Computed:
    """A page computed for a request, with its parts' best offers when the search read them already."""

    page: _RenderedPage
    offers: dict[int, dict] | None = None


def _computed_body(computed: _Computed) -> bytes:
    return _page_body(computed.page, computed.offers)


def _search_response(request, compute: Callable[[], _Computed], *, by_offers: bool = False) -> HttpResponse:
    """`compute()`'s page for this request with its best offers, from the cache where it can.

    Two entries per absolute URL (the page links in the data carry it): the rendered page
    with the catalog version it was computed under, and the page with its best offers
    joined in, with both versions of that moment. The joined page is served while both
    versions are current (no query at all); after a supplier change the stored page is
    joined with the offers looked up again; after a catalog change the page is computed
    again. The versions and the joined page come in one MGET (the page, as large again,
    only when needed: when the joined page is there but stale). Each version is read before
    the rows it describes, so an entry can only be older than its versions say, never newer:
    a change committed meanwhile moves the version on and drops it. Redis unreachable means
    no cache, not an error. A page whose order comes from the offers (`by_offers`) is stored
    and read back under both versions."""
    seconds = _search_cache_seconds()
    if seconds <= 0:
        return _json_response(_computed_body(compute()))
    url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:32]
    # The key prefixes name the entries' formats: entries of another format are never read back.
    page_key, body_key = (cache.make_key(f"catalog:search:{kind}:{url}") for kind in ("pages", "bodies"))
    redis = redis_client()
    try:
        catalog_version, offers_version, stored_body = redis.mget(
            [cache.make_key(selectors.CATALOG_VERSION_KEY), cache.make_key(selectors.BEST_OFFER_VERSION_KEY), body_key])
        catalog_version = (int(catalog_version) if catalog_version is not None
                           else selectors.cache_version(selectors.CATALOG_VERSION_KEY))
        offers_version = (int(offers_version) if offers_version is not None
                          else selectors.cache_version(selectors.BEST_OFFER_VERSION_KEY))
        if catalog_version is None or (by_offers and offers_version is None):
            return _json_response(_computed_body(compute()))
        versions = f"{catalog_version}:{offers_version}:".encode()
        if offers_version is not None and stored_body is not None and stored_body.startswith(versions):
            return _json_response(stored_body[len(versions):])
        page_version = (catalog_version, offers_version) if by_offers else catalog_version
        page = None
        # The joined page is written whenever the rendered one is (and again after each change
        # of the offers, so it outlives it): without it the rendered page is not there either,
        # and a first request does not ask for it (one round trip less per cache miss).
        stored_page = None if stored_body is None and offers_version is not None else redis.get(page_key)
        if stored_page is not None:
            stored_version, stored = pickle.loads(stored_page)  # noqa: S301 - our own entry, as Django's cache does
            if stored_version == page_version and isinstance(stored, _RenderedPage):
                page = stored
    except Exception:
        logger.warning("search cache unavailable", exc_info=True)
        return _json_response(_computed_body(compute()))
    fresh = page is None
    offers = None
    if fresh:
        computed = compute()
        page, offers = computed.page, computed.offers
    body = _page_body(page, offers)
    try:
        pipe = redis.pipeline(transaction=False)
        if fresh:
            pipe.set(page_key, pickle.dumps((page_version, page), pickle.HIGHEST_PROTOCOL), ex=seconds)
        if offers_version is not None:
            pipe.set(body_key, versions + body, ex=seconds)
        pipe.execute()
    except Exception:
        logger.warning("search cache unavailable", exc_info=True)
    return _json_response(body)


def _validated(filterset_class, request) -> dict:
    """Validate query parameters with a django-filter FilterSet; bad values → 400 problem."""
    filterset = filterset_class(data=request.query_params, queryset=filterset_class.Meta.model.objects.none())
    if not filterset.is_valid():
        raise exceptions.ValidationError({
            field: [exceptions.ErrorDetail(error["message"], code=error["code"]) for error in errors]
            for field, errors in filterset.form.errors.get_json_data().items()
        })
    return filterset.form.cleaned_data


class RankedPagination:
    """limit/offset for ranked results, bounded both ways, without a count."""

    default_limit = 20
    max_limit = 100
    max_offset = 1000

    def _int_param(self, request, name: str, default: int, maximum: int, minimum: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise exceptions.ValidationError({name: [exceptions.ErrorDetail("A whole number is required.",
                                                                            code="invalid")]}) from None
        if not minimum <= value <= maximum:
            raise exceptions.ValidationError({name: [exceptions.ErrorDetail(
                f"Must be between {minimum} and {maximum}.", code="out_of_range")]})
        return value

    def parameters_validate(self, request) -> None:
        self.limit = self._int_param(request, "limit", self.default_limit, self.max_limit, 1)
        self.offset = self._int_param(request, "offset", 0, self.max_offset, 0)

    def paginate_queryset(self, queryset, request, view=None) -> list:
        self.request = request
        self.parameters_validate(request)
        rows = list(queryset[self.offset:self.offset + self.limit + 1])
        self.has_next = len(rows) > self.limit and self.offset + self.limit <= self.max_offset
        return rows[:self.limit]

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        url = replace_query_param(self.request.build_absolute_uri(), "limit", self.limit)
        return replace_query_param(url, "offset", self.offset + self.limit)

    def get_previous_link(self) -> str | None:
        if self.offset <= 0:
            return None
        url = replace_query_param(self.request.build_absolute_uri(), "limit", self.limit)
        previous = max(self.offset - self.limit, 0)
        return replace_query_param(url, "offset", previous) if previous else remove_query_param(url, "offset")

    def get_paginated_response(self, data) -> Response:
        return Response(OrderedDict([("next", self.get_next_link()), ("previous", self.get_previous_link()),
                                     ("results", data)]))


class IdCursorPagination(CursorPagination):
    ordering = "id"


class CategoryPagination(IdCursorPagination):
    page_size = 200  # the whole tree usually fits in one page


# --- Categories and brands --------------------------------------------------------------

class CategoryFilter(filters.FilterSet):
    parent = IdFilter(field_name="parent_id", help_text="Only the children of this category")
    root = BooleanFilter(field_name="parent", lookup_expr="isnull", help_text="Only top-level categories")

    class Meta:
        model = Category
        fields = ["parent", "root"]


class CategoryListApi(generics.ListAPIView):
    """The category tree, flat: each category names its parent (null at the top)."""

    required_scopes = [Scope.CATALOG_READ]
    serializer_class = CategorySerializer
    pagination_class = CategoryPagination
    filterset_class = CategoryFilter

    def get_queryset(self):
        return selectors.category_list()

    @extend_schema(operation_id="categories_list", tags=["catalog"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class BrandFilter(filters.FilterSet):
    kind = ChoiceFilter(choices=BrandKind.choices)

    class Meta:
        model = Brand
        fields = ["kind"]


class BrandListApi(generics.ListAPIView):
    required_scopes = [Scope.CATALOG_READ]
    serializer_class = BrandSerializer
    pagination_class = IdCursorPagination
    filterset_class = BrandFilter

    def get_queryset(self):
        return selectors.brand_list()

    @extend_schema(operation_id="brands_list", tags=["catalog"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- Parts ------------------------------------------------------------------------------

_POSITIONS = [(value, label) for value, label in Position.choices if value]


class PartSearchFilter(filters.FilterSet):
    """Only validates: the searches themselves are selectors. An id that names nothing is
    a 404 (_search_references_check): the schema can bound an id, not know which exist."""

    vehicle = IdFilter(help_text="Vehicle variant id")
    category = IdFilter(help_text="Category id; includes its subcategories")
    brand = IdFilter(help_text="Brand id")
    q = filters.CharFilter(max_length=200, help_text="A part number, or words (Indonesian or English)")
    position = ChoiceFilter(choices=_POSITIONS, help_text="With `vehicle`: fitted at this position")
    sort = ChoiceFilter(choices=[(s.value, s.value) for s in selectors.PartSort], help_text="The order")

    class Meta:
        model = Part
        fields = ["vehicle", "category", "brand", "q", "position", "sort"]


_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}

PART_SEARCH_PARAMETERS = [
    OpenApiParameter("vehicle", _ID_SCHEMA, description="Vehicle variant id: the parts that fit it, "
                     "with facet counts per category and brand (404 if there is no such variant)"),
    OpenApiParameter("category", _ID_SCHEMA, description="Category id, subcategories included (404 if none)"),
    OpenApiParameter("brand", _ID_SCHEMA, description="Brand id (404 if none)"),
    OpenApiParameter("q", {"type": "string", "maxLength": 200},
                     description="A part number as printed (\"04465-0K240\", \"0446 50K240\"): its matches by kind "
                     "(`match`: exact, supersedes, interchangeable, superseded_by, similar), whatever "
                     "vehicle, category, brand or sort; or words (full text, typo tolerant): ranked results"),
    OpenApiParameter("position", {"type": "string", "enum": [value for value, _label in _POSITIONS]},
                     description="With `vehicle`: only parts fitted at this position"),
    OpenApiParameter("sort", {"type": "string", "enum": [s.value for s in selectors.PartSort]},
                     description="relevance (default: rank with `q`, else id), or by the best offer: price "
                     f"(lowest first), available (most first), lead_time (fastest first), of the first "
                     f"{selectors.SORT_LIMIT} parts; parts without an offer last"),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="Without `q` or a sort: the page cursor"),
    OpenApiParameter("page_size", {"type": "integer", "minimum": 1},
                     description="Without `q` or a sort: page size (default 50; above 200 counts as 200)"),
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": RankedPagination.max_limit},
                     description=f"With `q` or a sort: page size (default {RankedPagination.default_limit})"),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": RankedPagination.max_offset},
                     description="With `q` or a sort: offset"),
]


_PLAIN_INT = re.compile(r"[1-9][0-9]{0,18}")
_PLAIN_ID_PARAMETERS = ("vehicle", "category", "brand")


def _plain_int(raw: str, integer_filter) -> int | None:
    """`raw` as the filter's form field cleans it, when it is written plainly (digits, no sign,
    spaces or leading zero) and within the filter's bounds; else None (the FilterSet answers)."""
    if not _PLAIN_INT.fullmatch(raw):
        return None
    value = int(raw)
    low, high = integer_filter.extra.get("min_value"), integer_filter.extra.get("max_value", BIGINT_MAX)
    return None if (low is not None and value < low) or value > high else value


def _plain_text(raw: str, char_filter) -> str | None:
    """`raw` as forms.CharField cleans it (stripped), when within the filter's max_length and
    without NUL; else None (the FilterSet answers)."""
    text = raw.strip()
    return None if len(text) > char_filter.extra["max_length"] or "\x00" in text else text


def _plain_ints(query, filters_: dict, names: tuple[str, ...]) -> dict | None:
    """The integer parameters `names` of `query` cleaned by _plain_int (None where absent), or
    None if any of them is not written plainly."""
    params: dict = {}
    for name in names:
        raw = query.get(name)
        params[name] = None if raw is None else _plain_int(raw, filters_[name])
        if raw is not None and params[name] is None:
            return None
    return params


def _part_search_params(request) -> dict:
    """PartSearchFilter's cleaned data for the request. Ids written plainly and words are
    cleaned here as its form cleans them (a FilterSet costs more to build than a vehicle
    search's statements take); anything else (a position, a sort, an id in another
    spelling, a bad value) goes through the FilterSet, whose errors the API answers."""
    query = request.query_params
    if "position" in query or "sort" in query:
        return _validated(PartSearchFilter, request)
    filters_ = PartSearchFilter.base_filters
    ids = _plain_ints(query, filters_, _PLAIN_ID_PARAMETERS)
    if ids is None:
        return _validated(PartSearchFilter, request)
    params: dict = {"position": "", "sort": None, **ids}
    q = query.get("q")
    if q is not None:
        q = _plain_text(q, filters_["q"])
        if q is None:
            return _validated(PartSearchFilter, request)
    params["q"] = q or ""
    return params


def _part_lookup_params(request) -> dict:
    """PartLookupFilter's cleaned data for the request, as _part_search_params: a number and
    plainly written `limit` and `vehicle` here, anything else through the FilterSet."""
    query = request.query_params
    filters_ = PartLookupFilter.base_filters
    raw = query.get("number")
    number = None if raw is None else _plain_text(raw, filters_["number"])
    if not number:  # required: the FilterSet says so
        return _validated(PartLookupFilter, request)
    ints = _plain_ints(query, filters_, ("limit", "vehicle"))
    if ints is None:
        return _validated(PartLookupFilter, request)
    return {"number": number, **ints}


def _search_references_check(params: dict, *, vehicle_rows: int | None = None,
                             vehicle_facets: bool = True) -> selectors.SearchReferences:
    """404 for an id that names nothing (the vehicle first, then the category, then the brand);
    else what search_references read: the category's subtree (None without a category) and, for
    a search by vehicle without words or position, its facets and the first `vehicle_rows` of
    its parts (in the same round trip)."""
    references = selectors.search_references(
        variant_id=params.get("vehicle"), category_id=params.get("category"), brand_id=params.get("brand"),
        vehicle_facets=vehicle_facets and not params.get("q") and not params.get("position"),
        vehicle_rows=vehicle_rows)
    for name, found, label in (("vehicle", references.variant_found, "vehicle variant"),
                               ("category", references.category_ids != [], "category"),
                               ("brand", references.brand_found, "brand")):
        if not found:
            raise exceptions.NotFound(f"There is no {label} with id {params[name]}.")
    return references


def _facets_data(facets: selectors.Facets) -> dict:
    return {
        "categories": [{"id": f.id, "name": f.name, "name_en": f.name_en, "parent_id": f.parent_id,
                        "count": f.count} for f in facets.categories],
        "brands": [{"id": f.id, "name": f.name, "count": f.count} for f in facets.brands],
    }


def _paginated_data(paginator: IdCursorPagination | RankedPagination, results: list) -> dict:
    """`paginator.get_paginated_response(results).data`, without building the Response (both
    pagers answer these three keys in this order; tests/catalog/test_api_parts.py holds them equal)."""
    return {"next": paginator.get_next_link(), "previous": paginator.get_previous_link(), "results": results}


class PartListApi(generics.GenericAPIView):
    """Find parts: by part number or words (`q`), by vehicle (`vehicle`, with facets), or both
    (the vehicle's parts that match the words); `category` and `brand` narrow any of them but
    a part number. selectors.part_search decides, filters, counts and sorts, as for the
    workshop's parts page; this renders. Without `q` or a sort pages by cursor, else by
    limit/offset (bounded, see the module doc)."""

    required_scopes = [Scope.CATALOG_READ]
    serializer_class = PartSerializer
    pagination_class = IdCursorPagination
    filter_backends: list = []  # the parameters are validated by PartSearchFilter below

    @extend_schema(operation_id="parts_list", tags=["catalog"], parameters=PART_SEARCH_PARAMETERS,
                   responses=PartPageSerializer)
    def get(self, request):
        by_offers = request.query_params.get("sort", selectors.PartSort.RELEVANCE) != selectors.PartSort.RELEVANCE
        return _search_response(request, lambda: self._page(request), by_offers=by_offers)

    def _page(self, request) -> _Computed:
        data, offers = self._search(request)
        page = _page_render(data, data["results"])
        return _Computed(page, None if offers is None else offers(page.part_ids))

    def _search(self, request) -> tuple[dict, Callable[[tuple[int, ...]], dict[int, dict] | None] | None]:
        """The page as plain data, without best offers (_page_render leaves room for them), and,
        for a search that read some best offers already, what gives a page's offers from those."""
        params = _part_search_params(request)
        # Both pagings' parameters are checked whichever applies: a bad one is never ignored.
        ranked = RankedPagination()
        ranked.parameters_validate(request)
        page_size_param(request, maximum=self.paginator.max_page_size)
        # A vehicle's first page by cursor (no cursor, no sort): the cursor pager reads one row
        # more than a page; read with the references, in their round trip.
        first_rows = (self.paginator.get_page_size(request) + 1
                      if not params.get("sort") and self.paginator.cursor_query_param not in request.query_params
                      else None)
        references = _search_references_check(params, vehicle_rows=first_rows)
        search = selectors.part_search(
            q=params.get("q") or "", variant_id=params.get("vehicle"), category_id=params.get("category"),
            brand_id=params.get("brand"), position=params.get("position") or "",
            sort=selectors.PartSort(params.get("sort") or selectors.PartSort.RELEVANCE),
            category_subtree=references.category_ids, rows=True)
        paginator = self.paginator if search.by_id else ranked
        serializer_class = (RankedPartSerializer if search.kind in (selectors.SearchKind.WORDS,
                                                                    selectors.SearchKind.NUMBER) else PartSerializer)
        parts = search.parts
        if isinstance(parts, selectors.VehicleParts) and references.vehicle_rows is not None:
            parts = parts.with_first_rows(references.vehicle_rows, limit=first_rows)
        elif isinstance(parts, (selectors.VehicleParts, selectors.RankedWords)):
            parts = parts.as_rows()  # rendered from plain rows: no model instances per page
        page = paginator.paginate_queryset(parts, request, view=self)
        if serializer_class is PartSerializer and all(type(row) is selectors.PartRow for row in page):
            # What PartSerializer(page, many=True) renders, without building the serializers: the
            # best offers are left out here and joined in by _page_body (get_best_offer's None).
            results = [part_row_data(row) for row in page]
        else:
            results = list(serializer_class(page, many=True, context=self.get_serializer_context()).data)
        if search.kind == selectors.SearchKind.NUMBER and search.variant_id is not None:
            fits = {match.part.pk: match.fits_vehicle for match in search.number_matches}
            results = [{**row, "fits_vehicle": fits[row["id"]]} for row in results]
        data = _paginated_data(paginator, results)
        if references.vehicle_facets_json is not None:
            data["facets"] = _FacetsJSON(references.vehicle_facets_json)
        elif search.facets is not None:
            data["facets"] = _facets_data(search.facets)
        return data, (search.sampled_best_offers if search.sampled_offers is not None else None)


class PartDetailApi(generics.GenericAPIView):
    """One part with its fitment (first 200), cross references and supersession."""

    required_scopes = [Scope.CATALOG_READ]
    serializer_class = PartDetailSerializer

    @extend_schema(operation_id="parts_retrieve", tags=["catalog"])
    def get(self, request, pk: int):
        part = selectors.part_detail(part_id=pk)
        if part is None:
            raise Http404
        part.fitment_count = (len(part.fitment_rows) if len(part.fitment_rows) < selectors.DETAIL_FITMENT_LIMIT
                              else selectors.part_fitment_count(part=part))
        context = {**self.get_serializer_context(), "best_offers": selectors.part_best_offers(part_ids=[part.pk])}
        return Response(PartDetailSerializer(part, context=context).data)


class PartFitmentListApi(generics.ListAPIView):
    """Every vehicle a part fits, page by page."""

    required_scopes = [Scope.CATALOG_READ]
    serializer_class = FitmentSerializer
    pagination_class = IdCursorPagination
    filter_backends: list = []

    def get_queryset(self):
        if not Part.objects.filter(pk=self.kwargs["pk"]).exists():
            raise Http404
        return Fitment.objects.filter(part_id=self.kwargs["pk"]).select_related("variant__model__make")

    @extend_schema(operation_id="parts_fitments_list", tags=["catalog"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PartLookupFilter(filters.FilterSet):
    number = filters.CharFilter(required=True, max_length=80, help_text="Any spelling: 04465-0K240, 044650k240")
    limit = IntegerFilter(min_value=1, max_value=100, help_text="At most this many matches (default 50)")
    vehicle = IdFilter(help_text="Vehicle variant id: each match says whether its part fits it")

    class Meta:
        model = Part
        fields = ["number", "limit", "vehicle"]


class PartLookupApi(generics.GenericAPIView):
    """Look a part number up: exact matches, interchangeable parts (cross references),
    supersession both ways, and close numbers when nothing matched; each labelled."""

    required_scopes = [Scope.CATALOG_READ]
    serializer_class = NumberLookupSerializer
    filter_backends: list = []

    @extend_schema(
        operation_id="parts_lookup", tags=["catalog"],
        parameters=[
            OpenApiParameter("number", {"type": "string", "minLength": 1, "maxLength": 80}, required=True,
                             description="The part number as typed"),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 100},
                             description="At most this many matches (default 50)"),
            OpenApiParameter("vehicle", _ID_SCHEMA, description="Vehicle variant id: each match then says "
                             "whether its part fits that vehicle (`fits_vehicle`)"),
        ],
    )
    def get(self, request):
        return _search_response(request, lambda: self._page(request))

    def _page(self, request) -> _Computed:
        data = self._lookup(request)
        return _Computed(_page_render(data, [match["part"] for match in data["results"]]))

    def _lookup(self, request) -> dict:
        params = _part_lookup_params(request)
        limit = int(params.get("limit") or 50)
        if params.get("vehicle") is not None:
            # 404 for a vehicle that is not there; its facets are not read: a lookup has none.
            _search_references_check({"vehicle": params["vehicle"]}, vehicle_facets=False)
        lookup = selectors.part_lookup_by_number(number=params["number"], limit=limit,
                                                 variant_id=params.get("vehicle"), rows=True)
        data = NumberLookupSerializer(lookup, context=self.get_serializer_context()).data
        return {**data, "results": list(data["results"])}
