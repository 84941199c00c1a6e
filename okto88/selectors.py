from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext

from okto88.models import ApiClient, Role, Scope, User

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.OPERATOR: frozenset(Scope.values),
    Role.SUPPLIER_MEMBER: frozenset({Scope.CATALOG_READ, Scope.STOCK_WRITE}),
    Role.WORKSHOP_MEMBER: frozenset({Scope.CATALOG_READ, Scope.ORDERS_READ, Scope.ORDERS_WRITE}),
    Role.NONE: frozenset({Scope.CATALOG_READ}),
}


def user_scopes(*, user: User) -> frozenset[str]:
    """What a logged-in browser user may do through the API; their data is scoped elsewhere."""
    if not user.is_active:
        return frozenset()
    return ROLE_SCOPES[user.role]


def actor_person(*, actor: object) -> User | None:
    """The person behind an action, for audit columns; None for an API client, a workflow step
    or nobody (those are recorded in a reference or step field instead)."""
    return actor if isinstance(actor, User) and actor.pk else None


def actor_api_client(*, actor: object) -> ApiClient | None:
    """The partner API client behind an action (its key's ApiClientPrincipal), for audit columns
    next to actor_person's; None for a person, a workflow step or nobody."""
    api_client = getattr(actor, "api_client", None)
    return api_client if isinstance(api_client, ApiClient) else None


# What actor_name follows, for list pages: select_related these from the actor's foreign key.
ACTOR_NAME_RELATED = ("workshop_membership__workshop", "supplier_membership__supplier")


def actor_name(*, person: User | None) -> str:
    """The recorded actor (see actor_person) as others see it, in the stock ledger and on order
    events: the workshop or supplier the person acts for, never their login e-mail."""
    if person is None:
        return ""
    if person.is_staff:
        return gettext("okto88 operator")
    for membership, organisation, label in (("workshop_membership", "workshop", "name"),
                                            ("supplier_membership", "supplier", "legal_name")):
        try:
            return getattr(getattr(getattr(person, membership), organisation), label)
        except ObjectDoesNotExist:
            continue
    return gettext("a former member")
