"""Browser pages of a workshop that need orders: a part's offers with add-to-cart, the cart and
checkout, the orders and an order's page. Every view acts for the member's own workshop
(workshops.selectors.workshop_for_actor): anybody else gets 403, and another workshop's order
is a 404, exactly like a missing one.

After payment the order page follows the order by itself (order_live, polled by htmx while the
order can still change): each supplier's part of it, the refund and the timeline. A line the
supplier rejected is ordered again from another supplier in one tap, a whole order again in
one (re-order); both put parts in the cart through services.cart_line_add, choosing offers by
the part page's own ranking (suppliers.selectors.part_offers).

Domain errors become messages in the member's language through okto88.errors.error_message: the
error's own translated title, or its detail when that is a translatable text written for people;
ERROR_WORDING only holds the errors (by class) whose browser wording differs. Plain English
details of the services are for logs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from catalog import selectors as catalog_selectors
from catalog.part_attributes import part_attributes_display
from logistics.errors import CourierUnavailable
from logistics.models import ShipmentStatus
from logistics.selectors import tracking_for_shipment
from okto88.client_traffic import flow_cart_changed, flow_order_placed
from okto88.errors import ApplicationError, InvalidField, InvalidQuantity, error_message
from orders import documents, selectors, services
from orders.errors import (
    CartChanged,
    CartEmpty,
    CartLineNotFound,
    CartOptimiseInfeasible,
    CartOptimiseNoStock,
    CartPlanStale,
    CreditLimitExceeded,
    IdempotencyConflict,
    InvalidPaymentMethod,
    OfferUnavailable,
    OrderNotFound,
    OutOfStock,
    QuantityBelowMinimum,
    QuantityNotPackMultiple,
    ShippingChoiceInvalid,
    ShippingChoiceRequired,
    SupplierOrderNotFound,
)
from orders.models import OrderStatus
from orders.notifications import notification_mark_all_read, notification_mark_read, notification_text
from orders.state import order_has_booked_shipment
from orders.timeline import (
    EVENT_TITLE_OTHER,
    STEP_TITLE_OTHER,
    order_event_supplier,
    order_event_text,
    order_event_title,
    order_step_title,
)
from payments.errors import GatewayRejected, GatewayUnavailable
from payments.models import PaymentMethod
from workshops.errors import AddressNotFound, NoWorkshop
from workshops.selectors import address_default, address_get, address_list, workshop_for_actor

PAGE_SIZE = 20
FITMENT_SHOWN = 50
POLL_SECONDS = 5
# The order page follows the order by itself while it can still change after payment (before it,
# the payment panel polls and reloads the page once paid); terminal orders are left alone.
LIVE_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.IN_FULFILMENT, OrderStatus.SHIPPED})
JAKARTA = ZoneInfo("Asia/Jakarta")
# A form's CSRF token is masked afresh on every render: left out of the page's fingerprint.
_CSRF_VALUE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')

# The part page's offer sorts (orders.services.OfferSort), as the menu names them.
OFFER_SORTS = [
    (services.OfferSort.RANKING.value, gettext_lazy("In stock, then price")),
    (services.OfferSort.DELIVERED_PRICE.value, gettext_lazy("Delivered price")),
    (services.OfferSort.ARRIVAL.value, gettext_lazy("Arrival date")),
]
# A sort or filter of the part page's offers that is not valid: said, then left out.
OFFER_QUERY_WORDING = {
    InvalidField: gettext_lazy("That sort or filter is not valid (%(field)s); all offers are shown."),
}

# How the browser words some errors for a buyer; every other error shows its own title or detail.
ERROR_WORDING = {
    OfferUnavailable: gettext_lazy("This offer can no longer be bought."),
    QuantityBelowMinimum: gettext_lazy("The supplier sells at least %(min_order_qty)s of this part."),
    QuantityNotPackMultiple: gettext_lazy("This part comes in packs of %(pack_size)s: order a multiple of it."),
    InvalidQuantity: gettext_lazy("Enter a whole number of at least 1."),
    OutOfStock: gettext_lazy("Not enough in stock for this quantity."),
    CartEmpty: gettext_lazy("Your cart is empty."),
    CartLineNotFound: gettext_lazy("That line is no longer in your cart."),
    CartChanged: gettext_lazy("Prices or availability changed since you added the parts: "
                              "check the cart and confirm the new prices."),
    IdempotencyConflict: gettext_lazy("This checkout form was already used for another order; "
                                      "reload the cart and try again."),
    InvalidPaymentMethod: gettext_lazy("Choose a payment method."),
    ShippingChoiceRequired: gettext_lazy("Choose a shipping option for every supplier."),
    ShippingChoiceInvalid: gettext_lazy("A shipping option is no longer offered; choose again."),
    CreditLimitExceeded: gettext_lazy("This order is above your remaining credit limit: "
                                      "pay by virtual account, QRIS or e-wallet instead."),
    AddressNotFound: gettext_lazy("Choose one of your delivery addresses."),
    GatewayUnavailable: gettext_lazy("The payment gateway is not answering. Your order is saved: "
                                     "try again in a minute."),
    GatewayRejected: gettext_lazy("The payment gateway refused the payment."),
    CourierUnavailable: gettext_lazy("The courier is not answering; shipping prices are missing."),
    CartOptimiseInfeasible: gettext_lazy("No combination of offers arrives by that date together with your locked "
                                         "lines: choose a later date or unlock a line."),
    CartPlanStale: gettext_lazy("Your cart changed since this plan was made: optimise it again."),
}

# A cancel is all or nothing: when the gateway cannot return the payment, say that nothing
# changed, not that a payment failed.
_PAYMENT_NOT_RETURNED = gettext_lazy("The payment gateway could not return the payment, so the order is not "
                                     "cancelled; nothing was changed. Try again in a few minutes.")
CANCEL_WORDING = {**ERROR_WORDING, GatewayRejected: _PAYMENT_NOT_RETURNED, GatewayUnavailable: _PAYMENT_NOT_RETURNED}


def workshop_member_required(view):
    """Anonymous → the login page; signed in but not a workshop member → 403."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        try:
            request.workshop = workshop_for_actor(actor=request.user)
        except NoWorkshop as exc:
            raise PermissionDenied(exc.message) from exc
        return view(request, *args, **kwargs)

    return wrapper


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Header badges ----------------------------------------------------------------------------

