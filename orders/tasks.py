"""Celery entry points of the order workflow: thin, idempotent, safe to deliver twice.
What each step does is in orders/workflow.py."""

from __future__ import annotations

from celery import shared_task

from okto88.celery import task_enqueued_at
from orders import services, workflow
from orders.models import Order
from payments.errors import GatewayCircuitOpen, GatewayRejected, GatewayUnavailable
from payments.services import payment_refund_send


def _run_step(task, step: str, order_id: int):
    try:
        return workflow.step_run(order_id=order_id, step=step, task_id=task.request.id or "",
                                 enqueued_at=task_enqueued_at(task.request))
    except workflow.TransientStepError as exc:
        raise task.retry(exc=exc, countdown=workflow.retry_countdown(attempt=task.request.retries + 1,
                                                                     error=exc)) from exc


# max_retries=None: the number of attempts is counted in StepRun rows (workflow.MAX_ATTEMPTS),
# which also survives a chain re-driven by the reconciler.
@shared_task(name="orders.step_open_for_acceptance", bind=True, max_retries=None)
def step_open_for_acceptance(self, *, order_id: int, **kwargs):
    return _run_step(self, "open_for_acceptance", order_id)


def _run_supplier_order_step(task, step: str, supplier_order_id: int):
    try:
        return workflow.supplier_order_step_run(supplier_order_id=supplier_order_id, step=step,
                                                task_id=task.request.id or "",
                                                enqueued_at=task_enqueued_at(task.request))
    except workflow.TransientStepError as exc:
        raise task.retry(exc=exc, countdown=workflow.retry_countdown(attempt=task.request.retries + 1,
                                                                     error=exc)) from exc


@shared_task(name="orders.supplier_order_step_commit_stock", bind=True, max_retries=None)
def supplier_order_step_commit_stock(self, *, supplier_order_id: int, **kwargs):
    return _run_supplier_order_step(self, "commit_stock", supplier_order_id)


@shared_task(name="orders.supplier_order_step_book_courier", bind=True, max_retries=None)
def supplier_order_step_book_courier(self, *, supplier_order_id: int, **kwargs):
    return _run_supplier_order_step(self, "book_courier", supplier_order_id)


@shared_task(name="orders.supplier_orders_reject_overdue", ignore_result=True)
def supplier_orders_reject_overdue(**kwargs) -> list[str]:
    return services.supplier_orders_reject_overdue()


@shared_task(name="orders.refund_send", bind=True, ignore_result=True, max_retries=8)
def refund_send(self, *, refund_id: int, attempt: int = 1, **kwargs) -> None:
    """Send a partial refund; retried with backoff, then left to the sweep (refunds_send_due)."""
    try:
        payment_refund_send(refund_id=refund_id)
    except (GatewayUnavailable, GatewayCircuitOpen, GatewayRejected) as exc:
        raise self.retry(exc=exc, countdown=services.payment_return_backoff_seconds(self.request.retries + 2)) from exc


@shared_task(name="orders.refunds_sweep", ignore_result=True)
def refunds_sweep(**kwargs) -> list[int]:
    return workflow.refunds_send_due()


@shared_task(name="orders.on_payment_event", ignore_result=True)
def on_payment_event(*, topic: str, payload: dict, **kwargs) -> None:
    workflow.on_payment_event(topic=topic, payload=payload)


@shared_task(name="orders.on_shipment_event", ignore_result=True)
def on_shipment_event(*, topic: str, payload: dict, **kwargs) -> None:
    workflow.on_shipment_event(topic=topic, payload=payload)


@shared_task(name="orders.payment_return", ignore_result=True)
def payment_return(*, order_id: int, attempt: int = 1, **kwargs) -> None:
    # The service writes the outcome on the order's timeline and schedules the next attempt.
    order = Order.objects.filter(pk=order_id).first()
    if order is not None:
        services.order_payment_return(order=order, attempt=attempt)


@shared_task(name="orders.payment_returns_sweep", ignore_result=True)
def payment_returns_sweep(**kwargs) -> list[str]:
    return workflow.payment_returns_sweep()


@shared_task(name="orders.expire_unpaid", ignore_result=True)
def expire_unpaid(**kwargs) -> list[str]:
    return workflow.orders_expire_unpaid()


@shared_task(name="orders.reconcile", ignore_result=True)
def reconcile(**kwargs) -> list[str]:
    return workflow.workflow_reconcile()
