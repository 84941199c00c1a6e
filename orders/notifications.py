"""Notifications for workshop and supplier members: an in-app list and an email, each in the
reader's own language (User.preferred_language). The text is rendered when read, from the
notification's kind and parameters, so switching language re-renders old notices too.

This module is the notifications' service: it alone writes Notification rows (sending them,
marking them read)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from okto88.models import User
from okto88.money import rupiah_digits
from orders.models import Notification, Order, SupplierOrder


def _texts(kind: str, params: dict) -> tuple[str, str]:
    """(title, body) in the active language."""
    if kind == "order_confirmed":
        return (
            _("Order %(number)s confirmed") % params,
            _("Order %(number)s is paid and sent to the suppliers: %(lines)d line(s), total Rp %(total)s.") % params,
        )
    if kind == "supplier_order_received":
        return (
            _("New order %(number)s") % params,
            _("Accept or reject supplier order %(number)s before %(accept_by)s: %(lines)d line(s), Rp %(total)s.")
            % {**params, "accept_by": _deadline_text(params.get("accept_by"))},
        )
    if kind in SUPPLIER_ORDER_NOTICES:
        title, body = SUPPLIER_ORDER_NOTICES[kind]
        text = _(body) % params
        if params.get("refund"):
            text += " " + _("Rp %(refund)s is refunded to you.") % params
        return (_(title) % params, text)
    if kind == "webhook_endpoint_disabled":
        if params.get("reason") == "gone":
            why = _("it answered 410 Gone")
        else:
            why = _("every delivery failed for %(days)d days") % {"days": int(params.get("days") or 0)}
        return (
            _("Webhook endpoint disabled"),
            _("okto88 stopped sending webhooks of API client %(client)s to %(url)s because %(why)s. "
              "Fix the receiver, enable the endpoint again and replay the failed deliveries.")
            % {**params, "why": why},
        )
    return (kind, "")


# What a workshop member is told of one supplier order's change (English, translated when read).
SUPPLIER_ORDER_NOTICES = {
    "supplier_order_accepted": (
        gettext_noop("%(supplier)s accepted your parts"),
        gettext_noop("Supplier order %(number)s of order %(order)s is accepted and being packed.")),
    "supplier_order_partly_accepted": (
        gettext_noop("%(supplier)s accepted part of your order"),
        gettext_noop("Supplier order %(number)s of order %(order)s: some parts were rejected. "
                     "Open the order to see which and order them elsewhere.")),
    "supplier_order_rejected": (gettext_noop("%(supplier)s rejected your parts"),
                                gettext_noop("Supplier order %(number)s of order %(order)s will not be supplied.")),
    "supplier_order_failed": (gettext_noop("%(supplier)s could not ship your parts"),
                              gettext_noop("Supplier order %(number)s of order %(order)s could not be fulfilled.")),
    "supplier_order_booked": (gettext_noop("Your parts from %(supplier)s are packed"),
                              gettext_noop("Supplier order %(number)s of order %(order)s is packed; the courier is "
                                           "booked.")),
    "supplier_order_shipped": (gettext_noop("Your parts from %(supplier)s are on their way"),
                               gettext_noop("The courier picked up supplier order %(number)s of order %(order)s.")),
    "supplier_order_delivered": (gettext_noop("Your parts from %(supplier)s were delivered"),
                                 gettext_noop("Supplier order %(number)s of order %(order)s was delivered.")),
}


def _deadline_text(value: str | None) -> str:
    if not value:
        return "-"
    moment = timezone.localtime(datetime.fromisoformat(value), ZoneInfo("Asia/Jakarta"))
    return formats.date_format(moment, "DATETIME_FORMAT")


def notification_text(notification: Notification, *, language: str | None = None) -> tuple[str, str]:
    with translation.override(language or translation.get_language()):
        return _texts(notification.kind, notification.params)


# A recipient as the notices need it: (user id, email, preferred language), read as values.
Recipient = tuple[int, str, str]
_RECIPIENT = ("pk", "email", "preferred_language")


def _recipients(**filters: Any) -> list[Recipient]:
    return list(User.objects.filter(is_active=True, **filters).values_list(*_RECIPIENT))


def _prepare(*, users: list[Recipient], order: Order | None, kind: str, params: dict,
             notifications: list[tuple], emails: list[EmailMessage]) -> None:
    """For each recipient, its notice's row (recipient, order, kind, params) and its email in the
    recipient's language."""
    order_id = order.pk if order is not None else None
    for user_id, email, language in users:
        notifications.append((user_id, order_id, kind, params))
        with translation.override(language or settings.LANGUAGE_CODE):
            title, body = _texts(kind, params)
        emails.append(EmailMessage(title, body, None, [email]))


# Notification rows from plain values in one INSERT (what bulk_create sends, without a model
# instance per notice): read_at empty, created_at now.
_NOTIFICATIONS_INSERT_SQL = """
    INSERT INTO orders_notification (recipient_id, order_id, kind, params, read_at, created_at)
    SELECT recipient_id, order_id, kind, params, NULL, %s
    FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::jsonb[]) AS v(recipient_id, order_id, kind, params)"""


