"""The order workflow, end to end, in one place.

    placed ──(payment.settled, or at once for terms)──▶ paid
      │                                                  │  Celery chain, each step idempotent:
      │                                                  ▼
      │                 commit_stock → request_shipments → notify → mark_in_fulfilment
      │                                                  │
      │                 (shipment.picked_up/in_transit) ─▶ shipped ─(all delivered)─▶ completed
      ├──(payment.expired / unpaid past expires_at)──▶ expired (reservation released)
      └──(workshop cancels before shipment)──────────▶ cancelled (reservation released, payment voided)

A step that fails for good (or runs out of retries) runs the compensations — cancel booked
shipments and the supplier orders, give the stock back, void or refund the payment — and fails
the order with a reason the workshop can read.

The chain is the engine, not the truth: Celery delivers at least once and may lose the next
link of a chain. The truth is the order's status and its StepRun rows in PostgreSQL: a step
counts as done when a `succeeded` StepRun exists for it, written in the same transaction as
the step's effect (or after an effect that is itself idempotent on a key: the shipment's
reference at the courier). A second delivery of a step finds it done and records `skipped`.
The reconciler (Celery beat) re-drives paid / in-fulfilment orders whose chain went quiet,
from their first unfinished step.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_noop

from logistics.errors import CourierCircuitOpen, CourierUnavailable
from logistics.models import Shipment
from logistics.services import shipment_cancel, shipment_request
from okto88.areas import courier_area
from okto88.recording import record
from okto88.tracing import current_trace_id
from orders.errors import OrderNotRedrivable, PermanentStepError
from orders.lock_objects import order_lock, supplier_order_lock
from orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    StepRun,
    StepStatus,
    SupplierOrder,
    SupplierOrderStatus,
)
from orders.notifications import notify_order_confirmed
from orders.services import (
    PAYMENT_OPEN,
    PAYMENT_RETURN_BACKOFF_MAX_SECONDS,
    PAYMENT_RETURN_FROM,
    STEPS,
    order_close_unpaid,
    order_expire,
    order_fail,
    order_payment_return,
    workflow_start,
)
from orders.state import (
    order_transition,
    supplier_order_transition,
    supplier_order_transition_allowed,
    supplier_orders_move,
)
from orders.timeline import NewOrderEvent, order_event_write, order_events_write
from payments.errors import GatewayCircuitOpen, GatewayUnavailable
from payments.models import PaymentMethod
from suppliers.services import stock_commit_shipment

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = settings.WORKFLOW_MAX_ATTEMPTS
BACKOFF_BASE_SECONDS = settings.WORKFLOW_BACKOFF_BASE_SECONDS
BACKOFF_MAX_SECONDS = 300.0
# A paid or in-fulfilment order whose last step activity is older than this is re-driven.
STALL_AFTER = timedelta(seconds=settings.WORKFLOW_STALL_AFTER_SECONDS)
# A shipped order not delivered after this is stalled (a lost parcel, or lost courier callbacks).
SHIPPED_STALL_AFTER = timedelta(days=settings.WORKFLOW_SHIPPED_STALL_DAYS)


class TransientStepError(Exception):
    """Worth retrying: a partner timed out or answered 5xx, the database blinked."""


def transient_errors() -> tuple[type[BaseException], ...]:
    return (TransientStepError, CourierUnavailable, GatewayUnavailable, OperationalError)


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter (AWS architecture blog): uniform in [0, base·2^n]."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)


# A partner's open circuit breaker refused the call (okto88/circuit_breaker.py): nothing was sent.
BREAKER_REFUSALS = (CourierCircuitOpen, GatewayCircuitOpen)


def retry_countdown(*, attempt: int, error: BaseException) -> float:
    """When a step that failed transiently runs again. After a breaker refusal, not before the
    breaker lets a call through (plus up to half as long again, so the steps waiting on one
    partner do not all arrive for its single probe at once): the attempt still counts toward
    WORKFLOW_MAX_ATTEMPTS, but each one waits out a cool-down instead of a short backoff, so an
    order rides out about WORKFLOW_MAX_ATTEMPTS × PARTNER_BREAKER_COOL_DOWN_SECONDS of outage
    before it is compensated, and no worker sits waiting meanwhile."""
    refusal = error if isinstance(error, BREAKER_REFUSALS) else error.__cause__
    if isinstance(refusal, BREAKER_REFUSALS):
        wait = refusal.retry_after_seconds
        return max(backoff_seconds(attempt), wait + random.uniform(0, max(1.0, wait / 2)))
    return backoff_seconds(attempt)


# --- starting and re-driving -------------------------------------------------------------
#
# The chain of STEPS is enqueued by orders.services.workflow_start, after commit and by task
# name: order_place starts it, and services never import the workflow (it imports them).

# The sweep looks at closed orders still holding money whose last attempt is older than the
# longest backoff: their retry was lost (a retry on schedule is left to itself).
PAYMENT_RETURN_SWEEP_AFTER = timedelta(seconds=PAYMENT_RETURN_BACKOFF_MAX_SECONDS + 300)
PAYMENT_RETURN_SWEEP_BATCH = 100


def payment_returns_sweep(*, now=None) -> list[str]:
    """Celery beat: closed orders whose payment is still pending or settled and whose last
    attempt to return it is old (a lost retry, or none was ever made) get one more attempt."""
    now = now or timezone.now()
    quiet_since = now - PAYMENT_RETURN_SWEEP_AFTER
    recent = OrderEvent.objects.filter(order_id=OuterRef("pk"), kind="payment.return_failed",
                                       created_at__gte=quiet_since)
    candidates = (Order.objects.filter(status__in=PAYMENT_RETURN_FROM, payment_intent__status__in=PAYMENT_OPEN,
                                       updated_at__lt=quiet_since)
                  .exclude(Exists(recent)).order_by("updated_at")[:PAYMENT_RETURN_SWEEP_BATCH])
    returned = []
    for order in candidates:
        attempt = OrderEvent.objects.filter(order=order, kind="payment.return_failed").count() + 1
        if order_payment_return(order=order, attempt=attempt, retry=False):
            returned.append(order.number)
    return returned


DONE_STATUSES = (StepStatus.SUCCEEDED, StepStatus.SKIPPED)
REDRIVABLE = frozenset({OrderStatus.PAID, OrderStatus.IN_FULFILMENT})


def first_unfinished_step(*, order: Order) -> str | None:
    done = set(StepRun.objects.filter(order=order, status__in=DONE_STATUSES).values_list("step", flat=True))
    return next((step for step in STEPS if step not in done), None)


def _last_step_activity(*, order: Order) -> dt.datetime | None:
    last = (StepRun.objects.filter(order=order).annotate(at=Greatest("started_at", "finished_at"))
            .order_by("-at").values_list("at", flat=True).first())
    return max(filter(None, (last, order.updated_at)), default=None)


def order_redrive(*, order: Order, now=None, force: bool = False, actor=None) -> str | None:
    """Re-drive one order whose workflow went quiet; returns what was re-driven (the step the
    chain restarts from, or "expire"), or None when there was nothing to do.

    The one decision the beat reconciler (workflow_reconcile) and the operator's re-drive
    (force=True) share. A paid or in-fulfilment order restarts from its first unfinished step,
    under its row lock, if nothing ran for STALL_AFTER (force skips that wait: a step still
    running then meets the re-driven one at the order lock and one of them records `skipped`).
    A step that succeeded is never run again. An unpaid order past its payment window is
    expired (order_expire), as the expiry sweep would have. A finished, failed or closed order,
    or a shipped one (only the courier moves it on), is refused: None, or OrderNotRedrivable
    with force=True."""
    now = now or timezone.now()
    order.refresh_from_db(fields=["status", "expires_at", "updated_at"])

    def refuse(reason: str) -> None:
        if force:
            raise OrderNotRedrivable(reason, extra={"order": order.number, "order_status": order.status})

    if order.status == OrderStatus.PENDING_PAYMENT:
        if order.expires_at is None or order.expires_at > now:
            return refuse(f"order {order.number} is still within its payment window")
        if not force and order.expires_at + STALL_AFTER > now:
            return None  # the expiry sweep's own turn
        return "expire" if order_expire(order=order, now=now) is not None else refuse(
            f"order {order.number} was paid or closed meanwhile")
    if order.status not in REDRIVABLE:
        return refuse(f"a {order.status} order has no workflow step to re-drive")
    with transaction.atomic():
        locked = order_lock(order_id=order.pk)
        if locked.status not in REDRIVABLE:
            return refuse(f"a {locked.status} order has no workflow step to re-drive")
        step = first_unfinished_step(order=locked)
        if step is None:
            return refuse(f"every step of order {locked.number} has finished")
        if not force:
            last = _last_step_activity(order=locked)
            if last is not None and last > now - STALL_AFTER:
                return None  # something ran recently: a retry is probably scheduled
        order_event_write(order=locked, kind="workflow_redriven", step=step, actor=actor,
                          message=gettext_noop("Fulfilment resumed after a pause."), data={"forced": force})
        workflow_start(order=locked, from_step=step)
    return step


def workflow_reconcile(*, now=None) -> list[str]:
    """Celery beat: re-drive paid orders whose chain stopped without finishing or failing
    (order_redrive decides, order by order). In-fulfilment orders are not looked at: the last
    step moves an order there in the transaction that records it done, so none has a step left."""
    now = now or timezone.now()
    redriven = []
    candidates = Order.objects.filter(status=OrderStatus.PAID, updated_at__lt=now - STALL_AFTER)
    for order in candidates.iterator():
        if order_redrive(order=order, now=now) is not None:
            redriven.append(order.number)
    return redriven


# --- stalled orders ----------------------------------------------------------------------
#
# An order is stalled when it sits in a state past that state's deadline:
#   pending_payment  expires_at + STALL_AFTER: the expiry sweep (every minute) should have
#                    closed it; a re-drive expires it.
#   paid             with a step unfinished: the last step activity (or status change) +
#                    STALL_AFTER; a re-drive restarts the chain from the first unfinished step.
#                    (An in-fulfilment order has none: the last step moves it there.)
#   shipped          shipped (its last status change) + SHIPPED_STALL_AFTER without delivery;
#                    not re-drivable: no courier tracking lookup exists, ask the courier.
# One SQL statement, so the operations page and the Prometheus gauge count the same orders.

REDRIVE_EXPIRE = "expire"
REDRIVE_NONE = ""

_STALLED_SQL = """
    WITH workflow AS (
        SELECT o.id, o.number, o.status, GREATEST(o.updated_at, runs.last_at) AS since,
               (SELECT s.step FROM unnest(%(steps)s::text[]) WITH ORDINALITY AS s(step, n)
                WHERE s.step <> ALL(runs.done) ORDER BY s.n LIMIT 1) AS next_step
        FROM orders_order o
        -- One probe of the order's step runs: when it last moved, and which steps are done.
        CROSS JOIN LATERAL (
            SELECT MAX(GREATEST(r.started_at, r.finished_at)) AS last_at,
                   COALESCE(ARRAY_AGG(r.step) FILTER (WHERE r.status = ANY(%(done)s)), '{}') AS done
            FROM orders_steprun r WHERE r.order_id = o.id) runs
        WHERE o.status = %(paid)s AND o.updated_at < %(quiet_since)s
    ), stalled AS (
        (SELECT id, number, status, since, since + %(stall)s AS deadline, next_step AS redrive
         FROM workflow WHERE since < %(quiet_since)s AND next_step IS NOT NULL ORDER BY since LIMIT %(limit)s)
        UNION ALL
        (SELECT id, number, status, expires_at, expires_at + %(stall)s, %(expire)s
         FROM orders_order WHERE status = %(pending)s AND expires_at < %(quiet_since)s
         ORDER BY expires_at LIMIT %(limit)s)
        UNION ALL
        (SELECT id, number, status, updated_at, updated_at + %(shipped_stall)s, %(none)s
         FROM orders_order WHERE status = %(shipped)s AND updated_at < %(shipped_since)s
         ORDER BY updated_at LIMIT %(limit)s)
    )
