"""The workflow section of the operations view: where orders slow down or fail.

Up to 24 hours the step figures are computed from the workflow's own records in PostgreSQL,
exact: percentiles are SQL `percentile_cont` over the step runs that started in the period,
read from the covering index `step_run_started_cover`; the failures by error code from the
partial index `step_run_errors`. Longer periods (up to millions of step runs) read them from
the rollups of kinds step_wait (step,) and step_run (step, error_code) with the run's status as
outcome: counts exact per attempt recorded when it finished, percentiles estimated from the
hourly histograms.

The funnel of up to an hour is computed from the orders (`order_created_status`) plus the
timeline of the few that did not go straight through; of a longer period, its whole hours come
from the FunnelHour read model (the same rule) and the part-hours at either end from the orders.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.figures import Column, Figure
from analytics.periods import Period
from analytics.selectors.rollups import rollup_summary
from orders.models import Order, OrderStatus, RejectionReason, StepRun, StepStatus, SupplierOrderStatus
from orders.services import WORKFLOW_STEPS
from orders.timeline import order_event_text, order_event_title, order_step_title
from orders.workflow import REDRIVE_ANSWER_DEADLINE, REDRIVE_EXPIRE, REDRIVE_NONE, orders_stalled

ERROR_STATUSES = (StepStatus.RETRYING, StepStatus.FAILED)
QUANTILES = (0.5, 0.95, 0.99)
WORK_MEM = "64MB"

# Queue wait is clamped at 0: an enqueue time a little after the start can only be clock skew
# between the publishing and the consuming host. date_part, not EXTRACT: EXTRACT returns
# numeric, which sorts several times slower than float8.
_STEP_TIMES_SQL = """
    SELECT s.step, t.*
    FROM unnest(%(steps)s::text[]) AS s(step)
    CROSS JOIN LATERAL (
        SELECT COUNT(*) AS attempts,
               COUNT(*) FILTER (WHERE attempt > 1) AS retries,
               COUNT(*) FILTER (WHERE status = ANY(%(errors)s)) AS errors,
               COUNT(*) FILTER (WHERE status = %(failed)s) AS failed,
               COUNT(finished_at) AS finished,
               percentile_cont(%(quantiles)s::float8[]) WITHIN GROUP (
                   ORDER BY GREATEST(0, date_part('epoch', started_at - enqueued_at) * 1000)) AS wait_ms,
               percentile_cont(%(quantiles)s::float8[]) WITHIN GROUP (
                   ORDER BY date_part('epoch', finished_at - started_at) * 1000) AS run_ms
        FROM orders_steprun
        WHERE step = s.step AND started_at >= %(start)s AND started_at < %(end)s
    ) t
    WHERE t.attempts > 0
"""

_STEP_ERRORS_SQL = """
    SELECT step, error_code, COUNT(*) AS attempts, COUNT(*) FILTER (WHERE status = %(failed)s) AS failed
    FROM orders_steprun
    WHERE started_at >= %(start)s AND started_at < %(end)s AND status = ANY(%(errors)s)
    GROUP BY step, error_code
    ORDER BY attempts DESC, step, error_code
    LIMIT 100
