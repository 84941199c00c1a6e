"""Celery entry points of the analytics app: thin, named, safe to repeat."""

from __future__ import annotations

from celery import shared_task

from analytics import services


@shared_task(name="analytics.sales_days_refresh", ignore_result=True)
def sales_days_refresh_task(**kwargs) -> int | None:
    return services.sales_days_refresh_changed()
