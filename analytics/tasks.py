"""Celery entry points of the analytics app: thin, named, safe to repeat."""

from __future__ import annotations

import logging

from celery import shared_task

from analytics import services

logger = logging.getLogger(__name__)


@shared_task(name="analytics.rollups_flush", ignore_result=True)
def rollups_flush_task(**kwargs) -> dict[str, int]:
    done = services.rollups_maintain()
    logger.info("rollups maintained", extra=done)
    return done


@shared_task(name="analytics.sales_days_refresh", ignore_result=True)
def sales_days_refresh_task(**kwargs) -> int | None:
    return services.sales_days_refresh_changed()


@shared_task(name="analytics.security_traffic_detect", ignore_result=True)
def security_traffic_detect_task(**kwargs) -> int:
    return len(services.security_traffic_detect())


@shared_task(name="analytics.client_traffic_rollup", ignore_result=True)
def client_traffic_rollup_task(**kwargs) -> dict[str, int]:
    done = services.client_traffic_rollup()
    logger.info("client traffic rolled up", extra=done)
    return done


@shared_task(name="analytics.client_baselines_refresh", ignore_result=True)
def client_baselines_refresh_task(**kwargs) -> int:
    return services.client_baselines_refresh()


def login_lockout_alert(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """django-axes' user_locked_out (sent once, by the failure that sets a lock; analytics.apps
    connects it): an alert for the address. The lock itself is the enforcement."""
    if not ip_address:
        return
    try:
        services.security_alert_raise(
            detector="login_lockout", ident=f"ip:{ip_address}", mode="enforce",
            details={"account": (username or "")[:120], "path": (getattr(request, "path", "") or "")[:120]})
    except Exception:  # the login answer (the 429 page) must not fail because an alert could not be written
        logger.warning("login lockout alert not recorded", exc_info=True)