"""
# Fixed fragments only; every value is a parameter.
_STALLED_LIST_SQL = _STALLED_SQL + "SELECT id, number, status, since, deadline, redrive FROM stalled ORDER BY deadline, id LIMIT %(limit)s"  # noqa: S608, E501
_STALLED_COUNT_SQL = _STALLED_SQL + "SELECT LEAST(COUNT(*), %(limit)s) FROM stalled"  # noqa: S608

# The gauge counts at most this many: a scrape stays cheap even when everything is stuck.
STALLED_COUNT_CAP = 10_000


@dataclass(frozen=True)
class StalledOrder:
    order_id: int
    number: str
    status: str
    since: dt.datetime  # when the state's clock started: last activity, payment deadline, shipped
    deadline: dt.datetime  # when it should have moved on
    overdue: dt.timedelta
    redrive: str  # a step name (restart from it), REDRIVE_EXPIRE, or REDRIVE_NONE (not re-drivable)


def _analytic_query_settings(cursor) -> None:
    # Its many small subqueries make the planner's cost look large enough to JIT-compile the
    # query, which costs far more (hundreds of ms) than running it.
    cursor.execute("SET LOCAL jit = off")


def _stalled_params(*, now: dt.datetime) -> dict:
    return {"steps": list(STEPS), "done": list(DONE_STATUSES), "paid": OrderStatus.PAID,
            "quiet_since": now - STALL_AFTER, "stall": STALL_AFTER, "expire": REDRIVE_EXPIRE,
            "pending": OrderStatus.PENDING_PAYMENT, "none": REDRIVE_NONE, "shipped": OrderStatus.SHIPPED,
            "shipped_stall": SHIPPED_STALL_AFTER, "shipped_since": now - SHIPPED_STALL_AFTER}


def orders_stalled(*, now=None, limit: int = 200) -> list[StalledOrder]:
    """Stalled orders, the longest overdue first (at most `limit`)."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        _analytic_query_settings(cursor)
        cursor.execute(_STALLED_LIST_SQL, {**_stalled_params(now=now), "limit": limit})
        return [StalledOrder(order_id=row[0], number=row[1], status=row[2], since=row[3], deadline=row[4],
                             overdue=now - row[4], redrive=row[5]) for row in cursor.fetchall()]


