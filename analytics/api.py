"""The operations figures as JSON, for operators' tools (scope ops:read):

- GET /api/v1/ops/{section}/?period=1h|24h|7d|30d or ?start=&end=  (load also takes ?route=)
- GET /api/v1/ops/stalled/?offset=&page_size=                      stalled orders, oldest first
- GET /api/v1/ops/orders/{number}/timeline/                         one order's step attempts
- GET /api/v1/ops/security/alerts/?status=&detector=&cursor=        security alerts, newest first

Each figure is the same JSON the /ops/ pages chart (analytics.figure_export.figure_json). Keys of
clients acting for a supplier or a workshop are refused even with the scope: the figures cover
every supplier and workshop.
"""

from __future__ import annotations

from dataclasses import replace

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, permissions
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.errors import InvalidOpsParameter, InvalidOpsPeriod, OpsNotForPartners
from analytics.figure_export import figure_json
from analytics.models import SecurityAlert, SecurityAlertStatus, SecurityDetector
from analytics.pages import (
    PARAM_MAX_LENGTH,
    SECTIONS,
    InvalidSectionParam,
    section_figures,
    section_get,
    section_params,
)
from analytics.periods import MAX_RANGE_DAYS, PRESETS, InvalidPeriod, period_parse
from analytics.selectors.security import security_alerts_list
from analytics.selectors.workflow import order_timeline_figures, stalled_orders_figure
from analytics.serializers import (
    SectionOutSerializer,
    SecurityAlertOutSerializer,
    StalledOutSerializer,
    TimelineOutSerializer,
)
from okto88.api.authentication import ApiClientPrincipal
from okto88.api.pagination import CursorPagination, page_size_param
from okto88.models import Scope
from orders.errors import OrderNotFound
from orders.services import api_client_acts_for_partner

STALLED_PAGE_SIZE = 50
STALLED_PAGE_SIZE_MAX = 200
# Stalled orders are a handful on a healthy day; pages stop here rather than load without bound.
STALLED_OFFSET_MAX = 10_000

PROBLEM_403 = OpenApiResponse(description="`insufficient_scope`: the caller lacks ops:read, or the key acts for "
                                          "a supplier or a workshop")
AUTH = "Operators call with their session; tools with an API key holding ops:read (of a client bound to no " \
       "supplier or workshop). "


class NotActingForPartner(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ApiClientPrincipal) and api_client_acts_for_partner(api_client=user.api_client):
            raise OpsNotForPartners()
        return True


class OpsApi(APIView):
    required_scopes = [Scope.OPS_READ]

    def get_permissions(self):
        return [*super().get_permissions(), NotActingForPartner()]


PERIOD_PARAMETERS = [
    OpenApiParameter("period", str, enum=list(PRESETS), description="A preset period ending now (default 24h); "
                     "ignored when start and end are given"),
    OpenApiParameter("start", {"type": "string", "format": "date"},
                     description="First day of a range (Asia/Jakarta), with end"),
    OpenApiParameter("end", {"type": "string", "format": "date"},
                     description=f"Last day of a range, included; at most {MAX_RANGE_DAYS} days from start"),
]
SECTION_PARAMETER = OpenApiParameter("section", str, OpenApiParameter.PATH, enum=[s.slug for s in SECTIONS])
ROUTE_PARAMETER = OpenApiParameter("route", {"type": "string", "maxLength": PARAM_MAX_LENGTH},
                                   description="load only: one route's figures (others ignore it)")


class OpsSectionApi(OpsApi):
    @extend_schema(operation_id="ops_section_retrieve", tags=["ops"],
                   parameters=[SECTION_PARAMETER, *PERIOD_PARAMETERS, ROUTE_PARAMETER],
                   responses={200: SectionOutSerializer, 403: PROBLEM_403,
                              400: OpenApiResponse(description="`invalid_period` (unknown preset, a date not "
                                                               "YYYY-MM-DD, start without end, end before start, "
                                                               "a range too long) or `invalid_parameter`")},
                   description=AUTH + "Needs the scope ops:read. One section's figures over a period.")
    def get(self, request, section: str):
        current = section_get(section)
        if current is None:
            raise exceptions.NotFound(f"No section {section!r}; one of {', '.join(s.slug for s in SECTIONS)}.")
        empty = [name for name in ("period", "start", "end") if request.query_params.get(name) == ""]
        if empty:  # the pages take an empty field as absent; the API says what it got
            raise InvalidOpsPeriod(f"{', '.join(empty)}: given empty; leave it out or give a value.")
        try:
            period = period_parse(request.query_params)
        except InvalidPeriod as exc:
            raise InvalidOpsPeriod(str(exc)) from exc
        if len(request.query_params.get("route", "")) > PARAM_MAX_LENGTH:  # every section checks it alike
            raise InvalidOpsParameter(f"route is at most {PARAM_MAX_LENGTH} characters.")
        try:
            params = section_params(current, request.query_params)
        except InvalidSectionParam as exc:
            raise InvalidOpsParameter(str(exc)) from exc
        figures = section_figures(current, period=period, params=params)
        return Response({"section": current.slug, "period": period.as_json(),
                         "figures": [figure_json(figure) for figure in figures]})


