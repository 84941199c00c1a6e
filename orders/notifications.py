"""Notifications for workshop and supplier members: an in-app list and an email, each in the
reader's own language (User.preferred_language). The text is rendered when read, from the
notification's kind and parameters, so switching language re-renders old notices too.

This module is the notifications' service: it alone writes Notification rows (sending them,
marking them read)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from okto88.models import User
from okto88.money import rupiah_digits
from orders.models import Notification, Order


def _texts(kind: str, params: dict) -> tuple[str, str]:
    """(title, body) in the active language."""
    if kind == "order_confirmed":
        return (
            _("Order %(number)s confirmed") % params,
            _("Order %(number)s is paid and being prepared: %(lines)d line(s), total Rp %(total)s.") % params,
        )
    if kind == "supplier_order_received":
        return (
            _("New order %(number)s") % params,
            _("Prepare supplier order %(number)s: %(lines)d line(s), Rp %(total)s. The courier is booked.") % params,
        )
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


def notification_text(notification: Notification, *, language: str | None = None) -> tuple[str, str]:
    with translation.override(language or translation.get_language()):
        return _texts(notification.kind, notification.params)


def _prepare(*, users: list[User], order: Order | None, kind: str, params: dict,
             notifications: list[Notification], emails: list[EmailMessage]) -> None:
    for user in users:
        notifications.append(Notification(recipient=user, order=order, kind=kind, params=params))
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            title, body = _texts(kind, params)
        emails.append(EmailMessage(title, body, None, [user.email]))


def notify_order_confirmed(*, order: Order) -> None:
    """Tell the workshop its order is confirmed and each supplier what to prepare. A fixed
    number of queries whatever the number of supplier orders, and the emails leave as one
    batch (the project's email backend hands them to Celery after this transaction commits)."""
    supplier_orders = list(order.supplier_orders.annotate(line_count=Count("lines")).order_by("pk"))
    workshop_users = list(User.objects.filter(workshop_membership__workshop_id=order.workshop_id, is_active=True))
    supplier_users: dict[int, list[User]] = defaultdict(list)
    for user in User.objects.filter(supplier_membership__supplier_id__in={so.supplier_id for so in supplier_orders},
                                    is_active=True).annotate(supplier_id=F("supplier_membership__supplier_id")):
        supplier_users[user.supplier_id].append(user)
    notifications: list[Notification] = []
    emails: list[EmailMessage] = []
    _prepare(users=workshop_users, order=order, kind="order_confirmed",
             params={"number": order.number, "lines": sum(so.line_count for so in supplier_orders),
                     "total": rupiah_digits(order.grand_total)},
             notifications=notifications, emails=emails)
    for supplier_order in supplier_orders:
        _prepare(users=supplier_users[supplier_order.supplier_id], order=order, kind="supplier_order_received",
                 params={"number": supplier_order.number, "lines": supplier_order.line_count,
                         "total": rupiah_digits(supplier_order.subtotal)},
                 notifications=notifications, emails=emails)
    Notification.objects.bulk_create(notifications)
    if emails:
        get_connection().send_messages(emails)


def notify_webhook_endpoint_disabled(*, supplier_id: int | None, workshop_id: int | None,
                                     contact_emails: list[str], params: dict) -> None:
    """Tell a partner that okto88 stopped sending its webhooks (partners.services.deliveries):
    in-app and by email to the members of the supplier or workshop its API client acts for, and
    by email to the client's contact address. params: client, url, reason (gone|failing), days."""
    users = list(User.objects.filter(is_active=True).filter(
        **({"supplier_membership__supplier_id": supplier_id} if supplier_id is not None
           else {"workshop_membership__workshop_id": workshop_id}))) if (supplier_id or workshop_id) else []
    notifications: list[Notification] = []
    emails: list[EmailMessage] = []
    _prepare(users=users, order=None, kind="webhook_endpoint_disabled", params=params,
             notifications=notifications, emails=emails)
    known = {user.email.lower() for user in users if user.email}
    with translation.override(settings.LANGUAGE_CODE):
        title, body = _texts("webhook_endpoint_disabled", params)
    for address in contact_emails:
        if address and address.lower() not in known:
            emails.append(EmailMessage(title, body, None, [address]))
    Notification.objects.bulk_create(notifications)
    if emails:
        get_connection().send_messages(emails)


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