def orders_stalled_count(*, now=None) -> int:
    """How many orders are stalled (at most STALLED_COUNT_CAP)."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        _analytic_query_settings(cursor)
        cursor.execute(_STALLED_COUNT_SQL, {**_stalled_params(now=now), "limit": STALLED_COUNT_CAP})
        return cursor.fetchone()[0]


# --- step bookkeeping --------------------------------------------------------------------

@dataclass
class StepContext:
    order_id: int
    step: str
    attempt: int
    task_id: str
    run: StepRun | None = None


# --- commits that need not wait for the disk ----------------------------------------------
#
# A synchronous commit waits for its WAL to reach the disk: milliseconds each, tens of them
# when the disk is busy, and a step used to pay it three to five times. Only the transaction
# that records a step's effect with its `succeeded` StepRun has to wait for it. Bookkeeping
# before it (the `running` row, a booking's `requested` row at the courier's idempotency key)
# commits without waiting: WAL is flushed in order, so the step's synchronous commit makes
# those rows durable too, and only a PostgreSQL crash in the fraction of a second between the
# two could lose them, together with an effect that then never committed (the courier answers
# a repeated booking with the same waybill). Celery never sees a step as done before its
# synchronous commit. A worker killed at any point changes nothing: the server has committed.

def _commit_without_wal_flush() -> None:
    """This transaction commits without waiting for the disk (see above)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