@require_GET
@workshop_member_required
def header_badges(request):
    return render(request, "orders/_header_badges.html", {
        "cart_count": selectors.cart_line_count(workshop=request.workshop),
        "unread_count": selectors.notification_unread_count(actor=request.user),
    })


def _notifications_context(actor) -> dict:
    """The reader's notifications with their texts, and how many are unread."""
    items = []
    for notification in selectors.notification_list(actor=actor):
        title, body = notification_text(notification)
        items.append({"notification": notification, "title": title, "body": body})
    return {"items": items, "unread": sum(1 for item in items if item["notification"].read_at is None)}


@require_GET
@workshop_member_required
def notifications(request):
    return render(request, "orders/notifications.html", _notifications_context(request.user))


def _notifications_changed(request):
    """htmx: the list again and the header badge told to refresh; otherwise back to the list."""
    if not request.htmx:
        return redirect("orders:notifications")
    response = render(request, "orders/_notification_list.html", _notifications_context(request.user))
    response["HX-Trigger"] = "notifications-changed"
    return response


@require_POST
@workshop_member_required
def notification_read(request, notification_id: int):
    notification_mark_read(actor=request.user, notification_id=notification_id)
    return _notifications_changed(request)


@require_POST
@workshop_member_required
def notifications_read_all(request):
    notification_mark_all_read(actor=request.user)
    return _notifications_changed(request)


# --- Part page ------------------------------------------------------------------------------

