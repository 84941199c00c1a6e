from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Max, Q
from django.utils.translation import gettext

from okto88.models import ApiClient, OutboxEvent, Role, Scope, User

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


# --- The published outbox, in publication order (the partners' events feed) ----------------

# Positions one page looks through at most, whatever matches: a client that sees few events
# (one supplier's among every supplier's) costs a bounded index range per request, and its
# cursor still moves on past the events it may not see.
OUTBOX_PAGE_SCAN_POSITIONS = 20_000


@dataclass(frozen=True)
class OutboxPage:
    events: list[OutboxEvent]
    last_position: int  # where the next page starts: after this position
    has_more: bool  # events may follow now: ask again at once


def outbox_events_page(*, condition: Q, after: int, limit: int) -> OutboxPage:
    """Published events matching `condition` (of the caller's visibility rule) after position
    `after`, in position order, at most `limit`.

    Positions grow in the order events become visible (okto88.services stamps them one relay
    at a time), so a reader that has seen up to position p never finds a new event below p.
    The last published position is read before the page, so every event up to it is in the
    page's snapshot: with the page not full, the next page may start after it even if nothing
    there matched."""
    newest = OutboxEvent.objects.aggregate(newest=Max("position"))["newest"] or 0
    until = min(newest, after + OUTBOX_PAGE_SCAN_POSITIONS)
    if until <= after:
        return OutboxPage(events=[], last_position=after, has_more=False)
    events = list(OutboxEvent.objects.filter(condition, position__gt=after, position__lte=until)
                  .order_by("position")[:limit + 1])
    if len(events) > limit:
        events = events[:limit]
        return OutboxPage(events=events, last_position=events[-1].position, has_more=True)
    return OutboxPage(events=events, last_position=until, has_more=until < newest)