@contextmanager
def _commits_without_wal_flush():
    """Every commit in the block is like _commit_without_wal_flush; the caller commits
    synchronously after it."""
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            connection.close()  # never hand the setting on to the next task with the connection


_STEP_BEGIN_SQL = """
    INSERT INTO orders_steprun (order_id, step, attempt, status, task_id, enqueued_at, started_at, error, error_code,
                                trace_id)
    SELECT %s, %s, COALESCE(MAX(attempt), 0) + 1, %s, %s, %s, %s, '', '', %s
    FROM orders_steprun WHERE order_id = %s AND step = %s
    RETURNING id, attempt"""


def step_begin(*, order_id: int, step: str, task_id: str, enqueued_at: dt.datetime | None = None) -> StepContext:
    """Record a new attempt as `running` and number it, in one statement (the attempt is one
    more than the step's earlier rows: no separate count on the hot path). `enqueued_at` is
    when the task's message became due (okto88.celery.task_enqueued_at).

    Committed on its own, before the effect: an attempt a killed worker never finished stays
    visible as `running` with no end, which is what the analytics and the reconciler read.
    Bookkeeping: committed without waiting for the disk (see above)."""
    started_at = timezone.now()
    trace_id = current_trace_id()
    with transaction.atomic(), connection.cursor() as cursor:
        _commit_without_wal_flush()
        cursor.execute(_STEP_BEGIN_SQL, [order_id, step, StepStatus.RUNNING, task_id, enqueued_at, started_at,
                                         trace_id, order_id, step])
        run_id, attempt = cursor.fetchone()
    run = StepRun(pk=run_id, order_id=order_id, step=step, attempt=attempt, task_id=task_id, enqueued_at=enqueued_at,
                  started_at=started_at, status=StepStatus.RUNNING, trace_id=trace_id)
    return StepContext(order_id=order_id, step=step, attempt=attempt, task_id=task_id, run=run)


