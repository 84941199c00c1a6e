from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from okto88.api.authentication import ApiClientPrincipal
from okto88.api.permissions import caller_scopes


class MeApi(APIView):
    """Who is calling: a user (with role) or an API client, and the scopes it holds."""

    @extend_schema(
        operation_id="me_retrieve",
        responses=inline_serializer(
            "Me",
            {
                "kind": serializers.ChoiceField(choices=["user", "api_client"]),
                "name": serializers.CharField(),
                "role": serializers.CharField(allow_null=True),
                "scopes": serializers.ListField(child=serializers.CharField()),
            },
        ),
    )
    def get(self, request):
        if isinstance(request.user, ApiClientPrincipal):
            kind, name, role = "api_client", request.user.api_client.name, None
        else:
            kind, name, role = "user", request.user.email, str(request.user.role)
        return Response({"kind": kind, "name": name, "role": role, "scopes": sorted(caller_scopes(request))})
