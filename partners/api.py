"""Webhooks API: a partner manages its API client's webhook endpoints and reads their delivery log.
Every operation needs an API key with the scope webhooks:manage; the endpoints are the key's
client's (another client's endpoint answers 404 like a missing one). What an endpoint receives
is what the client may see (partners.selectors): its keys' scopes and the supplier or workshop
it acts for.

- GET  /api/v1/webhooks/event-types/                             the event types the client may subscribe to
- GET/POST /api/v1/webhooks/endpoints/                           list; create (the secret once)
- GET/PATCH/DELETE /api/v1/webhooks/endpoints/{id}/
- POST /api/v1/webhooks/endpoints/{id}/rotate-secret/            a new secret (once); the old one signs on a while
- POST /api/v1/webhooks/endpoints/{id}/test/                     a `webhook.test` message (202)
- POST /api/v1/webhooks/endpoints/{id}/replay-failed/            every failed delivery since a time (202)
- GET  /api/v1/webhooks/endpoints/{id}/deliveries/               the delivery log, newest first
- GET  /api/v1/webhooks/endpoints/{id}/deliveries/{delivery_id}/ one delivery with every attempt
- POST /api/v1/webhooks/endpoints/{id}/deliveries/{delivery_id}/replay/  send it again (202)
"""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from okto88.api.authentication import ApiClientPrincipal
from okto88.api.pagination import CursorPagination
from okto88.models import ApiClient, Scope
from partners import selectors, services
from partners.errors import NoApiClient
from partners.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from partners.serializers import (
    DeliveryDetailOutSerializer,
    DeliveryOutSerializer,
    EndpointCreatedOutSerializer,
    EndpointCreateInSerializer,
    EndpointOutSerializer,
    EndpointUpdateInSerializer,
    EventTypesOutSerializer,
    ReplayFailedInSerializer,
    ReplayFailedOutSerializer,
    SecretRotateInSerializer,
    SecretRotateOutSerializer,
    TestSendInSerializer,
    TestSendOutSerializer,
)

TAGS = ["webhooks"]
AUTH = ("Needs an API key with the scope webhooks:manage; the endpoints are its API client's. ")
PROBLEM_403 = OpenApiResponse(description="`insufficient_scope` (the key lacks webhooks:manage) or `no_api_client` "
                                          "(a browser session: endpoints belong to an API client)")
PROBLEM_404 = OpenApiResponse(description="`webhook_endpoint_not_found`: no such endpoint, or another client's")
PROBLEM_409_NOT_LIVE = OpenApiResponse(description="`webhook_endpoint_not_live`: the endpoint is paused or "
                                                   "disabled")
PROBLEM_400_ENDPOINT = OpenApiResponse(
    description="Validation errors, or `webhook_url_not_allowed` (not https, or the host does not resolve or "
                "resolves to an address that is not public), `webhook_event_type_unknown` or "
                "`webhook_event_type_not_visible` (`topics` names the refused event types)")


def _api_client(request) -> ApiClient:
    if not isinstance(request.user, ApiClientPrincipal):
        raise NoApiClient("Call with the API key of the client whose endpoints these are.")
    return request.user.api_client


def _endpoint(request, endpoint_id: int) -> WebhookEndpoint:
    return selectors.webhook_endpoint_get(api_client=_api_client(request), endpoint_id=endpoint_id)


class WebhookApi(APIView):
    required_scopes = [Scope.WEBHOOKS_MANAGE]


class EndpointCursorPagination(CursorPagination):
    ordering = "-pk"
    page_size = 50


class DeliveryCursorPagination(CursorPagination):
    ordering = "-pk"
    page_size = 50


class EventTypeListApi(WebhookApi):
    @extend_schema(operation_id="webhooks_event_types_list", tags=TAGS,
                   responses={200: EventTypesOutSerializer, 403: PROBLEM_403},
                   description=AUTH + "The event types this API client may subscribe to now: those whose scope "
                               "one of its live keys holds, of its supplier or workshop if the topic is about one.")
    def get(self, request):
        view = selectors.partner_view(api_client=_api_client(request))
        return Response({"event_types": selectors.topics_visible(view=view)})