def _step_done(*, step: str) -> Exists:
    return Exists(StepRun.objects.filter(order_id=OuterRef("pk"), step=step, status=StepStatus.SUCCEEDED))


def step_finish(ctx: StepContext, *, status: str, error: str = "", error_code: str = "") -> None:
    finished_at = timezone.now()
    StepRun.objects.filter(pk=ctx.run.pk).update(status=status, finished_at=finished_at, error=error[:2000],
                                                 error_code=error_code[:60])
    ctx.run.status, ctx.run.finished_at, ctx.run.error_code = status, finished_at, error_code[:60]


def _step_record(ctx: StepContext) -> None:
    """The finished attempt's queue wait and run time, for the rollups and Prometheus
    (okto88.recording), once per attempt, with its final status."""
    run = ctx.run
    if run.finished_at is None:
        return
    if run.enqueued_at is not None:
        record("step_wait", (ctx.step,), max(0.0, (run.started_at - run.enqueued_at).total_seconds()), run.status)
    # The error code rides along (step, error_code): the failures by code of long periods are read
    # from these rollups; Prometheus keeps the step label only (okto88.metrics).
    record("step_run", (ctx.step, run.error_code or ""), (run.finished_at - run.started_at).total_seconds(),
           run.status)


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
GAVE_UP = "gave_up"


def exception_code(exc: BaseException) -> str:
    """A short stable code for an exception: its `code` (every domain error declares one),
    else its class name in snake_case (OperationalError → operational_error)."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code[:60]
    return _CAMEL_BOUNDARY.sub("_", type(exc).__name__).lower()[:60]


def _locked_order_and_done(ctx: StepContext) -> tuple[Order, bool]:
    """The order row locked, and whether this step already succeeded, in one query. The lock
    serialises a second delivery of the step, so it sees the first one's StepRun."""
    order = order_lock(order_id=ctx.order_id, step_done=_step_done(step=ctx.step))
    return order, order.step_done


