"""The order workflow, end to end, in one place.

    placed ──(payment.settled, or at once for terms)──▶ paid
      │                                                  │  the order's step: open_for_acceptance
      │                                                  ▼  (answer deadlines set, suppliers told)
      │                                            in_fulfilment
      │      each supplier order on its own (orders.services.fulfilment, and the steps below):
      │        answer ─▶ commit_stock        ready to ship ─▶ book_courier
      │        (shipment.picked_up/in_transit) ─▶ shipped ─(delivered)─▶ delivered
      │      the order follows: shipped when all still going are; completed when all ended
      ├──(payment.expired / unpaid past expires_at)──▶ expired (reservation released)
      └──(workshop cancels before shipment)──────────▶ cancelled (reservation released, payment voided)

A step of a supplier order that fails for good (or runs out of retries) cancels its booking,
then that supplier order alone (supplier_order_fail: stock back, its share refunded); the
others go on. The order's own step failing for good fails the whole order (compensations:
supplier orders cancelled, stock back, payment voided or refunded).

The chain is the engine, not the truth: Celery delivers at least once and may lose the next
link of a chain. The truth is the order's status and its StepRun rows in PostgreSQL: a step
counts as done when a `succeeded` StepRun exists for it, written in the same transaction as
the step's effect (or after an effect that is itself idempotent on a key: the shipment's
reference at the courier). A second delivery of a step finds it done and records `skipped`.
The reconciler (Celery beat) re-drives paid orders whose chain went quiet, and accepted or
ready-to-ship supplier orders whose step went quiet.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q
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
from orders.lock_objects import order_lock, order_lock_step_done, supplier_order_lock, supplier_order_lock_step_done
from orders.models import (
    Order,
    OrderEvent,
    OrderStatus,
    StepRun,
    StepStatus,
    SupplierOrder,
    SupplierOrderStatus,
)
from orders.notifications import notify_supplier_order_changed
from orders.services import (
    PAYMENT_OPEN,
    PAYMENT_RETURN_BACKOFF_MAX_SECONDS,
    PAYMENT_RETURN_FROM,
    STEPS,
    order_close_unpaid,
    order_expire,
    order_fail,
    order_follow_supplier_orders,
    order_payment_return,
    supplier_order_fail,
    supplier_order_step_start,
    supplier_orders_open,
    supplier_orders_reject_overdue,
    workflow_start,
)
from orders.state import (
    order_touch,
    order_transition,
    order_transition_locked,
    supplier_order_move_locked,
    supplier_order_transition,
    supplier_order_transition_allowed,
)
from orders.timeline import order_event_write
from payments.errors import GatewayCircuitOpen, GatewayRejected, GatewayUnavailable
from payments.models import PaymentMethod, Refund, RefundStatus
from payments.services import payment_refund_send
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
    done = set(StepRun.objects.filter(order=order, supplier_order__isnull=True, status__in=DONE_STATUSES)
               .values_list("step", flat=True))
    return next((step for step in STEPS if step not in done), None)


# A supplier order's step that should have run, by its status: answered, the stock is
# committed; packed, the courier is booked.
_SUPPLIER_ORDER_STEP_DUE = {
    SupplierOrderStatus.ACCEPTED: ("commit_stock",),
    SupplierOrderStatus.READY_TO_SHIP: ("commit_stock", "book_courier"),
    SupplierOrderStatus.CONFIRMED: ("commit_stock",),
}
REDRIVE_ANSWER_DEADLINE = "answer_deadline"


def supplier_orders_unfinished(*, order: Order, now: dt.datetime) -> list[tuple[SupplierOrder, str]]:
    """The order's supplier orders with a step that should have run and has not (or, pending
    past their answer deadline, a rejection the sweep should have made), with that step."""
    due = []
    for supplier_order in SupplierOrder.objects.filter(order=order).order_by("pk"):
        if supplier_order.status == SupplierOrderStatus.PENDING:
            if supplier_order.accept_by is not None and supplier_order.accept_by < now:
                due.append((supplier_order, REDRIVE_ANSWER_DEADLINE))
            continue
        steps = _SUPPLIER_ORDER_STEP_DUE.get(supplier_order.status, ())
        done = set(StepRun.objects.filter(supplier_order=supplier_order, status__in=DONE_STATUSES)
                   .values_list("step", flat=True))
        step = next((step for step in steps if step not in done), None)
        if step is not None:
            due.append((supplier_order, step))
    return due


def _supplier_orders_redrive(*, order: Order, now: dt.datetime, force: bool, actor) -> str | None:
    """Re-drive the in-fulfilment order's supplier orders whose step went quiet (order locked)."""
    redriven = None
    for supplier_order, step in supplier_orders_unfinished(order=order, now=now):
        if step == REDRIVE_ANSWER_DEADLINE:
            transaction.on_commit(lambda so=supplier_order: supplier_orders_reject_overdue(
                now=now, supplier_order_ids=[so.pk]))
        else:
            last = _last_step_activity(order=order, supplier_order=supplier_order)
            if not force and last > now - STALL_AFTER:
                continue  # something ran recently: a retry is probably scheduled
            supplier_order_step_start(supplier_order=supplier_order, step=step)
        order_event_write(order=order, kind="workflow_redriven", step=step, actor=actor,
                          message=gettext_noop("Fulfilment resumed after a pause."),
                          data={"forced": force, "supplier_order": supplier_order.number})
        redriven = redriven or step
    return redriven


