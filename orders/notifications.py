"""Notifications for workshop and supplier members: an in-app list and an email, each in the
reader's own language (User.preferred_language). The text is rendered when read, from the
notification's kind and parameters, so switching language re-renders old notices too."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
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
    return (kind, "")


def notification_text(notification: Notification, *, language: str | None = None) -> tuple[str, str]:
    with translation.override(language or translation.get_language()):
        return _texts(notification.kind, notification.params)


def _send(*, users: list[User], order: Order, kind: str, params: dict) -> None:
    Notification.objects.bulk_create(
        [Notification(recipient=user, order=order, kind=kind, params=params) for user in users]
    )
    for user in users:
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            title, body = _texts(kind, params)
        # The project's email backend hands the message to Celery after this transaction commits.
        send_mail(title, body, None, [user.email])


def notify_order_confirmed(*, order: Order) -> None:
    """Tell the workshop its order is confirmed and each supplier what to prepare."""
    workshop_users = list(User.objects.filter(workshop_membership__workshop_id=order.workshop_id, is_active=True))
    lines = sum(so.lines.count() for so in order.supplier_orders.all())
    _send(users=workshop_users, order=order, kind="order_confirmed",
          params={"number": order.number, "lines": lines, "total": rupiah_digits(order.grand_total)})
    for supplier_order in order.supplier_orders.all():
        supplier_users = list(User.objects.filter(supplier_membership__supplier_id=supplier_order.supplier_id,
                                                  is_active=True))
        _send(users=supplier_users, order=order, kind="supplier_order_received",
              params={"number": supplier_order.number, "lines": supplier_order.lines.count(),
                      "total": rupiah_digits(supplier_order.subtotal)})