# --- the steps ---------------------------------------------------------------------------

def _stock_lines(order: Order) -> list[tuple[int, int]]:
    return list(OrderLine.objects.filter(supplier_order__order=order).values_list("stock_id", "quantity"))


def step_commit_stock(ctx: StepContext) -> str:
    """Reserved units leave the warehouses: on_hand and reserved both drop, once."""
    with transaction.atomic():
        order, done = _locked_order_and_done(ctx)
        if done or order.status != OrderStatus.PAID:
            return StepStatus.SKIPPED  # done, or cancelled or failed meanwhile: nothing left to do
        # Ledger references start with the order number: cancel and compensation find the
        # order's stock position from them.
        stock_commit_shipment(lines=_stock_lines(order), reference=order.number)
        order_event_write(order=order, kind="stock_committed", step=ctx.step,
                          message=gettext_noop("Stock taken from the suppliers' warehouses."))
        step_finish(ctx, status=StepStatus.SUCCEEDED)
    return StepStatus.SUCCEEDED


def step_request_shipments(ctx: StepContext) -> str:
    """Book one shipment per supplier order. The courier call is outside any transaction and
    idempotent on the supplier order's number, so a retry never books twice. The bookings are
    linked to their supplier orders in the transaction that finishes the step (one commit for
    all of them); if a booking fails, the ones already made are linked first, so compensation
    finds and cancels them."""
    order = Order.objects.annotate(step_done=_step_done(step=ctx.step)).get(pk=ctx.order_id)
    if order.step_done or order.status != OrderStatus.PAID:
        return StepStatus.SKIPPED
    booked: list[tuple[SupplierOrder, Shipment]] = []
    try:
        with _commits_without_wal_flush():
            _shipments_book(order=order, booked=booked)
    except BaseException:
        if booked:
            with transaction.atomic():
                _shipments_link(order=order, booked=booked, step=ctx.step)
        raise
    with transaction.atomic():
        order, done = _locked_order_and_done(ctx)
        _shipments_link(order=order, booked=booked, step=ctx.step)
        if done:
            return StepStatus.SKIPPED
        step_finish(ctx, status=StepStatus.SUCCEEDED)
    return StepStatus.SUCCEEDED


def _shipments_book(*, order: Order, booked: list[tuple[SupplierOrder, Shipment]]) -> None:
    for supplier_order in SupplierOrder.objects.filter(order=order).select_related("warehouse").order_by("pk"):
        if supplier_order.shipment_id:
            continue
        warehouse = supplier_order.warehouse
        booked.append((supplier_order, shipment_request(
            reference=supplier_order.number,
            carrier_code=supplier_order.carrier_code,
            service_level=supplier_order.service_level,
            origin=courier_area(place=warehouse),
            destination=courier_area(place=order.delivery_address),
            weight_g=supplier_order.weight_g,
        )))


def _shipments_link(*, order: Order, booked: list[tuple[SupplierOrder, Shipment]], step: str) -> None:
    events = []
    for supplier_order, shipment in booked:
        # Linked once; a pending supplier order is confirmed (one whose pickup was reported
        # before this link keeps its status: the table never moves it back).
        if supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(pk=supplier_order.pk,
                                                                             shipment__isnull=True),
                                to=SupplierOrderStatus.CONFIRMED, shipment=shipment):
            events.append(NewOrderEvent(kind="shipment_booked", step=step, message=gettext_noop("Shipment booked."),
                                        data={"supplier_order": supplier_order.number, "waybill": shipment.waybill}))
    order_events_write(order=order, events=events)


def step_notify(ctx: StepContext) -> str:
    with transaction.atomic():
        order, done = _locked_order_and_done(ctx)
        if done or order.status != OrderStatus.PAID:
            return StepStatus.SKIPPED
        notify_order_confirmed(order=order)
        step_finish(ctx, status=StepStatus.SUCCEEDED)
    return StepStatus.SUCCEEDED