@require_GET
@workshop_member_required
def part_detail(request, part_id: int):
    part = catalog_selectors.part_detail(part_id=part_id)
    if part is None:
        raise Http404
    fitments = part.fitment_rows
    # Offers with their delivery to the workshop's default address, sorted and filtered as asked
    # (orders.services.delivery); a parameter that is not valid is said, and ignored.
    try:
        query = services.offer_query_parse(request.GET)
    except ApplicationError as exc:
        messages.error(request, error_message(exc, wording=OFFER_QUERY_WORDING))
        query = services.OfferQuery()
    return render(request, "orders/part_detail.html", {
        "part": part,
        "offers": services.part_offers_delivered(actor=request.user, part_id=part.pk, query=query),
        "query": query,
        "offer_sorts": OFFER_SORTS,
        "fitments": fitments[:FITMENT_SHOWN],
        "fitment_count": catalog_selectors.part_fitment_count(part=part) if len(fitments) >= FITMENT_SHOWN
        else len(fitments),
        "attributes": part_attributes_display(attributes=part.attributes),
    })


@require_POST
@workshop_member_required
def cart_add(request):
    offer_id = request.POST.get("offer")
    quantity = _int_or_none(request.POST.get("quantity"))
    try:
        line = services.cart_line_add(workshop=request.workshop, offer_id=offer_id,
                                      quantity=quantity if quantity is not None else -1)
    except ApplicationError as exc:
        ok, text = False, error_message(exc, wording=ERROR_WORDING)
    else:
        flow_cart_changed(request)
        ok, text = True, _("Added to the cart: %(quantity)s × %(sku)s.") % {"quantity": quantity,
                                                                          "sku": line.offer.sku}
    if request.htmx:
        response = render(request, "orders/_cart_add_result.html", {"ok": ok, "text": text, "offer_id": offer_id})
        if ok:
            response["HX-Trigger"] = "cart-changed"
        return response
    (messages.success if ok else messages.error)(request, text)
    part_id = _int_or_none(request.POST.get("part"))
    return redirect(reverse("orders:part", args=[part_id]) if part_id else reverse("orders:cart"))


# --- Cart and checkout --------------------------------------------------------------------------

def _shipping_choices(data) -> dict[int, tuple[str, str]]:
    """`ship_<supplier id>` = `<carrier>|<service>` from the form."""
    choices = {}
    for key, value in data.items():
        if key.startswith("ship_") and "|" in value:
            supplier_id = _int_or_none(key[5:])
            if supplier_id is not None:
                carrier, level = value.split("|", 1)
                choices[supplier_id] = (carrier, level)
    return choices


def _cart_context(request) -> dict:
    """The cart page's context: addresses, the lines and the checkout preview for the chosen address."""
    workshop = request.workshop
    data = request.GET if request.method == "GET" else request.POST
    addresses = list(address_list(actor=request.user))
    address = None
    if data.get("address"):
        try:
            address = address_get(workshop=workshop, address_id=data["address"])
        except ApplicationError:
            address = None
    address = address or address_default(workshop=workshop) or (addresses[0] if addresses else None)
    context = {
        "addresses": addresses, "address": address, "preview": None, "lines": [],
        "payment_methods": PaymentMethod.choices,
        "payment_method": request.GET.get("payment_method") or PaymentMethod.TERMS,
        "idempotency_token": secrets.token_urlsafe(24),
        "credit_limit": workshop.credit_limit,
        "objectives": OPTIMISE_OBJECTIVES, "objective": "total",
    }
    cart_lines = selectors.cart_line_list(workshop=workshop)
    # The offer of each line for its rules (minimum, pack size) and its part's page; its lock.
    context["line_offers"] = {line.pk: line.offer for line in cart_lines}
    context["line_locked"] = {line.pk: line.locked for line in cart_lines}
    if address is None:
        context["lines"] = cart_lines
    elif cart_lines:
        try:
            context["preview"] = services.cart_checkout_preview(
                workshop=workshop, address=address, shipping_choices=_shipping_choices(request.GET))
        except CartEmpty:
            pass
        except ApplicationError as exc:
            messages.error(request, error_message(exc, wording=ERROR_WORDING))
    if context["preview"] is not None:
        context["has_repriced"] = any(line.price_changed for line in context["preview"].changed_lines)
    return context


