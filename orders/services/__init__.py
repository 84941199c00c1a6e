"""Cart and order writes, one module per responsibility:

- pricing: the order's money (goods, shipping, PPN);
- cart: cart lines;
- checkout: the checkout plan (warehouse per supplier, shipping quotes) and the preview;
- optimise: the cart optimiser (`cart_optimise`, `cart_optimise_apply`; the model is
  orders/cart_optimiser.py, docs/cart-optimiser.md);
- delivery: the delivery cost and arrival day of every offer to the workshop's default address
  (part page, parts list, part offers API), and a part's offers sorted and filtered by them;
- placement: `order_place` and its three phases (the why is in that module's docstring);
- api_clients: a partner API client's binding to one supplier or one workshop;
- fulfilment: a paid order's supplier orders, each on its own: the supplier's answer (accept,
  reject lines), ready to ship, a supplier order that failed, the refund of what will not ship,
  and the order following its supplier orders;
- lifecycle: the charge of a prepaid order, the start of the fulfilment chain (STEPS,
  workflow_start: services start it, and services may not import orders/workflow.py), and
  cancel, expire, fail, close unpaid with the stock and the money given back.

Callers import from here (`from orders import services`); the names below are the public ones.
Inside the package: placement → checkout, lifecycle; optimise → checkout, cart; fulfilment → lifecycle, pricing;
checkout → pricing (pyproject.toml).
"""

from orders.services.api_clients import (
    OPERATOR_ONLY_SCOPES,
    api_client_acts_for_partner,
    api_client_bind,
    api_client_scopes_check,
)
from orders.services.cart import cart_line_add, cart_line_lock_set, cart_line_remove, cart_line_update
from orders.services.checkout import cart_checkout_preview
from orders.services.delivery import (
    DeliveryOption,
    OfferDelivery,
    OfferQuery,
    OfferSort,
    PartOfferDelivered,
    offer_delivery_estimates,
    offer_delivery_estimates_to,
    offer_query_parse,
    part_offers_delivered,
)
from orders.services.fulfilment import (
    LineRejection,
    order_follow_supplier_orders,
    supplier_order_accept,
    supplier_order_answer,
    supplier_order_fail,
    supplier_order_mark_ready,
    supplier_order_reject,
    supplier_orders_open,
    supplier_orders_reject_overdue,
)
from orders.services.lifecycle import (
    CANCELLABLE,
    PAYMENT_OPEN,
    PAYMENT_RETURN_BACKOFF_MAX_SECONDS,
    PAYMENT_RETURN_FROM,
    STEPS,
    SUPPLIER_ORDER_STEPS,
    WORKFLOW_STEPS,
    order_cancel,
    order_close_unpaid,
    order_expire,
    order_fail,
    order_payment_return,
    order_payment_start,
    payment_return_backoff_seconds,
    supplier_order_step_start,
    workflow_start,
)
from orders.services.optimise import CartPlan, cart_fingerprint, cart_optimise, cart_optimise_apply
from orders.services.placement import order_place
from orders.services.pricing import order_totals

__all__ = [
    "CANCELLABLE",
    "OPERATOR_ONLY_SCOPES",
    "PAYMENT_OPEN",
    "PAYMENT_RETURN_BACKOFF_MAX_SECONDS",
    "PAYMENT_RETURN_FROM",
    "STEPS",
    "SUPPLIER_ORDER_STEPS",
    "WORKFLOW_STEPS",
    "CartPlan",
    "DeliveryOption",
    "LineRejection",
    "OfferDelivery",
    "OfferQuery",
    "OfferSort",
    "PartOfferDelivered",
    "api_client_acts_for_partner",
    "api_client_bind",
    "api_client_scopes_check",
    "cart_checkout_preview",
    "cart_fingerprint",
    "cart_line_add",
    "cart_line_lock_set",
    "cart_line_remove",
    "cart_line_update",
    "cart_optimise",
    "cart_optimise_apply",
    "offer_delivery_estimates",
    "offer_delivery_estimates_to",
    "offer_query_parse",
    "order_cancel",
    "order_close_unpaid",
    "order_expire",
    "order_fail",
    "order_follow_supplier_orders",
    "order_payment_return",
    "order_payment_start",
    "order_place",
    "order_totals",
    "part_offers_delivered",
    "payment_return_backoff_seconds",
    "supplier_order_accept",
    "supplier_order_answer",
    "supplier_order_fail",
    "supplier_order_mark_ready",
    "supplier_order_reject",
    "supplier_order_step_start",
    "supplier_orders_open",
    "supplier_orders_reject_overdue",
    "workflow_start",
]
