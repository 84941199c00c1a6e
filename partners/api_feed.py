"""The events feed and the published event contract, for partners' systems.

- GET /api/v1/events/?after=<cursor>&type=<topic>,…&limit=  (an API key) the events the caller's
  API client may see, in publication order: a partner that was down catches up without webhooks
- GET /api/v1/events/asyncapi.json  (public) the event contract as an AsyncAPI 3.0 document

The feed shows exactly what the client's webhooks would receive: partners.selectors decides
(a topic's audience scope on one of the client's live keys, and for a supplier's or a workshop's
topic the binding the payload names). No scope of its own is needed beyond that. The contract
is public documentation, like /api/v1/schema/: it names topics and payload shapes, no data.
"""

from __future__ import annotations

import base64
import binascii
import re

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from okto88.api.authentication import ApiClientPrincipal
from okto88.api.pagination import InvalidCursor, page_size_param
from okto88.asyncapi import asyncapi_document
from okto88.events import event_topics
from partners.errors import NoApiClient
from partners.selectors import partner_events_page, partner_view

FEED_LIMIT_DEFAULT = 100
FEED_LIMIT_MAX = 500
_CURSOR_PREFIX = "p:"
_CURSOR_POSITION = re.compile(r"[0-9]{1,18}")


def feed_cursor(position: int) -> str:
    """The opaque cursor after `position`: URL-safe base64 of "p:<position>", unpadded."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode().rstrip("=")


def _feed_cursor_position(cursor: str) -> int:
    """The position a cursor we issued stands for; InvalidCursor for any other string."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    position = text.removeprefix(_CURSOR_PREFIX)
    if not text.startswith(_CURSOR_PREFIX) or not _CURSOR_POSITION.fullmatch(position):
        raise InvalidCursor()
    return int(position)


def _partner_topics() -> list[str]:
    """Every topic partners may see at all (with an audience): what `type` may name."""
    return [name for name, topic in event_topics().items() if topic.audience is not None]


def _type_error(detail: str, code: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({"type": [exceptions.ErrorDetail(detail, code=code)]})


def _requested_topics(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    names = [name.strip() for name in raw.split(",")]
    if not all(names):
        raise _type_error("Name one or more event types, separated by commas.", "blank")
    known = set(_partner_topics())
    unknown = sorted({name for name in names if name not in known})
    if unknown:
        raise _type_error(f"Unknown event type(s): {', '.join(unknown)[:300]}. See /api/v1/events/asyncapi.json.",
                          "unknown_event_type")
    return sorted(set(names))


def _event_item(event) -> dict:
    return {"id": event.pk, "type": event.topic, "schema_version": event.schema_version,
            "aggregate_type": event.aggregate_type, "aggregate_id": event.aggregate_id, "payload": event.payload,
            "created_at": event.created_at.isoformat().replace("+00:00", "Z"), "position": event.position}


_EVENT_FIELDS = {
    "id": serializers.IntegerField(help_text="The event's id: the same event by webhook carries it too; "
                                             "deduplicate on it"),
    "type": serializers.CharField(help_text="Its topic (docs/events.md, /api/v1/events/asyncapi.json)"),
    "schema_version": serializers.IntegerField(allow_null=True,
                                               help_text="The version of the topic's payload shape"),
    "aggregate_type": serializers.CharField(),
    "aggregate_id": serializers.CharField(),
    "payload": serializers.JSONField(help_text="The topic's payload, as its JSON Schema says"),
    "created_at": serializers.DateTimeField(help_text="When the change was committed (UTC)"),
    "position": serializers.IntegerField(help_text="The order of publication, increasing"),
}


class EventFeedApi(APIView):
    problem_statuses = [404]

    @extend_schema(
        operation_id="events_list", tags=["events"],
        parameters=[
            OpenApiParameter("after", str, OpenApiParameter.QUERY, required=False,
                             description="The `next_cursor` of the previous page; absent or empty: from the oldest "
                                         "event kept (30 days). A cursor okto88 did not issue is a 404 "
                                         "`invalid_cursor`."),
            OpenApiParameter("type", {"type": "array", "items": {"type": "string", "enum": _partner_topics()},
                                      "minItems": 1},
                             OpenApiParameter.QUERY, required=False, style="form", explode=False,
                             description="Only these event types, comma-separated (`stock.changed,"
                                         "stock.changed_batch`). An unknown type is a 400; a type the client may "
                                         "not see is a 403 `event_topic_not_visible`."),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1}, OpenApiParameter.QUERY, required=False,
                             description=f"Events per page (default {FEED_LIMIT_DEFAULT}; above {FEED_LIMIT_MAX} "
                                         f"counts as {FEED_LIMIT_MAX})"),
        ],
        responses={
            200: inline_serializer("FeedPage", {
                "data": inline_serializer("FeedEvent", _EVENT_FIELDS, many=True),
                "next_cursor": serializers.CharField(
                    allow_null=True, help_text="Pass as `after` for the next page; null only when nothing was ever "
                                               "visible and no `after` was given"),
                "has_more": serializers.BooleanField(help_text="More events follow now: ask again at once. "
                                                               "False: poll later with `next_cursor`"),
            }),
            403: OpenApiResponse(description="`event_topic_not_visible`: a `type` the client's keys or binding do "
                                             "not cover; `no_api_client`: a browser session, not an API key"),
            404: OpenApiResponse(description="`invalid_cursor`: an `after` okto88 did not issue"),
        },
        description="The events the caller's API client may see (the same as its webhooks would receive), in "
                    "publication order, after a cursor. Kept 30 days. A supplier's key (with `stock:write`) sees "
                    "its own stock and offers, a workshop's key (`orders:read`) its own orders, any key with "
                    "`catalog:read` the catalog changes. Page through with `next_cursor` until `has_more` is "
                    "false, then poll with the last `next_cursor`: it moves on even past events the client may "
                    "not see, and an event published later always comes after it.",
    )
    def get(self, request):
        if not isinstance(request.user, ApiClientPrincipal):
            # What a client sees hangs on its keys and bindings, which a browser session has not.
            raise NoApiClient("The events feed is read with an API client's key (Authorization: Api-Key <key>).")
        raw_cursor = request.query_params.get("after") or ""
        after = _feed_cursor_position(raw_cursor) if raw_cursor else 0
        topics = _requested_topics(request.query_params.get("type"))
        limit = page_size_param(request, name="limit", maximum=FEED_LIMIT_MAX) or FEED_LIMIT_DEFAULT
        page = partner_events_page(view=partner_view(api_client=request.user.api_client), topics=topics,
                                   after=after, limit=limit)
        next_cursor = feed_cursor(page.last_position) if page.last_position or raw_cursor else None
        return Response({"data": [_event_item(event) for event in page.events], "next_cursor": next_cursor,
                         "has_more": page.has_more})


class EventContractApi(APIView):
    # Public, like /api/v1/schema/: topic names and payload shapes are documentation, not data.
    public = True
    authentication_classes = []

    @extend_schema(operation_id="events_asyncapi", tags=["events"], auth=[],
                   responses={200: OpenApiResponse(description="The AsyncAPI 3.0.0 document (JSON) of every topic "
                                                               "partners may receive")},
                   description="The event contract as an AsyncAPI 3.0.0 document, generated from the registry "
                               "(okto88/asyncapi.py): a channel per topic, its payload's JSON Schema, the webhook "
                               "headers and the events feed.")
    def get(self, request):
        return Response(asyncapi_document(topics=event_topics().values()))