class OpsStalledApi(OpsApi):
    @extend_schema(operation_id="ops_stalled_list", tags=["ops"],
                   parameters=[
                       OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": STALLED_OFFSET_MAX},
                                        description="Rows to skip (the next and previous links carry it)"),
                       OpenApiParameter("page_size", {"type": "integer", "minimum": 1},
                                        description=f"Rows per page (default {STALLED_PAGE_SIZE}; above "
                                                    f"{STALLED_PAGE_SIZE_MAX} counts as {STALLED_PAGE_SIZE_MAX})"),
                   ],
                   responses={200: StalledOutSerializer, 403: PROBLEM_403},
                   description=AUTH + "Needs the scope ops:read. Orders in a state past its step's deadline, "
                               "oldest first, a page at a time.")
    def get(self, request):
        size = page_size_param(request, maximum=STALLED_PAGE_SIZE_MAX) or STALLED_PAGE_SIZE
        offset = _offset_param(request)
        figure = stalled_orders_figure(limit=offset + size + 1)
        page = figure.rows[offset:offset + size]
        more = len(figure.rows) > offset + size
        body = figure_json(replace(figure, rows=page))
        return Response({
            "next": _page_url(request, offset + size, size) if more else None,
            "previous": _page_url(request, max(offset - size, 0), size) if offset else None,
            "figure": body,
        })


def _offset_param(request) -> int:
    raw = request.query_params.get("offset")
    if raw is None:
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > STALLED_OFFSET_MAX:
        raise exceptions.ValidationError({"offset": [exceptions.ErrorDetail(
            f"A whole number from 0 to {STALLED_OFFSET_MAX}.", code="invalid")]})
    return int(raw)


def _page_url(request, offset: int, size: int) -> str:
    query = request.query_params.copy()
    query["offset"] = str(offset)
    query["page_size"] = str(size)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


class OpsOrderTimelineApi(OpsApi):
    @extend_schema(operation_id="ops_order_timeline_retrieve", tags=["ops"],
                   responses={200: TimelineOutSerializer, 403: PROBLEM_403,
                              404: OpenApiResponse(description="`order_not_found`")},
                   description=AUTH + "Needs the scope ops:read. One order's workflow step attempts (queue "
                               "wait and run time per attempt, retries and failures).")
    def get(self, request, number: str):
        figures = order_timeline_figures(order_number=number)
        if figures is None:
            raise OrderNotFound(extra={"number": str(number)[:40]})
        return Response({"order_number": number, "figures": [figure_json(figure) for figure in figures]})


class SecurityAlertPagination(CursorPagination):
    ordering = "-pk"  # newest first: the id grows with first_seen_at
    page_size = 50


SECURITY_FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=list(SecurityAlertStatus.values), description="Only alerts in this status"),
    OpenApiParameter("detector", str, enum=list(SecurityDetector.values), description="Only this detector's alerts"),
]


class OpsSecurityAlertListApi(OpsApi, generics.ListAPIView):
    serializer_class = SecurityAlertOutSerializer
    pagination_class = SecurityAlertPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SecurityAlert.objects.none()
        chosen = {}
        for name, choices in (("status", SecurityAlertStatus), ("detector", SecurityDetector)):
            value = self.request.query_params.get(name)
            if value is not None and value not in choices.values:
                raise exceptions.ValidationError({name: [exceptions.ErrorDetail(
                    f"One of {', '.join(choices.values)}.", code="invalid_choice")]})
            chosen[name] = value or ""
        # The cursor pages by id alone; the selector's open-first order is the page's, not the API's.
        return security_alerts_list(**chosen).order_by("-pk")

    @extend_schema(operation_id="ops_security_alerts_list", tags=["ops"], parameters=SECURITY_FILTER_PARAMETERS,
                   responses={200: SecurityAlertOutSerializer(many=True), 403: PROBLEM_403},
                   description=AUTH + "Needs the scope ops:read. The security alerts the detectors raised, newest "
                               "first, a page at a time (`next`/`previous` links); `?status=open` for the open ones.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