"""

# The order funnel (analytics.models.FunnelHour): how far each order placed in the hour got (0
# placed, 1 paid, 2 stock committed, 3 shipments booked, 4 shipped, 5 delivered), and why an
# order that stopped was lost. Shipped and completed orders are read from their status alone;
# paid, in-fulfilment, cancelled and failed ones need their timeline (since issue 15 an order is
# in fulfilment while its suppliers answer and pack: committed and booked per supplier order,
# the furthest one counts): whether stock was committed,
# shipments booked, and for a failure the step and error code of its failed attempt (or the
# status it failed from). {where} selects the orders (over `o`, orders_order).
FUNNEL_HOUR_ROWS_SQL = """
    SELECT hour, CASE
             WHEN status IN ('pending_payment', 'expired') OR from_status = 'pending_payment' THEN 0
             WHEN status = 'shipped' THEN 4
             WHEN status = 'completed' THEN 5
             WHEN failed[1] IN ('commit_stock', 'open_for_acceptance') THEN 1
             WHEN failed[1] = 'request_shipments' THEN 2
             WHEN failed[1] IN ('notify', 'mark_in_fulfilment') THEN 3
             WHEN from_status = 'shipped' THEN 4
             ELSE 1 + committed::int + (committed AND booked)::int
           END::smallint AS level,
           status::varchar AS status, COALESCE(failed[1], '')::varchar AS failed_step,
           COALESCE(failed[2], '')::varchar AS error_code, COUNT(*)::bigint AS orders
    FROM (
        -- A CASE runs its subquery only for the rows that reach it: the few paid, cancelled, failed.
        SELECT date_trunc('hour', o.created_at, 'UTC') AS hour, o.status,
               CASE WHEN o.status IN ('cancelled', 'failed') THEN (
                   SELECT e.data->>'from' FROM orders_orderevent e
                   WHERE e.order_id = o.id AND e.kind = 'status.' || o.status ORDER BY e.id DESC LIMIT 1) END
                   AS from_status,
               -- LIMIT 1 rather than EXISTS, which the planner may turn into a hash of every
               -- such event: a probe per row is cheaper for the few rows that get here.
               CASE WHEN o.status IN ('paid', 'in_fulfilment', 'cancelled', 'failed') THEN COALESCE((
                   SELECT TRUE FROM orders_orderevent e WHERE e.order_id = o.id AND e.kind = 'stock_committed'
                   LIMIT 1), FALSE) END AS committed,
               CASE WHEN o.status IN ('paid', 'in_fulfilment', 'cancelled', 'failed') THEN COALESCE((
                   SELECT TRUE FROM orders_orderevent e WHERE e.order_id = o.id AND e.kind = 'shipment_booked'
                   LIMIT 1), FALSE) END AS booked,
               CASE WHEN o.status = 'failed' THEN (
                   SELECT ARRAY[r.step, r.error_code] FROM orders_steprun r
                   WHERE r.order_id = o.id AND r.status = 'failed' ORDER BY r.id DESC LIMIT 1) END AS failed
        FROM orders_order o
        WHERE {where}
        OFFSET 0  -- kept a subquery: each row's subqueries run once, not once per use above
    ) placed
    GROUP BY 1, 2, 3, 4, 5
"""

# The funnel of a short period is computed from the orders in it; of a longer one, the whole
# hours come from the FunnelHour read model (the same rule, refreshed with SalesDay) and only
# the part-hours at either end from the orders.
_FUNNEL_SQL = ("SELECT level, status, failed_step, error_code, sum(orders) FROM ("  # noqa: S608 - fixed fragments
               + FUNNEL_HOUR_ROWS_SQL.format(where="o.created_at >= %(start)s AND o.created_at < %(end)s")
               + ") AS placed GROUP BY 1, 2, 3, 4")
_FUNNEL_HOURS_SQL = """
    SELECT level, status, failed_step, error_code, sum(orders) FROM analytics_funnelhour
    WHERE hour >= %(start)s AND hour < %(end)s GROUP BY 1, 2, 3, 4