def step_mark_in_fulfilment(ctx: StepContext) -> str:
    with transaction.atomic():
        order, done = _locked_order_and_done(ctx)
        if done or order.status != OrderStatus.PAID:
            return StepStatus.SKIPPED
        order_transition(order=order, to=OrderStatus.IN_FULFILMENT, step=ctx.step)
        step_finish(ctx, status=StepStatus.SUCCEEDED)
    return StepStatus.SUCCEEDED


STEP_FUNCTIONS = {
    "commit_stock": step_commit_stock,
    "request_shipments": step_request_shipments,
    "notify": step_notify,
    "mark_in_fulfilment": step_mark_in_fulfilment,
}


def step_run(*, order_id: int, step: str, task_id: str, enqueued_at: dt.datetime | None = None) -> str:
    """Run one attempt of a step and record it. Returns the StepRun status; raises
    TransientStepError (retry) or PermanentStepError (compensated, chain stops)."""
    ctx = step_begin(order_id=order_id, step=step, task_id=task_id, enqueued_at=enqueued_at)
    attempt = ctx.attempt
    try:
        status = STEP_FUNCTIONS[step](ctx)
    except transient_errors() as exc:
        if attempt >= MAX_ATTEMPTS:
            step_finish(ctx, status=StepStatus.FAILED, error=f"gave up after {attempt} attempts: {exc}",
                        error_code=GAVE_UP)
            _step_record(ctx)
            workflow_compensate(order_id=order_id, step=step, reason=str(exc))
            raise PermanentStepError(str(exc)) from exc
        step_finish(ctx, status=StepStatus.RETRYING, error=str(exc), error_code=exception_code(exc))
        _step_record(ctx)
        raise TransientStepError(str(exc)) from exc
    except Exception as exc:
        step_finish(ctx, status=StepStatus.FAILED, error=str(exc), error_code=exception_code(exc))
        _step_record(ctx)
        workflow_compensate(order_id=order_id, step=step, reason=str(exc))
        raise PermanentStepError(str(exc)) from exc
    if status == StepStatus.SKIPPED:
        step_finish(ctx, status=StepStatus.SKIPPED)
    _step_record(ctx)
    return status


# --- compensation ------------------------------------------------------------------------

def workflow_compensate(*, order_id: int, step: str, reason: str) -> None:
    """Undo what the finished steps did, then fail the order with a readable reason.

    Booked shipments are cancelled at the courier (outside any transaction; idempotent by
    reference), then orders.services.order_fail cancels the supplier orders, gives the stock back
    from the ledger (reserved units released, committed units returned) in one transaction, and
    voids or refunds the payment after commit."""
    order = Order.objects.get(pk=order_id)
    if order.status in {OrderStatus.FAILED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.COMPLETED}:
        return
    for supplier_order in SupplierOrder.objects.filter(order=order).select_related("shipment"):
        if supplier_order.shipment_id:
            shipment_cancel(shipment=supplier_order.shipment)
    order_fail(order=order, reason=_readable_reason(step), step=step)  # cancels the supplier orders with it
    logger.warning("order failed and compensated", extra={"order": order.number, "step": step, "error": reason})


def _readable_reason(step: str) -> str:
    return {
        "commit_stock": gettext_noop("The supplier could no longer supply the parts."),
        "request_shipments": gettext_noop("No courier could take the shipment; the payment is returned."),
        "notify": gettext_noop("The order could not be confirmed; the payment is returned."),
        "mark_in_fulfilment": gettext_noop("The order could not be confirmed; the payment is returned."),
    }.get(step, gettext_noop("The order could not be fulfilled; the payment is returned."))


# --- reactions to payments and shipments -------------------------------------------------

# Stored in English and translated when read (orders.views), like every timeline reason.
UNPAID_REASONS = {
    "payment.expired": gettext_noop("payment expired"),
    "payment.cancelled": gettext_noop("payment cancelled"),
    "payment.denied": gettext_noop("payment denied"),
}