@require_GET
@workshop_member_required
def cart(request):
    context = _cart_context(request)
    flow_cart_changed(request)  # a checkout sooner after this than a person could is a fast flow
    return render(request, "orders/cart.html", context)


OPTIMISE_OBJECTIVES = [
    ("total", gettext_lazy("Lowest total (parts + shipping)")),
    ("shipments", gettext_lazy("Fewest shipments")),
    ("arrival", gettext_lazy("Earliest arrival")),
]


@require_POST
@workshop_member_required
def cart_optimise(request):
    """The cart optimiser's plan for the cart (nothing saved): the saving, what would change and
    an Apply button. htmx gets the plan's panel; a plain POST the whole cart page with it."""
    objective = request.POST.get("objective") or "total"
    if objective not in dict(OPTIMISE_OBJECTIVES):
        objective = "total"
    allow_substitutes = request.POST.get("allow_substitutes") == "1"
    latest = (request.POST.get("latest_arrival") or "").strip()
    plan, error = None, ""
    try:
        latest_arrival = dt.date.fromisoformat(latest) if latest else None
    except ValueError:
        latest_arrival, error = None, _("“%(value)s” is not a date: use YYYY-MM-DD.") % {"value": latest[:20]}
    if not error:
        try:
            address = address_get(workshop=request.workshop, address_id=request.POST["address"]) \
                if request.POST.get("address") else None
            plan = services.cart_optimise(workshop=request.workshop, address=address, objective=objective,
                                          allow_substitutes=allow_substitutes, latest_arrival=latest_arrival)
        except CartOptimiseNoStock as exc:
            error = _("No offer has stock for: %(parts)s.") % {"parts": ", ".join(exc.extra.get("parts", []))}
        except ApplicationError as exc:
            error = error_message(exc, wording=ERROR_WORDING)
    panel = {"plan": plan, "optimise_error": error, "objective": objective, "objectives": OPTIMISE_OBJECTIVES,
             "allow_substitutes": allow_substitutes, "latest_arrival": latest}
    if request.htmx:
        return render(request, "orders/_cart_plan.html", panel)
    context = _cart_context(request)
    context.update(panel)
    return render(request, "orders/cart.html", context)


@require_POST
@workshop_member_required
def cart_optimise_apply(request):
    """The plan's lines replace the cart's, all or nothing (services.cart_optimise_apply)."""
    lines = []
    for value in request.POST.getlist("plan_line"):
        offer_id, _sep, quantity = value.partition(":")
        if _int_or_none(offer_id) is None or _int_or_none(quantity) is None:
            messages.error(request, _("This plan cannot be applied to the cart."))
            return redirect("orders:cart")
        lines.append((int(offer_id), int(quantity)))
    try:
        services.cart_optimise_apply(workshop=request.workshop, fingerprint=request.POST.get("fingerprint", ""),
                                     lines=lines)
    except ApplicationError as exc:
        messages.error(request, error_message(exc, wording=ERROR_WORDING))
    else:
        flow_cart_changed(request)
        messages.success(request, _("The cart now holds the optimised plan."))
    return redirect("orders:cart")


@require_POST
@workshop_member_required
def cart_lock(request):
    """Lock a line (the optimiser keeps its offer and quantity) or unlock it: `lock` = `<line>:1|0`."""
    line_id, _sep, flag = (request.POST.get("lock") or "").partition(":")
    try:
        line = services.cart_line_lock_set(workshop=request.workshop, line_id=_int_or_none(line_id),
                                           locked=flag == "1")
    except ApplicationError as exc:
        messages.error(request, error_message(exc, wording=ERROR_WORDING))
    else:
        messages.success(request, _("Line locked: the optimiser keeps it as it is.") if line.locked
                         else _("Line unlocked."))
    return redirect("orders:cart")


