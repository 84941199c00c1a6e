"""Scopes: each API view names the scopes its methods need in `required_scopes`.

`required_scopes` is either a list (for every method) or a dict of method → list. A view
with no `required_scopes` only needs an authenticated caller.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from okto88.api.authentication import ApiClientPrincipal
from okto88.api.rate_windows import auth_failure_count
from okto88.selectors import user_scopes


def caller_scopes(request) -> frozenset[str]:
    if isinstance(request.user, ApiClientPrincipal):
        return request.user.scopes
    if request.user and request.user.is_authenticated:
        return user_scopes(user=request.user)
    return frozenset()


def view_required_scopes(view, method: str) -> list[str]:
    required = getattr(view, "required_scopes", None) or []
    if isinstance(required, dict):
        return list(required.get(method, required.get("*", [])))
    return list(required)


class InsufficientScope(exceptions.PermissionDenied):
    default_code = "insufficient_scope"


class HasRequiredScopes(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if getattr(view, "public", False):
            return True
        if not (request.user and request.user.is_authenticated):
            auth_failure_count(request)  # 429 instead of 401 past the address's rate
            raise exceptions.NotAuthenticated()
        missing = sorted(set(view_required_scopes(view, request.method)) - caller_scopes(request))
        if missing:
            raise InsufficientScope(f"This request needs the scope(s): {', '.join(missing)}.")
        return True
