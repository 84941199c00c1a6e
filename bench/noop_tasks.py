"""No-op tasks for the floor of bench/order_bench.py: the order workflow's chain shape (four
tasks chained with immutable signatures, `order_id` keyword, the project's Celery settings:
acks_late, prefetch 1, the same broker and queue) with nothing inside. The worker loads them
with `-I bench.noop_tasks`. The last link counts finished chains in Redis, so the bench can
tell when the last one ended (one INCR and one SET: far below the cost of a task)."""

from __future__ import annotations

import time

from celery import shared_task

from okto88.redis_connection import redis_client


def done_key(run: str) -> str:
    return f"orderbench:{run}:done"


def last_key(run: str) -> str:
    return f"orderbench:{run}:last"


@shared_task(name="bench.noop_step", bind=True, max_retries=None)
def noop_step(self, *, order_id: int, **kwargs) -> str:
    return "succeeded"


@shared_task(name="bench.noop_done", bind=True, max_retries=None)
def noop_done(self, *, order_id: int, run: str = "floor", **kwargs) -> str:
    client = redis_client()
    client.incr(done_key(run))
    client.set(last_key(run), repr(time.time()))
    return "succeeded"
