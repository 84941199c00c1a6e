from __future__ import annotations

from okto88.models import Role, Scope, User

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