def _last_step_activity(*, order: Order, supplier_order: SupplierOrder | None = None) -> dt.datetime | None:
    """When the order (or one supplier order of it) last moved: its last step attempt's start or
    end, or its own last change."""
    runs = StepRun.objects.filter(supplier_order=supplier_order) if supplier_order else StepRun.objects.filter(
        order=order)
    last = runs.annotate(at=Greatest("started_at", "finished_at")).order_by("-at").values_list("at", flat=True).first()
    changed = supplier_order.updated_at if supplier_order else order.updated_at
    return max(filter(None, (last, changed)), default=None)


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
        if step is None and locked.status == OrderStatus.IN_FULFILMENT:
            if not supplier_orders_unfinished(order=locked, now=now):
                return refuse(f"every step of order {locked.number} has finished")
            return _supplier_orders_redrive(order=locked, now=now, force=force, actor=actor)
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
    """Celery beat: re-drive paid orders whose chain stopped without finishing or failing, and
    in-fulfilment orders with an answered or packed supplier order that went quiet
    (order_redrive decides, order by order)."""
    now = now or timezone.now()
    redriven = []
    quiet = SupplierOrder.objects.filter(order_id=OuterRef("pk"), updated_at__lt=now - STALL_AFTER,
                                         status__in=list(_SUPPLIER_ORDER_STEP_DUE))
    candidates = Order.objects.filter(Q(status=OrderStatus.PAID, updated_at__lt=now - STALL_AFTER)
                                      | Q(Exists(quiet), status=OrderStatus.IN_FULFILMENT))
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
#   in_fulfilment    with a supplier order answered (or packed) whose stock commitment (or
#                    courier booking) has not run for STALL_AFTER: a re-drive starts that step;
#                    or one still unanswered STALL_AFTER past its answer deadline: the re-drive
#                    rejects it for its supplier (no_answer), as the sweep would have.
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
            FROM orders_steprun r WHERE r.order_id = o.id AND r.supplier_order_id IS NULL) runs
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
        UNION ALL
        -- A supplier order answered or packed whose step has not run for STALL_AFTER.
        (SELECT o.id, o.number, o.status, x.since, x.since + %(stall)s, x.redrive
         FROM orders_supplierorder so JOIN orders_order o ON o.id = so.order_id
         CROSS JOIN LATERAL (
            SELECT GREATEST(so.updated_at, MAX(GREATEST(r.started_at, r.finished_at))) AS since,
                   CASE WHEN NOT COALESCE(bool_or(r.step = 'commit_stock' AND r.status = ANY(%(done)s)), FALSE)
                        THEN 'commit_stock'
                        WHEN so.status = %(so_ready)s
                             AND NOT COALESCE(bool_or(r.step = 'book_courier' AND r.status = ANY(%(done)s)), FALSE)
                        THEN 'book_courier' END AS redrive
            FROM orders_steprun r WHERE r.supplier_order_id = so.id) x
         WHERE o.status = %(in_fulfilment)s AND so.status = ANY(%(so_stepping)s) AND so.updated_at < %(quiet_since)s
           AND x.since < %(quiet_since)s AND x.redrive IS NOT NULL
         ORDER BY x.since LIMIT %(limit)s)
        UNION ALL
        -- A supplier order still unanswered past its deadline: the sweep (every minute) rejects it.
        (SELECT o.id, o.number, o.status, so.accept_by, so.accept_by + %(stall)s, %(answer_deadline)s
         FROM orders_supplierorder so JOIN orders_order o ON o.id = so.order_id
         WHERE so.status = %(so_pending)s AND so.accept_by < %(quiet_since)s
         ORDER BY so.accept_by LIMIT %(limit)s)
    ), stalled_orders AS (
        -- An order with several stalled supplier orders is listed once, by its most overdue.
        SELECT DISTINCT ON (id) id, number, status, since, deadline, redrive FROM stalled ORDER BY id, deadline
    )
