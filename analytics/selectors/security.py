"""Reads of the security alerts (analytics.models.SecurityAlert) for the operations view and its API."""

from __future__ import annotations

from django.db.models import Case, IntegerField, QuerySet, Value, When

from analytics.models import SecurityAlert, SecurityAlertStatus


def security_alerts_open_count() -> int:
    return SecurityAlert.objects.filter(status=SecurityAlertStatus.OPEN).count()


def security_alerts_list(*, status: str = "", detector: str = "") -> QuerySet[SecurityAlert]:
    """The alerts, open ones first, then the most recently seen; optionally of one status and/or
    one detector (values the caller has checked against the choices)."""
    alerts = SecurityAlert.objects.select_related("acknowledged_by")
    if status:
        alerts = alerts.filter(status=status)
    if detector:
        alerts = alerts.filter(detector=detector)
    open_first = Case(When(status=SecurityAlertStatus.OPEN, then=Value(0)), default=Value(1),
                      output_field=IntegerField())
    return alerts.order_by(open_first, "-last_seen_at", "-pk")


def security_alert_get(*, alert_id) -> SecurityAlert | None:
    try:
        return SecurityAlert.objects.filter(pk=int(alert_id)).first()
    except (TypeError, ValueError):
        return None
