"""Celery entry points of the order workflow: thin, idempotent, safe to deliver twice.
What each step does is in orders/workflow.py."""

from __future__ import annotations

from celery import shared_task

from okto88.celery import task_enqueued_at
from orders import services, workflow
from orders.models import Order


def _run_step(task, step: str, order_id: int):
    try:
        return workflow.step_run(order_id=order_id, step=step, task_id=task.request.id or "",
                                 enqueued_at=task_enqueued_at(task.request))
    except workflow.TransientStepError as exc:
        raise task.retry(exc=exc, countdown=workflow.retry_countdown(attempt=task.request.retries + 1,
                                                                     error=exc)) from exc


# max_retries=None: the number of attempts is counted in StepRun rows (workflow.MAX_ATTEMPTS),
# which also survives a chain re-driven by the reconciler.
@shared_task(name="orders.step_commit_stock", bind=True, max_retries=None)
def step_commit_stock(self, *, order_id: int, **kwargs):
    return _run_step(self, "commit_stock", order_id)


@shared_task(name="orders.step_request_shipments", bind=True, max_retries=None)
def step_request_shipments(self, *, order_id: int, **kwargs):
    return _run_step(self, "request_shipments", order_id)


@shared_task(name="orders.step_notify", bind=True, max_retries=None)
def step_notify(self, *, order_id: int, **kwargs):
    return _run_step(self, "notify", order_id)


@shared_task(name="orders.step_mark_in_fulfilment", bind=True, max_retries=None)
def step_mark_in_fulfilment(self, *, order_id: int, **kwargs):
    return _run_step(self, "mark_in_fulfilment", order_id)


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