"""
# Longer periods read the step figures from the hourly rollups (kinds step_wait and step_run)
# rather than from millions of step runs.
EXACT_STEP_FIGURES_MAX = dt.timedelta(hours=24)
# Longer periods read the funnel's whole hours from FunnelHour (a day is ~35,000 orders at the
# benchmark's scale: ~200 ms from the orders, a few ms from the read model).
ORDERS_FUNNEL_MAX = dt.timedelta(hours=1)

FUNNEL_STAGES = (
    ("placed", _("Placed")),
    ("paid", _("Paid")),
    ("stock_committed", _("Stock committed")),
    ("shipments_booked", _("Shipments booked")),
    ("shipped", _("Shipped")),
    ("delivered", _("Delivered")),
)
LOST_STATUSES = {OrderStatus.EXPIRED, OrderStatus.CANCELLED, OrderStatus.FAILED}


def _ms(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _rows(sql: str, params: dict) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        # JIT compiling costs more than these queries run (their subqueries inflate the cost
        # estimate past jit_above_cost); a day of step runs sorts in memory with this work_mem.
        cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', %s, true)",
                       [WORK_MEM])
        cursor.execute(sql, params)
        return cursor.fetchall()


def _period_params(period: Period) -> dict:
    return {"start": period.start, "end": period.end, "errors": list(ERROR_STATUSES), "failed": StepStatus.FAILED,
            "quantiles": list(QUANTILES), "steps": list(WORKFLOW_STEPS)}


def _long(period: Period) -> bool:
    return period.end - period.start > EXACT_STEP_FIGURES_MAX


def _step_rows_estimated(period: Period) -> list[dict]:
    """Per step from the rollups: attempts are the finished ones (an attempt is recorded when
    it ends), retries the attempts that ended "retrying" (each is followed by one)."""
    runs = {summary.label: summary for summary in rollup_summary("step_run", period, group_by_label_index=0)}
    waits = {summary.label: summary for summary in rollup_summary("step_wait", period, group_by_label_index=0)}
    rows = []
    for step in WORKFLOW_STEPS:
        run, wait = runs.get(step), waits.get(step)
        if run is None or not run.count:
            continue
        retries = run.outcomes.get(StepStatus.RETRYING, 0)
        failed = run.outcomes.get(StepStatus.FAILED, 0)
        errors = retries + failed
        wait_ms = [wait.percentile(q) if wait else None for q in QUANTILES]
        run_ms = [run.percentile(q) for q in QUANTILES]
        rows.append({
            "step": step, "step_title": order_step_title(step=step), "attempts": run.count, "retries": retries,
            "errors": errors, "failed": failed, "error_rate": _percent(errors, run.count),
            "failure_rate": _percent(failed, run.count),
            "wait_p50": _ms(wait_ms[0]), "wait_p95": _ms(wait_ms[1]), "wait_p99": _ms(wait_ms[2]),
            "run_p50": _ms(run_ms[0]), "run_p95": _ms(run_ms[1]), "run_p99": _ms(run_ms[2]),
        })
    return rows


def step_times_figure(*, period: Period) -> Figure:
    if _long(period):
        rows = _step_rows_estimated(period)
        note = _("Attempts that finished in the period, counted from the hourly rollups; percentiles estimated "
                 "from hourly histograms (exact for periods up to 24 hours). Queue wait: from the moment the task "
                 "was due to its start; run time: start to end. Retries: attempts that ended with a retry scheduled. "
                 "Error rate: attempts that ended in an error (retried or not); failure rate: attempts that failed "
                 "for good.")
    else:
        rows = _step_rows_exact(period)
        note = _("Attempts that started in the period. Queue wait: from the moment the task was due (sent, or its "
                 "retry time) to its start; run time: start to end of finished attempts. A retry is an attempt "
                 "after the first. Error rate: finished attempts that ended in an error (retried or not); failure "
                 "rate: finished attempts that failed for good.")
    return Figure(
        key="step_times", title=_("Step timings"),
        columns=(
            Column("step_title", _("Step")), Column("step", _("Step code")),
            Column("attempts", _("Attempts"), "int"), Column("retries", _("Retries"), "int"),
            Column("errors", _("Attempts with an error"), "int"), Column("failed", _("Failed for good"), "int"),
            Column("error_rate", _("Error rate"), "percent"), Column("failure_rate", _("Failure rate"), "percent"),
            Column("wait_p50", _("Queue wait p50"), "ms"), Column("wait_p95", _("Queue wait p95"), "ms"),
            Column("wait_p99", _("Queue wait p99"), "ms"),
            Column("run_p50", _("Run time p50"), "ms"), Column("run_p95", _("Run time p95"), "ms"),
            Column("run_p99", _("Run time p99"), "ms"),
        ),
        rows=rows, chart="hbar", x="step_title", series=("wait_p95", "run_p95"), note=note,
        extra={"estimated": _long(period)},
    )


def _step_rows_exact(period: Period) -> list[dict]:
    rows = []
    for step, attempts, retries, errors, failed, finished, wait, run in _rows(_STEP_TIMES_SQL,
                                                                              _period_params(period)):
        wait, run = wait or (None,) * 3, run or (None,) * 3
        rows.append({
            "step": step, "step_title": order_step_title(step=step), "attempts": attempts, "retries": retries,
            "errors": errors, "failed": failed, "error_rate": _percent(errors, finished),
            "failure_rate": _percent(failed, finished),
            "wait_p50": _ms(wait[0]), "wait_p95": _ms(wait[1]), "wait_p99": _ms(wait[2]),
            "run_p50": _ms(run[0]), "run_p95": _ms(run[1]), "run_p99": _ms(run[2]),
        })
    return rows


def _step_errors_estimated(period: Period) -> list[tuple[str, str, int, int]]:
    found = []
    for summary in rollup_summary("step_run", period, group_by_label_index=(0, 1)):
        attempts = sum(summary.outcomes.get(status, 0) for status in ERROR_STATUSES)
        if attempts:
            step, code = (*summary.labels, "")[:2]
            found.append((step, code or "", attempts, summary.outcomes.get(StepStatus.FAILED, 0)))
    return sorted(found, key=lambda row: (-row[2], row[0], row[1]))[:100]


def step_errors_figure(*, period: Period) -> Figure:
    found = _step_errors_estimated(period) if _long(period) else _rows(_STEP_ERRORS_SQL, _period_params(period))
    rows = [{"error": f"{step} · {code or '—'}", "step": step, "step_title": order_step_title(step=step),
             "error_code": code, "attempts": attempts, "failed": failed}
            for step, code, attempts, failed in found]
    return Figure(
        key="step_errors", title=_("Failures by step and error code"),
        columns=(
            Column("error", _("Step and code")), Column("step_title", _("Step")), Column("step", _("Step code")),
            Column("error_code", _("Error code")), Column("attempts", _("Attempts with this error"), "int"),
            Column("failed", _("Of which failed for good"), "int"),
        ),
        rows=rows, chart="hbar", x="error", series=("attempts",),
        note=(_("Attempts that finished in the period with an error, counted from the hourly rollups; \"gave_up\" is "
                "the last attempt of a step that kept failing.") if _long(period) else
              _("Attempts that started in the period and ended in an error; \"gave_up\" is the last attempt of a "
                "step that kept failing.")),
        extra={"estimated": _long(period)},
    )


def _loss_reason(status: str) -> str:
    return str({OrderStatus.EXPIRED: _("Expired"), OrderStatus.CANCELLED: _("Cancelled"),
                OrderStatus.FAILED: _("Failed")}[status])


def _hour_ceil(moment: dt.datetime) -> dt.datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + dt.timedelta(hours=1)


def _funnel_counts(period: Period) -> list[tuple]:
    """(level, status, failed step, error code, orders) of the orders placed in the period."""
    if period.end - period.start <= ORDERS_FUNNEL_MAX:
        return _rows(_FUNNEL_SQL, _period_params(period))
    # Whole hours (UTC and Asia/Jakarta hours start together) from the read model.
    first_hour, last_hour = _hour_ceil(period.start), period.end.replace(minute=0, second=0, microsecond=0)
    found = _rows(_FUNNEL_HOURS_SQL, {"start": first_hour, "end": last_hour})
    for start, end in ((period.start, first_hour), (last_hour, period.end)):
        if start < end:
            found += _rows(_FUNNEL_SQL, {"start": start, "end": end})
    return found


def funnel_figures(*, period: Period) -> list[Figure]:
    """The funnel of the orders placed in the period, and where the lost ones were lost."""
    reached = [0] * len(FUNNEL_STAGES)
    in_progress = [0] * len(FUNNEL_STAGES)
    lost = [0] * len(FUNNEL_STAGES)
    losses: dict[tuple[int, str, str, str], int] = {}
    for level, status, failed_step, code, count in _funnel_counts(period):
        count = int(count)
        for stage in range(level + 1):
            reached[stage] += count
        if level + 1 >= len(FUNNEL_STAGES):
            continue
        if status in LOST_STATUSES:
            lost[level + 1] += count
            key = (level + 1, status, failed_step if status == OrderStatus.FAILED else "", code)
            losses[key] = losses.get(key, 0) + count
        else:
            in_progress[level + 1] += count
    placed = reached[0]
    funnel_rows = [{"stage": stage, "stage_title": str(title), "orders": reached[i], "lost": lost[i],
                    "in_progress": in_progress[i], "share": _percent(reached[i], placed)}
                   for i, (stage, title) in enumerate(FUNNEL_STAGES)]
    loss_rows = [{"stage": FUNNEL_STAGES[stage][0], "stage_title": str(FUNNEL_STAGES[stage][1]), "reason": status,
                  "reason_title": _loss_reason(status), "step": step, "error_code": code, "orders": count}
                 for (stage, status, step, code), count in sorted(losses.items(), key=lambda item: (item[0][0],
                                                                                                   -item[1]))]
    return [
        Figure(
            key="funnel", title=_("Order funnel"),
            columns=(Column("stage_title", _("Stage")), Column("stage", _("Stage code")),
                     Column("orders", _("Orders that got there"), "int"), Column("share", _("Of placed"), "percent"),
                     Column("lost", _("Lost before it"), "int"), Column("in_progress", _("Still on the way"), "int")),
            rows=funnel_rows, chart="funnel", x="stage_title", series=("orders",),
            note=(_("Orders placed in the period, by the furthest stage each reached; whole hours from the funnel "
                    "figures per hour, refreshed every few minutes with the business figures.")
                  if period.end - period.start > ORDERS_FUNNEL_MAX
                  else _("Orders placed in the period, by the furthest stage each reached.")),
        ),
        Figure(
            key="funnel_losses", title=_("Where orders were lost"),
            columns=(Column("stage_title", _("Lost before")), Column("stage", _("Stage code")),
                     Column("reason_title", _("Reason")), Column("reason", _("Reason code")),
                     Column("step", _("Failed step")), Column("error_code", _("Error code")),
                     Column("orders", _("Orders"), "int")),
            rows=loss_rows,
            note=_("Orders placed in the period that expired, were cancelled or failed, by the stage they did not "
                   "reach; a failure names the step and the error code of its failed attempt."),
        ),
    ]


def order_timeline_path(number: str) -> str:
    try:
        return reverse("analytics:order_timeline", args=[number])
    except NoReverseMatch:
        return f"/ops/orders/{number}/"


def _redrive_title(redrive: str) -> str:
    if redrive == REDRIVE_EXPIRE:
        return str(_("Expire it (the payment window is over)"))
    if redrive == REDRIVE_NONE:
        return str(_("Not re-drivable: no courier tracking lookup exists; ask the courier"))
    if redrive == REDRIVE_ANSWER_DEADLINE:
        return str(_("Reject the unanswered supplier order (its deadline is over)"))
    return str(_("Restart from: %(step)s") % {"step": order_step_title(step=redrive)})


def stalled_orders_figure(*, now: dt.datetime | None = None, limit: int = 200) -> Figure:
    now = now or timezone.now()
    statuses = dict(OrderStatus.choices)
    rows = [{"number": stalled.number, "status": stalled.status, "status_title": str(statuses.get(stalled.status)),
             "since": stalled.since, "deadline": stalled.deadline,
             "overdue_minutes": round(stalled.overdue.total_seconds() / 60, 1),
             "redrive": stalled.redrive, "redrive_title": _redrive_title(stalled.redrive),
             "timeline": order_timeline_path(stalled.number)}
            for stalled in orders_stalled(now=now, limit=limit)]
    return Figure(
        key="stalled", title=_("Stalled orders"),
        columns=(Column("number", _("Order")), Column("status_title", _("Status")), Column("status", _("Status code")),
                 Column("since", _("Waiting since"), "datetime"), Column("deadline", _("Deadline"), "datetime"),
                 Column("overdue_minutes", _("Overdue (minutes)"), "number"),
                 Column("redrive_title", _("A re-drive would")), Column("redrive", _("Re-drive code")),
                 Column("timeline", _("Timeline"), "link")),
        rows=rows,
        note=_("Orders past their state's deadline now, the longest overdue first: unpaid past the payment window "
               "(the expiry sweep should have closed them), paid with no step activity for the workflow's stall "
               "time, shipped and not delivered within the shipping deadline."),
        extra={"limit": limit},
    )


# How each supplier answers its supplier orders (orders.services.fulfilment): those answered in
# the period (decided_at, index supplier_order_decided), the time from being sent to the supplier
# to its answer (no-answer rejections left out: the deadline answered them), and what it rejected.
_SUPPLIER_ANSWERS_SQL = """
    SELECT s.id, s.legal_name, COUNT(*) AS answered,
           COUNT(*) FILTER (WHERE so.status = %(rejected)s AND so.rejection_reason <> %(no_answer)s) AS rejected,
           COUNT(*) FILTER (WHERE so.rejection_reason = %(no_answer)s) AS unanswered,
           COUNT(*) FILTER (WHERE so.status <> %(rejected)s AND units.rejected > 0) AS partly,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM so.decided_at - so.opened_at))
               FILTER (WHERE so.rejection_reason <> %(no_answer)s) AS p50_s,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM so.decided_at - so.opened_at))
               FILTER (WHERE so.rejection_reason <> %(no_answer)s) AS p95_s,
           SUM(units.ordered) AS ordered_units, SUM(units.rejected) AS rejected_units
    FROM orders_supplierorder so
    JOIN suppliers_supplier s ON s.id = so.supplier_id
    CROSS JOIN LATERAL (SELECT SUM(l.quantity) AS ordered, SUM(l.rejected_quantity) AS rejected
                        FROM orders_orderline l WHERE l.supplier_order_id = so.id) units
    WHERE so.decided_at >= %(start)s AND so.decided_at < %(end)s AND so.opened_at IS NOT NULL
    GROUP BY s.id, s.legal_name
    ORDER BY answered DESC, s.legal_name
    LIMIT %(limit)s