@require_POST
@workshop_member_required
def cart_update(request):
    line_id = _int_or_none(request.POST.get("line"))
    quantity = _int_or_none(request.POST.get(f"qty_{line_id}"))
    try:
        services.cart_line_update(workshop=request.workshop, line_id=line_id,
                                  quantity=quantity if quantity is not None else -1)
    except ApplicationError as exc:
        messages.error(request, error_message(exc, wording=ERROR_WORDING))
    else:
        flow_cart_changed(request)
        messages.success(request, _("Quantity updated."))
    return redirect("orders:cart")


@require_POST
@workshop_member_required
def cart_remove(request):
    try:
        services.cart_line_remove(workshop=request.workshop, line_id=_int_or_none(request.POST.get("line")))
    except ApplicationError as exc:
        messages.error(request, error_message(exc, wording=ERROR_WORDING))
    else:
        flow_cart_changed(request)
        messages.success(request, _("Removed from the cart."))
    return redirect("orders:cart")


@require_POST
@workshop_member_required
def checkout(request):
    """Place the order. The Idempotency-Key is the token rendered into the checkout form, so a
    double click or a resubmitted form returns the same order instead of placing a second one."""
    try:
        address = address_get(workshop=request.workshop, address_id=request.POST.get("address"))
        order = services.order_place(
            workshop=request.workshop, actor=request.user, address=address,
            payment_method=request.POST.get("payment_method", ""),
            shipping_choices=_shipping_choices(request.POST),
            idempotency_key=request.POST.get("idempotency_token", ""),
            accept_changes=request.POST.get("accept_changes") == "1",
        )
    except ApplicationError as exc:
        messages.error(request, error_message(exc, wording=ERROR_WORDING))
        return redirect("orders:cart")
    flow_order_placed(request)  # counted for security monitoring's fast-flow detector
    messages.success(request, _("Order %(number)s placed.") % {"number": order.number})
    return redirect("orders:detail", number=order.number)


# --- Orders ----------------------------------------------------------------------------------