class EndpointListCreateApi(generics.ListAPIView, WebhookApi):
    serializer_class = EndpointOutSerializer
    pagination_class = EndpointCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return selectors.webhook_endpoint_list(api_client=_api_client(self.request))

    @extend_schema(operation_id="webhooks_endpoints_list", tags=TAGS,
                   responses={200: EndpointOutSerializer(many=True), 403: PROBLEM_403},
                   description=AUTH + "The client's endpoints, newest first. Secrets are never shown here.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="webhooks_endpoints_create", tags=TAGS, request=EndpointCreateInSerializer,
                   responses={201: EndpointCreatedOutSerializer, 400: PROBLEM_400_ENDPOINT, 403: PROBLEM_403,
                              409: OpenApiResponse(description="`webhook_endpoint_limit_reached`: the client has "
                                                               "as many endpoints as it may (`limit`)")},
                   description=AUTH + "Create an endpoint. The answer carries its signing secret (`whsec_…`), "
                               "shown this once: keep it to verify the `webhook-signature` header.")
    def post(self, request):
        api_client = _api_client(request)
        body = EndpointCreateInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = services.endpoint_create(api_client=api_client, actor=request.user, **body.validated_data)
        data = {**EndpointOutSerializer(created.endpoint).data, "secret": created.secret}
        return Response(data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(WebhookApi):
    @extend_schema(operation_id="webhooks_endpoints_retrieve", tags=TAGS,
                   responses={200: EndpointOutSerializer, 403: PROBLEM_403, 404: PROBLEM_404},
                   description=AUTH + "One endpoint (without its secret).")
    def get(self, request, endpoint_id: int):
        return Response(EndpointOutSerializer(_endpoint(request, endpoint_id)).data)

    @extend_schema(operation_id="webhooks_endpoints_partial_update", tags=TAGS, request=EndpointUpdateInSerializer,
                   responses={200: EndpointOutSerializer, 400: PROBLEM_400_ENDPOINT, 403: PROBLEM_403,
                              404: PROBLEM_404},
                   description=AUTH + "Change the URL, the event types or the description, or pause "
                               "(`is_active: false`) and resume it. A URL and event types are checked as on "
                               "creation. An endpoint the platform disabled is enabled again by an operator.")
    def patch(self, request, endpoint_id: int):
        endpoint = _endpoint(request, endpoint_id)
        body = EndpointUpdateInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint=endpoint, actor=request.user, **body.validated_data)
        return Response(EndpointOutSerializer(endpoint).data)

    @extend_schema(operation_id="webhooks_endpoints_destroy", tags=TAGS,
                   responses={204: None, 403: PROBLEM_403, 404: PROBLEM_404},
                   description=AUTH + "Delete the endpoint with its secrets and its delivery log; deliveries "
                               "still pending are not sent.")
    def delete(self, request, endpoint_id: int):
        services.endpoint_delete(endpoint=_endpoint(request, endpoint_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointSecretRotateApi(WebhookApi):
    @extend_schema(operation_id="webhooks_endpoints_rotate_secret", tags=TAGS, request=SecretRotateInSerializer,
                   responses={200: SecretRotateOutSerializer, 403: PROBLEM_403, 404: PROBLEM_404},
                   description=AUTH + "A new signing secret, shown this once. The old one keeps signing until "
                               "`previous_secret_expires_at` (each message carries both signatures meanwhile); "
                               "a second rotation inside that overlap ends the oldest secret at once.")
    def post(self, request, endpoint_id: int):
        endpoint = _endpoint(request, endpoint_id)
        body = SecretRotateInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        hours = body.validated_data.get("overlap_hours")
        rotated = services.endpoint_secret_rotate(endpoint=endpoint, actor=request.user,
                                                  overlap=None if hours is None else timedelta(hours=hours))
        return Response(SecretRotateOutSerializer(rotated).data)


class EndpointTestSendApi(WebhookApi):
    @extend_schema(operation_id="webhooks_endpoints_test", tags=TAGS, request=TestSendInSerializer,
                   responses={202: TestSendOutSerializer, 403: PROBLEM_403, 404: PROBLEM_404,
                              409: PROBLEM_409_NOT_LIVE},
                   description=AUTH + "Send a `webhook.test` message (data: the endpoint's id and `message`), "
                               "signed and retried like any event; its delivery appears in the log.")
    def post(self, request, endpoint_id: int):
        endpoint = _endpoint(request, endpoint_id)
        body = TestSendInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        delivery = services.endpoint_test_send(endpoint=endpoint, message=body.validated_data["message"])
        return Response(TestSendOutSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class EndpointReplayFailedApi(WebhookApi):
    @extend_schema(operation_id="webhooks_endpoints_replay_failed", tags=TAGS, request=ReplayFailedInSerializer,
                   responses={202: ReplayFailedOutSerializer, 403: PROBLEM_403, 404: PROBLEM_404,
                              409: PROBLEM_409_NOT_LIVE},
                   description=AUTH + "Send again every failed delivery created since `since`, each with its "
                               "own webhook-id and the retry schedule from its start; `replayed` says how many.")
    def post(self, request, endpoint_id: int):
        endpoint = _endpoint(request, endpoint_id)
        body = ReplayFailedInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        replayed = services.endpoint_deliveries_replay_failed(endpoint=endpoint, since=body.validated_data["since"])
        return Response({"replayed": replayed}, status=status.HTTP_202_ACCEPTED)


class DeliveryListApi(generics.ListAPIView, WebhookApi):
    serializer_class = DeliveryOutSerializer
    pagination_class = DeliveryCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = _endpoint(self.request, self.kwargs["endpoint_id"])
        status_filter = self.request.query_params.get("status")
        if status_filter is not None and status_filter not in DeliveryStatus.values:
            raise exceptions.ValidationError({"status": [exceptions.ErrorDetail(
                f"One of {', '.join(DeliveryStatus.values)}.", code="invalid_choice")]})
        return selectors.webhook_delivery_list(endpoint=endpoint, status=status_filter)

    @extend_schema(operation_id="webhooks_deliveries_list", tags=TAGS,
                   parameters=[OpenApiParameter("status", str, enum=DeliveryStatus.values,
                                                description="Only deliveries in this status")],
                   responses={200: DeliveryOutSerializer(many=True), 403: PROBLEM_403, 404: PROBLEM_404},
                   description=AUTH + "The endpoint's deliveries, newest first.")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DeliveryDetailApi(WebhookApi):
    @extend_schema(operation_id="webhooks_deliveries_retrieve", tags=TAGS,
                   responses={200: DeliveryDetailOutSerializer, 403: PROBLEM_403,
                              404: OpenApiResponse(description="`webhook_endpoint_not_found` or "
                                                               "`webhook_delivery_not_found`")},
                   description=AUTH + "One delivery with every attempt: number, start, duration, outcome, the "
                               "receiver's status code and the start of its answer.")
    def get(self, request, endpoint_id: int, delivery_id: int):
        delivery = selectors.webhook_delivery_get(endpoint=_endpoint(request, endpoint_id), delivery_id=delivery_id)
        return Response(DeliveryDetailOutSerializer(delivery).data)


class DeliveryReplayApi(WebhookApi):
    @extend_schema(operation_id="webhooks_deliveries_replay", tags=TAGS, request=None,
                   responses={202: DeliveryOutSerializer, 403: PROBLEM_403,
                              404: OpenApiResponse(description="`webhook_endpoint_not_found` or "
                                                               "`webhook_delivery_not_found`"),
                              409: OpenApiResponse(description="`webhook_endpoint_not_live` or "
                                                               "`webhook_delivery_not_replayable` (discarded)")},
                   description=AUTH + "Send the delivery again now, with the same webhook-id and the retry "
                               "schedule from its start; its attempts so far stay in the log.")
    def post(self, request, endpoint_id: int, delivery_id: int):
        delivery = selectors.webhook_delivery_get(endpoint=_endpoint(request, endpoint_id), delivery_id=delivery_id)
        delivery = services.endpoint_delivery_replay(delivery=delivery)
        return Response(DeliveryOutSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
