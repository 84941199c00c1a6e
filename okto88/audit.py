"""The audit log: one append-only row per sensitive change (docs/security.md, "Audit log").

`audit_record` is called by the service that makes the change, inside its transaction, so a
change that rolls back leaves no entry and a committed one always has its entry. The actor is
the one the caller names, else the user (or API client) of the request being served
(okto88.request_context), else the system. The address and the request id come from the
request being served.

`changes` holds before/after of plain fields. Whatever is named like a secret (a key, a
secret, a password, a signature, a digest, a token) is dropped before it is written, so a
careless caller cannot put one in the log; and the whole is bounded in size.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction

from okto88.models import ApiClient, AuditActorKind, AuditEntry, User
from okto88.request_context import current_request, request_client_address
from okto88.request_id import request_id_var


class AuditAction(models.TextChoices):
    """The stable codes of what is recorded (filters, alerting and exports rely on them)."""

    API_KEY_ISSUED = "api_key.issued", "api_key.issued"
    API_KEY_REVOKED = "api_key.revoked", "api_key.revoked"
    API_KEY_ROTATED = "api_key.rotated", "api_key.rotated"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created", "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_CHANGED = "webhook_endpoint.changed", "webhook_endpoint.changed"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted", "webhook_endpoint.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook_secret.rotated", "webhook_secret.rotated"
    CREDIT_LIMIT_CHANGED = "credit_limit.changed", "credit_limit.changed"
    OFFER_PRICES_BULK_CHANGED = "offer_prices.bulk_changed", "offer_prices.bulk_changed"
    REFUND_ISSUED = "refund.issued", "refund.issued"
    STOCK_ADJUSTED = "stock.adjusted", "stock.adjusted"
    LOGIN_ADMIN = "login.admin", "login.admin"
    LOGIN_SUPPLIER_ADMIN = "login.supplier_admin", "login.supplier_admin"


# A key of `changes` (at any depth) that names one of these is dropped.
SECRET_NAME = re.compile(r"key|secret|password|passwd|signature|digest|token|credential", re.IGNORECASE)
# What one entry's `changes` may take, serialised; past it only the field names are kept.
AUDIT_CHANGES_MAX_BYTES = 8 * 1024
LABEL_MAX_LENGTH = 200

# The admin sites' URL namespaces whose logins are recorded (the supplier admin's is its
# AdminSite name in suppliers.admin_scoping, which the platform may not import).
LOGIN_ACTIONS = {"admin": AuditAction.LOGIN_ADMIN, "supplier_admin": AuditAction.LOGIN_SUPPLIER_ADMIN}


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _without_secrets(v) for k, v in value.items() if not SECRET_NAME.search(str(k))}
    if isinstance(value, list | tuple | set | frozenset):
        return [_without_secrets(v) for v in value]
    return value


def audit_changes_clean(changes: dict | None) -> dict:
    """`changes` as stored: secrets dropped, JSON values, at most AUDIT_CHANGES_MAX_BYTES."""
    cleaned = json.loads(json.dumps(_without_secrets(changes or {}), cls=DjangoJSONEncoder, default=str))
    if len(json.dumps(cleaned)) > AUDIT_CHANGES_MAX_BYTES:
        return {"truncated": True, "fields": sorted(cleaned)[:50]}
    return cleaned


def api_client_organisation(*, api_client: ApiClient) -> tuple[int | None, int | None]:
    """(supplier id, workshop id) the API client acts for, through the bindings' reverse
    accessors (the platform imports no app): at most one of the two is set."""
    for accessor, column in (("supplier_access", "supplier_id"), ("workshop_access", "workshop_id")):
        try:
            binding = getattr(api_client, accessor)
        except (ObjectDoesNotExist, AttributeError):
            continue
        if column == "supplier_id":
            return binding.supplier_id, None
        return None, binding.workshop_id
    return None, None


def _user_supplier_id(user: User) -> int | None:
    try:
        return user.supplier_membership.supplier_id
    except (ObjectDoesNotExist, AttributeError):
        return None


def _actor_columns(actor: Any) -> dict[str, Any] | None:
    if isinstance(actor, User) and actor.pk:
        return {"actor_kind": AuditActorKind.USER, "actor_user_id": actor.pk, "actor_label": actor.email}
    api_client = actor if isinstance(actor, ApiClient) else getattr(actor, "api_client", None)
    if isinstance(api_client, ApiClient):
        return {"actor_kind": AuditActorKind.API_CLIENT, "actor_api_client_id": api_client.pk,
                "actor_label": f"API client {api_client.name}"}
    if isinstance(actor, str) and actor:
        return {"actor_kind": AuditActorKind.SYSTEM, "actor_label": actor}
    return None


def _target_columns(target: Any) -> dict[str, str]:
    if target is None:
        return {}
    if isinstance(target, models.Model):
        return {"target_type": target._meta.label_lower, "target_id": str(target.pk),
                "target_label": str(target)[:LABEL_MAX_LENGTH]}
    target_type, target_id, *label = target
    return {"target_type": str(target_type), "target_id": str(target_id),
            "target_label": str(label[0])[:LABEL_MAX_LENGTH] if label else ""}


def audit_record(*, action: str, actor: Any = None, request: Any = None, target: Any = None,
                 supplier_id: int | None = None, workshop_id: int | None = None,
                 changes: dict | None = None) -> AuditEntry:
    """Write one audit entry in the caller's transaction (refused outside one).

    actor: a User, an ApiClient (or the API's principal that carries one), a label for a system
    process ("order workflow"); None takes the request's user. target: a model instance, or
    (type, id) or (type, id, label). request: the request being served unless given."""
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    if not connection.in_atomic_block:
        raise RuntimeError("audit entries must be written inside the transaction of the change")
    request = request if request is not None else current_request()
    columns = _actor_columns(actor)
    if columns is None and request is not None:
        user = getattr(request, "user", None)
        columns = _actor_columns(user) if getattr(user, "is_authenticated", False) else None
    if columns is None:
        columns = {"actor_kind": AuditActorKind.SYSTEM, "actor_label": "system"}
    columns["actor_label"] = columns["actor_label"][:LABEL_MAX_LENGTH]
    request_id = request_id_var.get() or getattr(request, "request_id", "") or ""
    return AuditEntry.objects.create(
        action=action, supplier_id=supplier_id, workshop_id=workshop_id,
        ip_address=request_client_address(request), request_id=request_id[:128],
        changes=audit_changes_clean(changes), **columns, **_target_columns(target))


def audit_login_record(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: a login to /admin/ or /supplier-admin/ (known by the URL
    namespace of the login view), and a login of an operator or a supplier's member on the site's
    own page, whose session opens the same admin (the README sends operators through it). A
    workshop member's login on the site is not recorded."""
    match = getattr(request, "resolver_match", None) if request is not None else None
    if match is None:
        return  # no request being served (a test client's force_login, a shell)
    action = LOGIN_ACTIONS.get(match.namespace or "")
    if action is None:
        if user.is_staff:
            action = AuditAction.LOGIN_ADMIN
        elif _user_supplier_id(user) is not None:
            action = AuditAction.LOGIN_SUPPLIER_ADMIN
        else:
            return
    supplier_id = _user_supplier_id(user) if action == AuditAction.LOGIN_SUPPLIER_ADMIN else None
    with transaction.atomic():
        audit_record(action=action, actor=user, request=request, target=user, supplier_id=supplier_id)