def _jakarta_day(value: str, *, field: str, request) -> dt.date | None:
    """A YYYY-MM-DD date from the list's filter; a bad one is a message and no filter."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        messages.error(request, _("“%(value)s” is not a date (%(field)s): use YYYY-MM-DD.") % {
            "value": value[:20], "field": field})
        return None


def _jakarta_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=JAKARTA)


@require_GET
@workshop_member_required
def order_list(request):
    """Orders, filtered by status, by a search on the number or a line's part (number, name,
    SKU), and by the day placed (from and to included, days in Asia/Jakarta)."""
    status = request.GET.get("status") or ""
    if status not in OrderStatus.values:
        status = ""
    q = (request.GET.get("q") or "").strip()[:100]
    day_from = _jakarta_day(request.GET.get("from"), field=_("Placed from"), request=request)
    day_to = _jakarta_day(request.GET.get("to"), field=_("Placed until"), request=request)
    if day_from and day_to and day_from > day_to:
        messages.error(request, _("The start date is after the end date: the dates are not applied."))
        day_from = day_to = None
    orders = selectors.order_list(
        actor=request.user, status=status or None, q=q or None,
        placed_from=_jakarta_midnight(day_from) if day_from else None,
        placed_before=_jakarta_midnight(day_to + dt.timedelta(days=1)) if day_to else None)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orders/order_list.html", {
        "page": page, "status": status, "statuses": OrderStatus.choices, "q": q,
        "date_from": day_from.isoformat() if day_from else "", "date_to": day_to.isoformat() if day_to else "",
        "filtered": bool(status or q or day_from or day_to),
    })


def _order_or_404(request, number: str, *, read=selectors.order_get):
    try:
        return read(actor=request.user, number=number)
    except OrderNotFound as exc:
        raise Http404 from exc


def _timeline(order, step_runs) -> list[dict]:
    """Events and workflow step attempts, merged by time, as a workshop reads them: human titles
    only (never a step's or an event's internal name), each saying which supplier it is about."""
    names = {so.number: so.supplier.legal_name for so in order.supplier_orders.all()}
    items = [{"at": e.created_at, "kind": "event", "title": order_event_title(kind=e.kind, default=EVENT_TITLE_OTHER),
              "text": order_event_text(event=e), "supplier": order_event_supplier(event=e, names=names)}
             for e in order.events.all()]
    items += [{"at": r.started_at, "kind": "step", "title": order_step_title(step=r.step, default=STEP_TITLE_OTHER),
               "status": r.status, "status_label": r.get_status_display(), "attempt": r.attempt,
               "supplier": r.supplier_order.supplier.legal_name if r.supplier_order else ""}
              for r in step_runs]
    return sorted(items, key=lambda item: item["at"])


def _order_live(request, order) -> tuple[str, str]:
    """The part of the order page that follows the order (status, refund, supplier orders,
    timeline, actions), and its fingerprint: the same fingerprint means nothing changed."""
    live = order.status in LIVE_STATUSES
    body = render_to_string("orders/_order_live_body.html", {
        "order": order, "intent": order.payment_intent,
        "timeline": _timeline(order, selectors.order_step_runs(order=order)),
        "can_cancel": order.status in services.CANCELLABLE and not order_has_booked_shipment(order=order),
        "poll_seconds": POLL_SECONDS, "live": live,
        "invoice_statuses": documents.INVOICE_STATUSES,
    }, request=request)
    version = hashlib.sha256(_CSRF_VALUE.sub("", body).encode()).hexdigest()[:20]
    html = render_to_string("orders/_order_live.html", {
        "order": order, "body": body, "version": version, "live": live, "poll_seconds": POLL_SECONDS,
    }, request=request)
    return html, version


@require_GET
@workshop_member_required
def order_detail(request, number: str):
    order = _order_or_404(request, number)
    live_html, _version = _order_live(request, order)
    return render(request, "orders/order_detail.html", {"order": order, "live_html": live_html})


@require_GET
@workshop_member_required
def order_live(request, number: str):
    """The following part of the order page, polled by htmx every few seconds while the order
    can still change: 204 (htmx keeps the page as it is) when nothing changed since version `v`,
    so a button the member is on keeps its focus; once the order has ended the part comes back
    without its poll, and the polling stops."""
    order = _order_or_404(request, number)
    html, version = _order_live(request, order)
    if request.GET.get("v") == version:
        return HttpResponse(status=204)
    return HttpResponse(html)


TRACKING_LABELS = dict(ShipmentStatus.choices)


@require_GET
@workshop_member_required
def order_tracking(request, number: str, supplier_order_number: str):
    """Where a supplier order's parcel is: the courier's verified reports, oldest first."""
    try:
        supplier_order = selectors.order_supplier_order_get(actor=request.user, order_number=number,
                                                            number=supplier_order_number)
    except (OrderNotFound, SupplierOrderNotFound) as exc:
        raise Http404 from exc
    shipment = supplier_order.shipment
    return render(request, "orders/tracking.html", {
        "order": supplier_order.order, "supplier_order": supplier_order, "shipment": shipment,
        "events": [{"at": event.occurred_at or event.received_at, "location": event.location,
                    "label": TRACKING_LABELS.get(event.status, event.status)}
                   for event in (tracking_for_shipment(shipment=shipment) if shipment is not None else [])],
    })


@require_GET
@workshop_member_required
def order_invoice_pdf(request, number: str, supplier_order_number: str):
    """A supplier's faktur for its share of the order (orders.documents); before the supplier has
    accepted, back to the order with a message."""
    try:
        supplier_order = selectors.order_supplier_order_get(actor=request.user, order_number=number,
                                                            number=supplier_order_number)
    except (OrderNotFound, SupplierOrderNotFound) as exc:
        raise Http404 from exc
    try:
        content = documents.tax_invoice_pdf(supplier_order=supplier_order)
    except ApplicationError as exc:
        messages.error(request, error_message(exc, wording=ERROR_WORDING))
        return redirect("orders:detail", number=supplier_order.order.number)
    return documents.pdf_response(content=content, kind="invoice", number=supplier_order.number)


@require_GET
@workshop_member_required
def order_payment(request, number: str):
    """The payment panel, polled by htmx while the order waits for payment; once it has moved on,
    the whole page is reloaded (HX-Refresh) so the timeline and shipments show the news."""
    order = _order_or_404(request, number, read=selectors.order_with_payment_get)
    response = render(request, "orders/_payment.html", {"order": order, "intent": order.payment_intent,
                                                         "poll_seconds": POLL_SECONDS})
    if request.htmx and order.status != OrderStatus.PENDING_PAYMENT:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@workshop_member_required
def order_cancel(request, number: str):
    order = _order_or_404(request, number)
    try:
        services.order_cancel(order=order, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, error_message(exc, wording=CANCEL_WORDING))
    else:
        messages.success(request, _("Order %(number)s cancelled.") % {"number": order.number})
    return redirect("orders:detail", number=order.number)


# --- Ordering again ------------------------------------------------------------------------------

def _cart_add_first(request, candidates) -> tuple | None:
    """Put the first of the ranked (offer, quantity) candidates that the cart takes in the cart:
    another workshop may have bought the stock since it was read, then the next one is tried."""
    for offer, quantity in candidates:
        try:
            services.cart_line_add(workshop=request.workshop, offer_id=offer.offer_id, quantity=quantity)
        except ApplicationError:
            continue
        return offer, quantity
    return None


@require_POST
@workshop_member_required
def order_line_order_again(request, number: str, line_id: int):
    """A line the supplier rejected (some or all of it), ordered again in one tap: what was
    rejected goes in the cart from the best offer of the same part by another supplier that has
    it in stock (the part page's ranking)."""
    try:
        line = selectors.order_line_get(actor=request.user, number=number, line_id=line_id)
    except OrderNotFound as exc:
        raise Http404 from exc
    if not line.rejected_quantity:
        messages.error(request, _("The supplier did not reject this line: nothing to order again."))
        return redirect("orders:detail", number=number)
    added = _cart_add_first(request, selectors.part_offers_instead(
        part_id=line.offer.part_id, quantity=line.rejected_quantity,
        exclude_supplier_id=line.supplier_order.supplier_id))
    if added is None:
        messages.warning(request, _("No other supplier has %(name)s in stock right now.") % {"name": line.name})
    else:
        offer, quantity = added
        messages.success(request, _("Added to the cart: %(quantity)s × %(name)s from %(supplier)s.") % {
            "quantity": quantity, "name": line.name, "supplier": offer.supplier_name})
    return redirect("orders:detail", number=number)


@require_POST
@workshop_member_required
def order_reorder(request, number: str):
    """Every line of an order back in the cart: from the same offer while it still sells that
    quantity, else from the best offer of the same part that has it in stock; what cannot be
    added is named in a message. Then the cart."""
    order = _order_or_404(request, number, read=selectors.order_for_update_by_number)
    added, elsewhere, missing = 0, [], []
    for line in selectors.order_lines(order=order):
        try:
            services.cart_line_add(workshop=request.workshop, offer_id=line.offer_id, quantity=line.quantity)
        except ApplicationError:
            other = _cart_add_first(request, selectors.part_offers_instead(
                part_id=line.offer.part_id, quantity=line.quantity, exclude_offer_id=line.offer_id))
            if other is None:
                missing.append(line.name)
                continue
            elsewhere.append(_("%(name)s from %(supplier)s") % {"name": line.name, "supplier": other[0].supplier_name})
        added += 1
    if added:
        messages.success(request, ngettext("%(count)s line of order %(number)s is in the cart.",
                                           "%(count)s lines of order %(number)s are in the cart.", added)
                         % {"count": added, "number": order.number})
    if elsewhere:
        messages.info(request, _("No longer sold as before, so from another offer: %(lines)s.")
                      % {"lines": "; ".join(elsewhere)})
    if missing:
        messages.warning(request, _("Not in stock anywhere right now, not added: %(lines)s.")
                         % {"lines": "; ".join(missing)})
    return redirect("orders:cart")