def _notices_deliver(notifications: list[tuple], emails: list[EmailMessage]) -> None:
    """What _prepare made: the notices' rows in one INSERT, the emails as one batch."""
    if notifications:
        recipients, orders, kinds, params = zip(*notifications, strict=True)
        with connection.cursor() as cursor:
            cursor.execute(_NOTIFICATIONS_INSERT_SQL, [timezone.now(), list(recipients), list(orders), list(kinds),
                                                       [json.dumps(p) for p in params]])
    if emails:
        get_connection().send_messages(emails)


@dataclass(frozen=True)
class SupplierOrderNotice:
    """What a supplier is told of a supplier order sent to it (read by the caller with the
    deadlines it wrote)."""
    supplier_id: int
    number: str
    subtotal: int
    accept_by: datetime | None
    line_count: int


def notify_supplier_orders_opened(*, order: Order, supplier_orders: list[SupplierOrderNotice]) -> None:
    """Tell the workshop its order is paid and sent to the suppliers, and each supplier what to
    answer and by when (`supplier_orders`: every supplier order of the order, in pk order). A
    fixed number of queries whatever the number of supplier orders, and the emails leave as one
    batch (the project's email backend hands them to Celery after this transaction commits)."""
    workshop_users = _recipients(workshop_membership__workshop_id=order.workshop_id)
    supplier_users: dict[int, list[Recipient]] = defaultdict(list)
    for *user, supplier_id in (User.objects.filter(
            supplier_membership__supplier_id__in={so.supplier_id for so in supplier_orders}, is_active=True)
            .values_list(*_RECIPIENT, "supplier_membership__supplier_id")):
        supplier_users[supplier_id].append(tuple(user))
    notifications: list[tuple] = []
    emails: list[EmailMessage] = []
    _prepare(users=workshop_users, order=order, kind="order_confirmed",
             params={"number": order.number, "lines": sum(so.line_count for so in supplier_orders),
                     "total": rupiah_digits(order.grand_total)},
             notifications=notifications, emails=emails)
    for supplier_order in supplier_orders:
        _prepare(users=supplier_users[supplier_order.supplier_id], order=order, kind="supplier_order_received",
                 params={"number": supplier_order.number, "lines": supplier_order.line_count,
                         "total": rupiah_digits(supplier_order.subtotal),
                         "accept_by": supplier_order.accept_by.isoformat() if supplier_order.accept_by else None},
                 notifications=notifications, emails=emails)
    _notices_deliver(notifications, emails)


def notify_supplier_order_changed(*, supplier_order: SupplierOrder, kind: str, refund: int = 0) -> None:
    """Tell the ordering workshop's members, in the app and by email, what one supplier order's
    change means for them (kind: a key of SUPPLIER_ORDER_NOTICES)."""
    order = supplier_order.order
    users = _recipients(workshop_membership__workshop_id=order.workshop_id)
    notifications: list[tuple] = []
    emails: list[EmailMessage] = []
    _prepare(users=users, order=order, kind=kind,
             params={"number": supplier_order.number, "order": order.number,
                     "supplier": supplier_order.supplier.legal_name, "refund": rupiah_digits(refund) if refund else ""},
             notifications=notifications, emails=emails)
    _notices_deliver(notifications, emails)


def notify_webhook_endpoint_disabled(*, supplier_id: int | None, workshop_id: int | None,
                                     contact_emails: list[str], params: dict) -> None:
    """Tell a partner that okto88 stopped sending its webhooks (partners.services.deliveries):
    in-app and by email to the members of the supplier or workshop its API client acts for, and
    by email to the client's contact address. params: client, url, reason (gone|failing), days."""
    users = []
    if supplier_id or workshop_id:
        users = _recipients(**({"supplier_membership__supplier_id": supplier_id} if supplier_id is not None
                               else {"workshop_membership__workshop_id": workshop_id}))
    notifications: list[tuple] = []
    emails: list[EmailMessage] = []
    _prepare(users=users, order=None, kind="webhook_endpoint_disabled", params=params,
             notifications=notifications, emails=emails)
    known = {email.lower() for _, email, _ in users if email}
    with translation.override(settings.LANGUAGE_CODE):
        title, body = _texts("webhook_endpoint_disabled", params)
    for address in contact_emails:
        if address and address.lower() not in known:
            emails.append(EmailMessage(title, body, None, [address]))
    _notices_deliver(notifications, emails)


@transaction.atomic
def notification_mark_read(*, actor: Any, notification_id: Any) -> bool:
    """Mark one of the actor's own notifications read. Somebody else's, a missing one or one
    already read changes nothing (False): the first read time is kept."""
    try:
        pk = int(notification_id)
    except (TypeError, ValueError):
        return False
    return bool(Notification.objects.filter(pk=pk, recipient_id=actor.pk, read_at__isnull=True)
                .update(read_at=timezone.now()))


@transaction.atomic
def notification_mark_all_read(*, actor: Any) -> int:
    """Mark every unread notification of the actor read; the number marked."""
    return Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True).update(read_at=timezone.now())