def on_payment_event(*, topic: str, payload: dict) -> None:
    """payment.settled starts fulfilment (terms orders are paid, and their chain enqueued, when
    placed: order_place calls workflow_start in its transaction); the
    gateway expiring, cancelling or denying an unpaid order's payment closes it. A settlement
    that arrives for an order that is already closed is refunded."""
    order = (Order.objects.filter(number=payload.get("reference")).select_related("payment_intent")
             .annotate(workflow_started=Exists(StepRun.objects.filter(order_id=OuterRef("pk")))).first())
    if order is None:
        logger.warning("payment event for an unknown order", extra={"reference": payload.get("reference")})
        return
    if topic == "payment.settled" and order.status == OrderStatus.PAID and (
            order.workflow_started or order.payment_method == PaymentMethod.TERMS):
        # Already running, or a terms order whose placement started it on commit: no lock needed
        # to know it. A chain lost on the way is the reconciler's to re-drive, as any lost link.
        return
    if topic == "payment.settled":
        with transaction.atomic():
            order = order_lock(order_id=order.pk)
            if order.status == OrderStatus.PENDING_PAYMENT:
                order_transition(order=order, to=OrderStatus.PAID, step="payment")
            else:
                _commit_without_wal_flush()  # only a row lock, nothing written: nothing to make durable
            if order.status == OrderStatus.PAID and not StepRun.objects.filter(order=order).exists():
                workflow_start(order=order)
        if order.status in {OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED} and order.payment_intent:
            order_payment_return(order=order)
    elif topic in {"payment.expired", "payment.cancelled", "payment.denied"}:
        order_close_unpaid(order=order, reason=UNPAID_REASONS[topic])


def on_shipment_event(*, topic: str, payload: dict) -> None:
    """Picked up → the supplier order ships; all shipped → the order ships; all delivered →
    the order completes. Events may arrive late or twice: each move only goes forward."""
    supplier_order = SupplierOrder.objects.filter(number=payload.get("reference")).first()
    if supplier_order is None:
        return
    target = {
        "shipment.picked_up": SupplierOrderStatus.SHIPPED,
        "shipment.in_transit": SupplierOrderStatus.SHIPPED,
        "shipment.delivered": SupplierOrderStatus.DELIVERED,
    }.get(topic)
    if target is None:
        return
    with transaction.atomic():
        order = order_lock(order_id=supplier_order.order_id)
        supplier_order = supplier_order_lock(supplier_order_id=supplier_order.pk)
        if not supplier_order_transition_allowed(from_status=supplier_order.status, to_status=target):
            return  # late or repeated: the table moves a supplier order forward only
        supplier_order_transition(supplier_order=supplier_order, to=target)
        order_event_write(order=order, kind=f"supplier_order_{target}", step="tracking",
                          data={"supplier_order": supplier_order.number, "waybill": payload.get("waybill")})
        statuses = set(SupplierOrder.objects.filter(order=order).values_list("status", flat=True))
        if order.status == OrderStatus.IN_FULFILMENT and statuses <= {SupplierOrderStatus.SHIPPED,
                                                                      SupplierOrderStatus.DELIVERED}:
            order_transition(order=order, to=OrderStatus.SHIPPED, step="tracking")
        if order.status == OrderStatus.SHIPPED and statuses == {SupplierOrderStatus.DELIVERED}:
            order_transition(order=order, to=OrderStatus.COMPLETED, step="tracking")


def orders_expire_unpaid(*, now=None) -> list[str]:
    """Celery beat: unpaid orders past their payment window expire and release their stock."""
    now = now or timezone.now()
    expired = []
    for order in Order.objects.filter(status=OrderStatus.PENDING_PAYMENT, expires_at__lt=now).iterator():
        try:
            if order_expire(order=order, now=now) is not None:
                expired.append(order.number)
        except transient_errors():
            logger.warning("could not reach the gateway to expire an order; next round", extra={"order": order.number})
    return expired