"""


def _hours(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 2)


def supplier_answers_figure(*, period: Period, limit: int = 50) -> Figure:
    rows = []
    for (supplier_id, name, answered, rejected, unanswered, partly, p50_s, p95_s, ordered_units,
         rejected_units) in _rows(_SUPPLIER_ANSWERS_SQL, {**_period_params(period), "limit": limit,
                                                          "rejected": SupplierOrderStatus.REJECTED,
                                                          "no_answer": RejectionReason.NO_ANSWER}):
        rows.append({"supplier": name, "supplier_id": supplier_id, "answered": answered, "rejected": rejected,
                     "unanswered": unanswered, "partly": partly,
                     "rejection_rate": _percent(rejected + unanswered + partly, answered),
                     "unit_rejection_rate": _percent(int(rejected_units or 0), int(ordered_units or 0)),
                     "answer_p50_h": _hours(p50_s), "answer_p95_h": _hours(p95_s)})
    return Figure(
        key="supplier_answers", title=_("Suppliers' answers"),
        columns=(Column("supplier", _("Supplier")), Column("supplier_id", _("Supplier id"), "int"),
                 Column("answered", _("Supplier orders answered"), "int"),
                 Column("partly", _("Accepted in part"), "int"), Column("rejected", _("Rejected"), "int"),
                 Column("unanswered", _("Not answered in time"), "int"),
                 Column("rejection_rate", _("Rejection rate (supplier orders)"), "percent"),
                 Column("unit_rejection_rate", _("Rejection rate (units)"), "percent"),
                 Column("answer_p50_h", _("Time to answer p50 (hours)"), "number"),
                 Column("answer_p95_h", _("Time to answer p95 (hours)"), "number")),
        rows=rows, chart="hbar", x="supplier", series=("answer_p50_h", "answer_p95_h"),
        note=_("Supplier orders answered in the period, by supplier (the 50 with the most answers). Time to "
               "answer: from the moment the paid order was sent to the supplier to its acceptance or rejection, "
               "in clock hours (not answered in time left out). Rejection rate: supplier orders rejected whole, "
               "in part or for want of an answer, of those answered; of units, the units rejected of those "
               "ordered."),
    )


def workflow_figures(*, period: Period) -> list[Figure]:
    return [step_times_figure(period=period), step_errors_figure(period=period), *funnel_figures(period=period),
            supplier_answers_figure(period=period), stalled_orders_figure()]


# A timeline bar's phase and an attempt's status in the reader's language, beside their codes.
PHASE_TITLES = {"wait": _("Queue wait"), "run": _("Run")}
STEP_STATUS_TITLES = dict(StepStatus.choices)


def _since_placed_ms(moment: dt.datetime | None, placed: dt.datetime) -> float | None:
    return None if moment is None else round((moment - placed).total_seconds() * 1000, 1)


def order_timeline_figures(*, order_number: str, now: dt.datetime | None = None) -> list[Figure] | None:
    """One order's step attempts as bars (queue wait, then run) from its placement, and its
    timeline events; None when no order has that number."""
    order = Order.objects.filter(number=order_number).only("pk", "number", "created_at").first()
    if order is None:
        return None
    now = now or timezone.now()
    placed = order.created_at
    bars = []
    runs = StepRun.objects.filter(order=order).order_by("started_at", "pk").values(
        "step", "attempt", "status", "enqueued_at", "started_at", "finished_at", "error_code")[:500]
    for run in runs:
        common = {"lane": run["step"], "lane_title": order_step_title(step=run["step"]), "attempt": run["attempt"],
                  "status": run["status"], "status_title": STEP_STATUS_TITLES.get(run["status"], run["status"]),
                  "error_code": run["error_code"]}
        if run["enqueued_at"] is not None:
            start, end = _since_placed_ms(run["enqueued_at"], placed), _since_placed_ms(run["started_at"], placed)
            bars.append({**common, "kind": "wait", "kind_title": PHASE_TITLES["wait"], "start_ms": start,
                         "end_ms": max(start, end), "duration_ms": round(max(0.0, end - start), 1)})
        start = _since_placed_ms(run["started_at"], placed)
        end = _since_placed_ms(run["finished_at"] or now, placed)
        bars.append({**common, "kind": "run", "kind_title": PHASE_TITLES["run"], "start_ms": start, "end_ms": end,
                     "duration_ms": round(end - start, 1)})
    events = [{"created_at": event.created_at, "at_ms": _since_placed_ms(event.created_at, placed),
               "kind": event.kind, "title": order_event_title(kind=event.kind), "step": event.step,
               "text": order_event_text(event=event)}
              for event in order.events.order_by("created_at", "id")[:500]]
    return [
        Figure(
            key="timeline", title=_("Step attempts of order %(number)s") % {"number": order.number},
            columns=(Column("lane_title", _("Step")), Column("lane", _("Step code")),
                     Column("attempt", _("Attempt"), "int"),
                     Column("kind_title", _("Phase")), Column("kind", _("Phase code")),
                     Column("start_ms", _("From (ms after placing)"), "ms"),
                     Column("end_ms", _("To (ms after placing)"), "ms"), Column("duration_ms", _("Duration"), "ms"),
                     Column("status_title", _("Status")), Column("status", _("Status code")),
                     Column("error_code", _("Error code"))),
            rows=bars, chart="timeline", x="lane_title",
            note=_("Each attempt of each step: the queue wait (due to started) and the run (started to finished; a "
                   "running attempt ends now), in milliseconds after the order was placed. Retries and failures "
                   "carry their status and error code."),
            extra={"placed_at": placed.isoformat(), "marked_statuses": [StepStatus.RETRYING, StepStatus.FAILED,
                                                                        StepStatus.RUNNING]},
        ),
        Figure(
            key="events", title=_("Timeline of order %(number)s") % {"number": order.number},
            columns=(Column("created_at", _("When"), "datetime"), Column("at_ms", _("ms after placing"), "ms"),
                     Column("title", _("Event")), Column("kind", _("Event code")), Column("step", _("Step")),
                     Column("text", _("Text"))),
            rows=events,
        ),
    ]