"""
# Fixed fragments only; every value is a parameter.
_STALLED_LIST_SQL = _STALLED_SQL + "SELECT id, number, status, since, deadline, redrive FROM stalled_orders ORDER BY deadline, id LIMIT %(limit)s"  # noqa: S608, E501
_STALLED_COUNT_SQL = _STALLED_SQL + "SELECT LEAST(COUNT(*), %(limit)s) FROM stalled_orders"  # noqa: S608

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
            "shipped_stall": SHIPPED_STALL_AFTER, "shipped_since": now - SHIPPED_STALL_AFTER,
            "in_fulfilment": OrderStatus.IN_FULFILMENT, "so_ready": SupplierOrderStatus.READY_TO_SHIP,
            "so_stepping": list(_SUPPLIER_ORDER_STEP_DUE), "so_pending": SupplierOrderStatus.PENDING,
            "answer_deadline": REDRIVE_ANSWER_DEADLINE}


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
    supplier_order_id: int | None = None  # a step of one supplier order's workflow


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
def _commits_without_wal_flush(*, already_off: bool = False):
    """Every commit in the block is like _commit_without_wal_flush; the caller commits
    synchronously after it. `already_off`: the caller's last statement turned it off for the
    session (set_config(…, false) is SET), so only the RESET is left to do."""
    if not already_off:
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


# The attempt is numbered and recorded in one statement, which also turns the wait for the disk
# off for its transaction (set_config(…, true) is SET LOCAL; the one-row subquery runs once).
# Called outside a transaction, as the tasks do, it is a transaction of its own: one round trip
# instead of BEGIN, SET LOCAL, INSERT and COMMIT.
_STEP_BEGIN_SQL = """
    INSERT INTO orders_steprun (order_id, supplier_order_id, step, attempt, status, task_id, enqueued_at, started_at,
                                error, error_code, trace_id)
    SELECT %s, NULL, %s,
           COALESCE((SELECT MAX(r.attempt) FROM orders_steprun r
                     WHERE r.order_id = %s AND r.step = %s AND r.supplier_order_id IS NULL), 0) + 1,
           %s, %s, %s, %s, '', '', %s
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_wal_flush
    RETURNING id, attempt, order_id"""

# A supplier order's step: its order id is read from the supplier order row in the same
# statement (no separate lookup before it); no row when the supplier order does not exist.
_SUPPLIER_ORDER_STEP_BEGIN_SQL = """
    INSERT INTO orders_steprun (order_id, supplier_order_id, step, attempt, status, task_id, enqueued_at, started_at,
                                error, error_code, trace_id)
    SELECT so.order_id, so.id, %s,
           COALESCE((SELECT MAX(r.attempt) FROM orders_steprun r
                     WHERE r.order_id = so.order_id AND r.step = %s AND r.supplier_order_id = so.id), 0) + 1,
           %s, %s, %s, %s, '', '', %s
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_wal_flush, orders_supplierorder so
    WHERE so.id = %s
    RETURNING id, attempt, order_id"""


def step_begin(*, order_id: int | None, step: str, task_id: str, enqueued_at: dt.datetime | None = None,
               supplier_order_id: int | None = None) -> StepContext:
    """Record a new attempt as `running` and number it, in one statement (the attempt is one
    more than the step's earlier rows, of the order or of the supplier order: no separate count
    on the hot path). A supplier order's step may pass order_id=None: it is read from the
    supplier order in that statement (SupplierOrder.DoesNotExist if there is none). `enqueued_at`
    is when the task's message became due (okto88.celery.task_enqueued_at).

    Committed on its own, before the effect: an attempt a killed worker never finished stays
    visible as `running` with no end, which is what the analytics and the reconciler read.
    Bookkeeping: committed without waiting for the disk (see above)."""
    started_at = timezone.now()
    trace_id = current_trace_id()
    with connection.cursor() as cursor:
        if supplier_order_id is None:
            cursor.execute(_STEP_BEGIN_SQL, [order_id, step, order_id, step, StepStatus.RUNNING, task_id, enqueued_at,
                                             started_at, trace_id])
        else:
            cursor.execute(_SUPPLIER_ORDER_STEP_BEGIN_SQL, [step, step, StepStatus.RUNNING, task_id, enqueued_at,
                                                            started_at, trace_id, supplier_order_id])
        row = cursor.fetchone()
    if row is None:
        raise SupplierOrder.DoesNotExist(f"supplier order {supplier_order_id} does not exist")
    run_id, attempt, order_id = row
    run = StepRun(pk=run_id, order_id=order_id, supplier_order_id=supplier_order_id, step=step, attempt=attempt,
                  task_id=task_id, enqueued_at=enqueued_at, started_at=started_at, status=StepStatus.RUNNING,
                  trace_id=trace_id)
    return StepContext(order_id=order_id, step=step, attempt=attempt, task_id=task_id, run=run,
                       supplier_order_id=supplier_order_id)


def step_finish(ctx: StepContext, *, status: str, error: str = "", error_code: str = "") -> None:
    finished_at = timezone.now()
    with connection.cursor() as cursor:  # the ORM's UPDATE … WHERE id, without building a queryset per attempt
        cursor.execute("UPDATE orders_steprun SET status = %s, finished_at = %s, error = %s, error_code = %s"
                       " WHERE id = %s", [status, finished_at, error[:2000], error_code[:60], ctx.run.pk])
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
    order = order_lock_step_done(order_id=ctx.order_id, step=ctx.step)
    return order, order.step_done


def _locked_supplier_order_and_done(ctx: StepContext, *, with_units: bool = False,
                                    ) -> tuple[Order, SupplierOrder, bool]:
    """The order row, then the supplier order's, locked; and whether this step of the supplier
    order already succeeded (with_units: and its accepted units, read with the lock)."""
    order = order_lock(order_id=ctx.order_id)
    supplier_order = supplier_order_lock_step_done(supplier_order_id=ctx.supplier_order_id, step=ctx.step,
                                                   with_units=with_units)
    return order, supplier_order, supplier_order.step_done


# --- the order's step ----------------------------------------------------------------------

def step_open_for_acceptance(ctx: StepContext) -> str:
    """The paid order goes to its suppliers: each supplier order gets its answer deadline and
    its supplier is told; the workshop is told it is paid; the order is in fulfilment."""
    with transaction.atomic():
        order, done = _locked_order_and_done(ctx)
        if done or order.status != OrderStatus.PAID:
            return StepStatus.SKIPPED  # done, or cancelled or failed meanwhile: nothing left to do
        supplier_orders_open(order=order)
        order_transition_locked(order=order, to=OrderStatus.IN_FULFILMENT, step=ctx.step)
        step_finish(ctx, status=StepStatus.SUCCEEDED)
    return StepStatus.SUCCEEDED


# --- a supplier order's steps ---------------------------------------------------------------

# A supplier order in one of these has been answered and not ended: its steps may run.
_COMMITTABLE = frozenset({SupplierOrderStatus.ACCEPTED, SupplierOrderStatus.READY_TO_SHIP,
                          SupplierOrderStatus.CONFIRMED, SupplierOrderStatus.SHIPPED,
                          SupplierOrderStatus.DELIVERED})


def step_commit_stock(ctx: StepContext) -> str:
    """The accepted units leave the supplier's warehouse: on_hand and reserved both drop, once
    (the rejected units' reservation was released with the answer)."""
    with transaction.atomic():
        order, supplier_order, done = _locked_supplier_order_and_done(ctx, with_units=True)
        if done or supplier_order.status not in _COMMITTABLE:
            return StepStatus.SKIPPED  # done, or cancelled meanwhile: nothing left to do
        # The reference starts with the order's number: a cancel finds the order's stock position.
        stock_commit_shipment(lines=supplier_order.units_to_ship, reference=supplier_order.number)
        order_touch(order_ids=[order.pk])  # the funnel counts it committed now
        order_event_write(order=order, kind="stock_committed", step=ctx.step,
                          message=gettext_noop("Stock taken from the supplier's warehouse."),
                          data={"supplier_order": supplier_order.number,
                                "supplier": supplier_order.supplier.legal_name})
        step_finish(ctx, status=StepStatus.SUCCEEDED)
    return StepStatus.SUCCEEDED


# What book_courier reads before it calls the courier, in one plain statement: the supplier
# order's booking fields, its warehouse's area and its order's delivery address, whether the
# step already succeeded, and — only when it is going to book (ready to ship, nothing linked,
# not done) — the session's synchronous_commit turned off for the booking's bookkeeping commits
# (_commits_without_wal_flush; CASE evaluates set_config only then, and the block RESETs it).
_BOOKING_READ_SQL = """
    SELECT so.status, so.number, so.carrier_code, so.service_level, so.weight_g, so.shipment_id,
           w.province, w.city, w.district, w.postal_code, o.delivery_address, step.done,
           CASE WHEN so.status = %s AND so.shipment_id IS NULL AND NOT step.done
                THEN set_config('synchronous_commit', 'off', false) END
    FROM orders_supplierorder so
    JOIN suppliers_warehouse w ON w.id = so.warehouse_id
    JOIN orders_order o ON o.id = so.order_id
    CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM orders_steprun r WHERE r.supplier_order_id = so.id
                                       AND r.step = %s AND r.status = %s) AS done) step
    WHERE so.id = %s"""


def _json(value):
    """A jsonb column read by a plain cursor: Django's connection hands it over as its text."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def step_book_courier(ctx: StepContext) -> str:
    """Book the courier for a supplier order its supplier marked ready to ship. The courier call
    is outside any transaction and idempotent on the supplier order's number, so a retry (or a
    worker killed after the courier answered) never books twice; the booking is linked and the
    step recorded in one transaction after it."""
    with connection.cursor() as cursor:
        cursor.execute(_BOOKING_READ_SQL, [SupplierOrderStatus.READY_TO_SHIP, ctx.step, StepStatus.SUCCEEDED,
                                           ctx.supplier_order_id])
        row = cursor.fetchone()
    if row is None:
        raise SupplierOrder.DoesNotExist("SupplierOrder matching query does not exist.")
    (status, number, carrier_code, service_level, weight_g, shipment_id, province, city, district, postal_code,
     delivery_address, done, books) = row
    if done or status != SupplierOrderStatus.READY_TO_SHIP:
        return StepStatus.SKIPPED
    if shipment_id is not None:
        shipment = Shipment.objects.get(pk=shipment_id)
    else:
        with _commits_without_wal_flush(already_off=books is not None):
            shipment = shipment_request(
                reference=number, carrier_code=carrier_code, service_level=service_level,
                origin=courier_area(place={"province": province, "city": city, "district": district,
                                           "postal_code": postal_code}),
                destination=courier_area(place=_json(delivery_address)), weight_g=weight_g)
    with transaction.atomic():
        order, locked, done = _locked_supplier_order_and_done(ctx)
        if locked.shipment_id is None:  # linked once (the row is locked and fresh)
            # One UPDATE of the locked row: the booking linked, the status confirmed if the
            # table allows it (a pickup may have moved it on already); the instance carries both.
            supplier_order_move_locked(supplier_order=locked, order=order, to=SupplierOrderStatus.CONFIRMED,
                                       shipment=shipment)
            order_event_write(order=order, kind="shipment_booked", step=ctx.step,
                              message=gettext_noop("Shipment booked."),
                              data={"supplier_order": locked.number, "supplier": locked.supplier.legal_name,
                                    "waybill": shipment.waybill})
            # The notice reads the order, which this transaction holds locked, and the supplier,
            # read with the lock.
            locked.order = order
            notify_supplier_order_changed(supplier_order=locked, kind="supplier_order_booked")
        if done:
            return StepStatus.SKIPPED
        step_finish(ctx, status=StepStatus.SUCCEEDED)
    return StepStatus.SUCCEEDED


STEP_FUNCTIONS = {
    "open_for_acceptance": step_open_for_acceptance,
}
SUPPLIER_ORDER_STEP_FUNCTIONS = {
    "commit_stock": step_commit_stock,
    "book_courier": step_book_courier,
}


def step_run(*, order_id: int, step: str, task_id: str, enqueued_at: dt.datetime | None = None) -> str:
    """Run one attempt of the order's step and record it. Returns the StepRun status; raises
    TransientStepError (retry) or PermanentStepError (compensated: the order fails)."""
    ctx = step_begin(order_id=order_id, step=step, task_id=task_id, enqueued_at=enqueued_at)
    return _attempt(ctx, STEP_FUNCTIONS[step],
                    compensate=lambda reason: workflow_compensate(order_id=order_id, step=step, reason=reason))


def supplier_order_step_run(*, supplier_order_id: int, step: str, task_id: str,
                            enqueued_at: dt.datetime | None = None) -> str:
    """Run one attempt of a supplier order's step; a failure for good fails that supplier order
    alone (supplier_order_compensate)."""
    ctx = step_begin(order_id=None, step=step, task_id=task_id, enqueued_at=enqueued_at,
                     supplier_order_id=supplier_order_id)
    return _attempt(ctx, SUPPLIER_ORDER_STEP_FUNCTIONS[step], compensate=lambda reason: supplier_order_compensate(
        supplier_order_id=supplier_order_id, step=step, reason=reason))


def _attempt(ctx: StepContext, function, *, compensate) -> str:
    attempt = ctx.attempt
    try:
        status = function(ctx)
    except transient_errors() as exc:
        if attempt >= MAX_ATTEMPTS:
            step_finish(ctx, status=StepStatus.FAILED, error=f"gave up after {attempt} attempts: {exc}",
                        error_code=GAVE_UP)
            _step_record(ctx)
            compensate(str(exc))
            raise PermanentStepError(str(exc)) from exc
        step_finish(ctx, status=StepStatus.RETRYING, error=str(exc), error_code=exception_code(exc))
        _step_record(ctx)
        raise TransientStepError(str(exc)) from exc
    except Exception as exc:
        step_finish(ctx, status=StepStatus.FAILED, error=str(exc), error_code=exception_code(exc))
        _step_record(ctx)
        compensate(str(exc))
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


def supplier_order_compensate(*, supplier_order_id: int, step: str, reason: str) -> None:
    """One supplier order's step failed for good: its booking is cancelled at the courier
    (outside any transaction; idempotent), then it alone is cancelled, its stock given back and
    its share refunded (orders.services.supplier_order_fail)."""
    supplier_order = SupplierOrder.objects.select_related("shipment").get(pk=supplier_order_id)
    if supplier_order.status in {SupplierOrderStatus.DELIVERED, SupplierOrderStatus.REJECTED,
                                 SupplierOrderStatus.CANCELLED}:
        return
    if supplier_order.shipment_id:
        shipment_cancel(shipment=supplier_order.shipment)
    supplier_order_fail(supplier_order=supplier_order, reason=_readable_reason(step), step=step)
    logger.warning("supplier order failed and compensated",
                   extra={"supplier_order": supplier_order.number, "step": step, "error": reason})


def _readable_reason(step: str) -> str:
    return {
        "open_for_acceptance": gettext_noop("The order could not be sent to the suppliers; the payment is returned."),
        "commit_stock": gettext_noop("The supplier could no longer supply the parts; their share is refunded."),
        "book_courier": gettext_noop("No courier could take the shipment; its share is refunded."),
    }.get(step, gettext_noop("The order could not be fulfilled; the payment is returned."))


# --- partial refunds ---------------------------------------------------------------------

REFUND_SWEEP_AFTER = timedelta(minutes=10)


def refunds_send_due(*, now=None, limit: int = 100) -> list[int]:
    """Celery beat: partial refunds recorded but still not sent after REFUND_SWEEP_AFTER (a lost
    task, a gateway that kept failing) are sent again; idempotent at the gateway on their key."""
    now = now or timezone.now()
    sent = []
    for refund_id in (Refund.objects.filter(status=RefundStatus.REQUESTED, created_at__lt=now - REFUND_SWEEP_AFTER)
                      .order_by("created_at").values_list("pk", flat=True)[:limit]):
        try:
            payment_refund_send(refund_id=refund_id)
        except (GatewayUnavailable, GatewayCircuitOpen, GatewayRejected) as exc:
            logger.warning("refund not sent yet; next round", extra={"refund": refund_id, "code": exc.code})
            continue
        sent.append(refund_id)
    return sent


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
    """Picked up → the supplier order ships; delivered → it is delivered; the order follows
    (orders.services.order_follow_supplier_orders). Events may arrive late or twice: each move
    only goes forward."""
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
                          data={"supplier_order": supplier_order.number, "supplier": supplier_order.supplier.legal_name,
                                "waybill": payload.get("waybill")})
        notify_supplier_order_changed(supplier_order=supplier_order, kind=f"supplier_order_{target}")
        order_follow_supplier_orders(order=order)


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

