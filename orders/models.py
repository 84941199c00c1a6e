"""Cart, orders split per supplier, the timeline and the workflow's step records.

Order.status moves only through orders.state (a table of allowed transitions); StepRun rows
and the order's status in PostgreSQL are the truth about the workflow, not the Celery chain.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from logistics.models import Shipment
from payments.models import PaymentIntent, PaymentMethod
from suppliers.models import Offer, Stock, Supplier, Warehouse
from workshops.models import Workshop


class Cart(models.Model):
    workshop = models.OneToOneField(Workshop, on_delete=models.CASCADE, related_name="cart")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return f"cart of {self.workshop_id}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    price_seen = models.BigIntegerField(_("price when added (Rp)"))
    # The workshop's "keep this": the cart optimiser keeps a locked line's offer and quantity.
    locked = models.BooleanField(_("locked"), default=False, db_default=False)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        constraints = [
            models.UniqueConstraint(fields=["cart", "offer"], name="cart_line_offer_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_line_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.offer_id}"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
    PAID = "paid", _("Paid")
    IN_FULFILMENT = "in_fulfilment", _("Being prepared")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Failed")


class Order(models.Model):
    number = models.CharField(_("number"), max_length=20, unique=True)
    workshop = models.ForeignKey(Workshop, on_delete=models.PROTECT, related_name="orders", verbose_name=_("workshop"))
    # A workshop member, or the partner API client (a fleet system) the workshop's key belongs to.
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    placed_by_client = models.ForeignKey("platform.ApiClient", on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="+", verbose_name=_("placed by API client"))
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices,
                              default=OrderStatus.PENDING_PAYMENT)
    payment_method = models.CharField(_("payment method"), max_length=20, choices=PaymentMethod.choices)
    payment_intent = models.OneToOneField(PaymentIntent, on_delete=models.PROTECT, null=True, blank=True,
                                          related_name="+")
    idempotency_key = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the placing request"))
    delivery_address = models.JSONField(_("delivery address"))
    subtotal = models.BigIntegerField(_("subtotal (Rp)"))
    shipping_total = models.BigIntegerField(_("shipping (Rp)"))
    tax_rate_bp = models.PositiveIntegerField(_("PPN rate (basis points)"))
    tax_total = models.BigIntegerField(_("PPN (Rp)"))
    grand_total = models.BigIntegerField(_("total (Rp)"))
    # What was given back for the parts the suppliers rejected or could not ship (gateway refund,
    # or credit released on terms); orders.services.pricing.order_refund_due decides it.
    refunded_total = models.BigIntegerField(_("refunded (Rp)"), default=0, db_default=0)
    failure_reason = models.CharField(_("reason"), max_length=300, blank=True)
    expires_at = models.DateTimeField(_("pay before"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["workshop", "idempotency_key"], name="order_idempotency_key_unique"),
            models.CheckConstraint(condition=Q(placed_by__isnull=False, placed_by_client__isnull=True)
                                   | Q(placed_by__isnull=True, placed_by_client__isnull=False),
                                   name="order_placed_by_person_or_client"),
            models.CheckConstraint(condition=Q(subtotal__gte=0) & Q(shipping_total__gte=0) & Q(tax_total__gte=0),
                                   name="order_amounts_gte_0"),
            models.CheckConstraint(
                condition=Q(grand_total=F("subtotal") + F("shipping_total") + F("tax_total")),
                name="order_grand_total_adds_up",
            ),
            models.CheckConstraint(condition=Q(refunded_total__gte=0) & Q(refunded_total__lte=F("grand_total")),
                                   name="order_refunded_within_total"),
        ]
        indexes = [
            models.Index(fields=["workshop", "-created_at"], name="order_workshop_recent"),
            # A terms placement's credit check (orders.services.placement._credit_exposure): the
            # workshop's open pay-later orders and their amounts, without reading other workshops'.
            models.Index(fields=["workshop", "status"], name="order_workshop_terms",
                         include=["grand_total", "refunded_total"], condition=Q(payment_method=PaymentMethod.TERMS)),
            models.Index(fields=["status", "updated_at"], name="order_status_age"),
            # The order funnel of a period (analytics.selectors.workflow) counts statuses from it.
            models.Index(fields=["created_at"], name="order_created_status", include=["status"]),
        ]

    def __str__(self) -> str:
        return self.number


class SupplierOrderStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the supplier")
    ACCEPTED = "accepted", _("Accepted")
    READY_TO_SHIP = "ready_to_ship", _("Packed, courier being booked")
    # The value stays "confirmed" (partners follow `supplier_order.confirmed`): the courier is booked.
    CONFIRMED = "confirmed", _("Courier booked")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    REJECTED = "rejected", _("Rejected by the supplier")
    CANCELLED = "cancelled", _("Cancelled")


class RejectionReason(models.TextChoices):
    OUT_OF_STOCK = "out_of_stock", _("Out of stock")
    DISCONTINUED = "discontinued", _("Discontinued")
    PRICE_ERROR = "price_error", _("Price error")
    NO_ANSWER = "no_answer", _("Not answered in time")
    FULFILMENT_FAILED = "fulfilment_failed", _("Could not be fulfilled")


class SupplierOrder(models.Model):
    """The part of an order one supplier ships from one warehouse."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="supplier_orders", verbose_name=_("order"))
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="supplier_orders",
                                 verbose_name=_("supplier"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    number = models.CharField(_("number"), max_length=24, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=SupplierOrderStatus.choices,
                              default=SupplierOrderStatus.PENDING)
    # Set when the order is paid: the supplier answers (accepts or rejects) before it, counted in
    # working hours (okto88.working_hours); past it the supplier order is rejected for it.
    accept_by = models.DateTimeField(_("answer before"), null=True, blank=True)
    opened_at = models.DateTimeField(_("sent to the supplier at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("packed at"), null=True, blank=True)
    parcel_count = models.PositiveSmallIntegerField(_("parcels"), default=1, db_default=1)
    rejection_reason = models.CharField(_("rejection reason"), max_length=20, choices=RejectionReason.choices,
                                        blank=True, default="", db_default="")
    subtotal = models.BigIntegerField(_("subtotal (Rp)"))
    shipping_cost = models.BigIntegerField(_("shipping (Rp)"))
    carrier_code = models.CharField(_("carrier"), max_length=20)
    service_level = models.CharField(_("service"), max_length=20)
    weight_g = models.PositiveIntegerField(_("weight (g)"))
    shipment = models.OneToOneField(Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("shipment"))
    # The database's default too: rows written in bulk by SQL (bench data) need no value.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_default=Now())

    class Meta:
        verbose_name = _("supplier order")
        verbose_name_plural = _("supplier orders")
        indexes = [
            models.Index(fields=["supplier", "status"], name="supplier_order_supplier_status"),
            # A supplier's ERP lists its supplier orders newest first, or those changed since it last looked.
            models.Index(fields=["supplier", "-id"], name="supplier_order_recent"),
            models.Index(fields=["supplier", "updated_at"], name="supplier_order_updated"),
            # The deadline sweep reads the pending ones whose time to answer is up.
            models.Index(fields=["accept_by"], name="supplier_order_accept_by",
                         condition=Q(status="pending", accept_by__isnull=False)),
            # The suppliers' answers of a period (analytics.selectors.workflow.supplier_answers_figure).
            models.Index(fields=["decided_at"], name="supplier_order_decided",
                         condition=Q(decided_at__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(parcel_count__gte=1), name="supplier_order_parcels_gte_1"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A price snapshot: what was ordered at what price, whatever the offer says later."""

    supplier_order = models.ForeignKey(SupplierOrder, on_delete=models.CASCADE, related_name="lines")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="+")
    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(_("SKU"), max_length=60)
    part_number = models.CharField(_("part number"), max_length=60)
    name = models.CharField(_("name"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.BigIntegerField()
    line_total = models.BigIntegerField()
    # Of `quantity`, what the supplier rejected (refunded; its reservation released).
    rejected_quantity = models.PositiveIntegerField(_("rejected quantity"), default=0, db_default=0)
    rejection_reason = models.CharField(_("rejection reason"), max_length=20, choices=RejectionReason.choices,
                                        blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1) & Q(unit_price__gt=0), name="order_line_positive"),
            models.CheckConstraint(condition=Q(line_total=F("unit_price") * F("quantity")),
                                   name="order_line_total_adds_up"),
            models.CheckConstraint(condition=Q(rejected_quantity__lte=F("quantity")),
                                   name="order_line_rejected_within_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"

    @property
    def accepted_quantity(self) -> int:
        return self.quantity - self.rejected_quantity


class OrderEvent(models.Model):
    """The order's timeline: what happened, when, by whom or which step."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    kind = models.CharField(_("kind"), max_length=40)
    message = models.CharField(_("message"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              verbose_name=_("by"))
    api_client = models.ForeignKey("platform.ApiClient", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("by API client"))
    step = models.CharField(_("step"), max_length=40, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


class StepStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    RETRYING = "retrying", _("Will retry")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Already done")


class StepRun(models.Model):
    """One attempt of one workflow step: the raw material of orchestration analytics."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="step_runs")
    # A step of one supplier order's own workflow (orders.workflow.SUPPLIER_ORDER_STEPS); null for
    # the order's steps.
    supplier_order = models.ForeignKey(SupplierOrder, on_delete=models.CASCADE, null=True, blank=True,
                                       related_name="step_runs")
    step = models.CharField(max_length=40)
    attempt = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.RUNNING)
    task_id = models.CharField(max_length=64, blank=True)
    # When the task's message became due (published, or a retry's ETA): started_at minus this
    # is the queue wait. Null when the task ran without the header (okto88.celery).
    enqueued_at = models.DateTimeField(_("enqueued at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(blank=True)
    # A short stable code for what went wrong: the domain error's `code`, else the exception
    # class in snake_case; "gave_up" when the attempts ran out.
    error_code = models.CharField(_("error code"), max_length=60, blank=True)
    trace_id = models.CharField(_("trace id"), max_length=32, blank=True)  # blank when tracing is off

    class Meta:
        verbose_name = _("step run")
        verbose_name_plural = _("step runs")
        indexes = [
            models.Index(fields=["order", "step", "attempt"], name="step_run_order_step"),
            models.Index(fields=["supplier_order", "step"], name="step_run_supplier_order",
                         condition=Q(supplier_order__isnull=False)),
            models.Index(fields=["step", "status", "started_at"], name="step_run_step_status"),
            # The workflow figures (analytics.selectors.workflow) read a period of each step's
            # attempts from the index alone: percentiles of wait and run time need nothing else.
            models.Index(fields=["step", "started_at"], name="step_run_started_cover",
                         include=["status", "attempt", "enqueued_at", "finished_at"]),
            # Attempts that ended in an error are few: their breakdown by code reads this one.
            models.Index(fields=["started_at"], name="step_run_errors",
                         include=["step", "error_code", "order_id"],
                         condition=Q(status__in=["retrying", "failed"])),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.step} #{self.attempt} {self.status}"


class Notification(models.Model):
    """An in-app notice for a workshop or supplier member, rendered in the reader's language."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["recipient", "-created_at"], name="notification_recipient_recent")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"
