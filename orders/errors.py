"""Order domain errors: cart, checkout, cancellation and the order workflow.

Codes are stable; see okto88.errors for the rules every error follows.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import ApplicationError, Conflict, InvalidTransition, NotFound


class PermanentStepError(ApplicationError):
    code = "workflow_step_failed"
    status = 409
    title = gettext_lazy("The order could not be fulfilled.")


class ShipmentAlreadyBooked(Conflict):
    code = "shipment_booked"
    title = gettext_lazy("A shipment is already booked; the order can no longer be cancelled.")


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = gettext_lazy("No such order.")


class SupplierOrderNotFound(NotFound):
    """Also what another supplier's supplier order answers: its existence is not told."""

    code = "supplier_order_not_found"
    title = gettext_lazy("No such supplier order.")


# A supplier order's documents (orders.documents): each exists from a point of its life on.

class LabelNotReady(Conflict):
    """The shipping label needs a booked courier (status confirmed, shipped or delivered)."""

    code = "label_not_ready"
    title = gettext_lazy("The shipping label is available once the courier is booked.")


class PackingSlipNotAvailable(Conflict):
    """Not before the supplier accepted, nor for a rejected or cancelled supplier order."""

    code = "packing_slip_not_available"
    title = gettext_lazy("The packing slip is available once the supplier has accepted the order.")


class InvoiceNotAvailable(Conflict):
    """Not before the supplier accepted, nor for a rejected or cancelled supplier order."""

    code = "invoice_not_available"
    title = gettext_lazy("The tax invoice is available once the supplier has accepted the order.")


class OfferUnavailable(ApplicationError):
    code = "offer_unavailable"
    status = 404
    title = gettext_lazy("This offer cannot be bought (inactive offer or supplier).")


class QuantityBelowMinimum(ApplicationError):
    code = "quantity_below_minimum"
    title = gettext_lazy("The quantity is below the supplier's minimum order.")


class QuantityNotPackMultiple(ApplicationError):
    code = "quantity_not_pack_multiple"
    title = gettext_lazy("The quantity must be a multiple of the pack size.")


class OutOfStock(Conflict):
    code = "out_of_stock"
    title = gettext_lazy("Not enough stock.")


class CartEmpty(Conflict):  # depends on the cart as it is now: a 409 like cart_changed
    code = "cart_empty"
    title = gettext_lazy("The cart is empty.")


class CartOptimiseNoStock(Conflict):
    """The cart optimiser found parts of the cart that no offer has in stock; extra["parts"] names them."""

    code = "optimise_no_stock"
    title = gettext_lazy("No offer has stock for some parts of the cart.")


class CartOptimiseInfeasible(Conflict):
    """No choice of offers meets the latest arrival date together with the locked lines, the stock
    of one warehouse per supplier, the minimums and the pack sizes."""

    code = "optimise_infeasible"
    title = gettext_lazy("No combination of offers meets the latest arrival date and the locked lines.")


class CartPlanStale(Conflict):
    """The cart's lines changed (added, removed, quantity, lock) since the plan was computed."""

    code = "cart_plan_stale"
    title = gettext_lazy("The cart changed since this plan was computed; optimise it again.")


class CartPlanInvalid(ApplicationError):
    """A plan to apply that names an offer twice or changes a locked line."""

    code = "cart_plan_invalid"
    title = gettext_lazy("This plan cannot be applied to the cart.")


class CartLineNotFound(ApplicationError):
    code = "cart_line_not_found"
    status = 404
    title = gettext_lazy("No such cart line.")


class CartChanged(Conflict):
    """Prices or stock changed since the lines were added; extra["lines"] lists them. Send
    accept_changes to place at the current prices."""

    code = "cart_changed"
    title = gettext_lazy("Prices or stock changed since these parts were added to the cart.")


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"
    title = gettext_lazy("This Idempotency-Key was already used for a different request.")


class IdempotencyKeyRequired(ApplicationError):
    code = "idempotency_key_required"
    title = gettext_lazy("Send an Idempotency-Key header: a retry with the same key returns the same order.")


class InvalidIdempotencyKey(ApplicationError):
    code = "idempotency_key_invalid"
    title = gettext_lazy("The Idempotency-Key must have 1–100 printable characters.")


class InvalidPaymentMethod(ApplicationError):
    code = "invalid_payment_method"
    title = gettext_lazy("Unknown payment method.")


class ShippingChoiceRequired(Conflict):  # depends on the cart as it is now: a 409 like cart_changed
    code = "shipping_choice_required"
    title = gettext_lazy("Choose a shipping service for every supplier.")


class ShippingChoiceInvalid(Conflict):  # depends on the cart as it is now: a 409 like cart_changed
    code = "shipping_choice_invalid"
    title = gettext_lazy("This shipping service is not offered for this supplier's parcel.")


class CreditLimitExceeded(Conflict):
    code = "credit_limit_exceeded"
    title = gettext_lazy("This order would exceed the workshop's credit limit for pay-later terms.")


class OrderNotCancellable(InvalidTransition):
    title = gettext_lazy("This order can no longer be cancelled.")


class ScopeNotForPartner(ApplicationError):
    """A scope that reads every supplier's and workshop's data (ops:read) on a key of a client
    acting for one of them."""

    code = "scope_not_for_partner"
    title = gettext_lazy("This scope is for operators' tools, not for a client acting for a supplier or workshop.")


class OrderNotRedrivable(Conflict):
    """An operator asked to re-drive an order the workflow cannot move on: finished, closed,
    shipped (only the courier moves it), or with every step done."""

    code = "order_not_redrivable"
    title = gettext_lazy("This order has no stalled step to re-drive.")


class SupplierOrderNotAnswerable(Conflict):
    """Accept or reject: only a pending supplier order of a paid order, once."""

    code = "supplier_order_not_pending"
    title = gettext_lazy("This supplier order is not waiting for an answer.")


class SupplierOrderNotReady(Conflict):
    """Ready to ship: only an accepted supplier order, once."""

    code = "supplier_order_not_accepted"
    title = gettext_lazy("Only an accepted supplier order can be marked ready to ship.")


class InvalidSupplierOrderAnswer(ApplicationError):
    """A line that is not the supplier order's, a quantity outside 0…ordered, a rejection
    without a valid reason, a parcel count or weight out of range."""

    code = "invalid_supplier_order_answer"
    status = 400
    title = gettext_lazy("The answer to this supplier order is not valid.")
