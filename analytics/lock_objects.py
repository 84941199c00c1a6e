"""Row locks of the analytics app: security alerts. A detection locks at most one alert of one
(detector, ident); an operator's answer locks the one alert answered."""

from __future__ import annotations

from analytics.models import SecurityAlert, SecurityAlertStatus


def security_alert_lock(*, alert_id: int) -> SecurityAlert:
    """Lock one alert (FOR UPDATE) and return it fresh. Must run inside a transaction."""
    return SecurityAlert.objects.select_for_update().get(pk=alert_id)


def security_alert_open_lock(*, detector: str, ident: str) -> SecurityAlert | None:
    """The open alert of (detector, ident), locked, or None (at most one: a partial unique constraint)."""
    return (SecurityAlert.objects.select_for_update()
            .filter(detector=detector, ident=ident, status=SecurityAlertStatus.OPEN).first())


def security_alert_muted_lock(*, detector: str, ident: str, now) -> SecurityAlert | None:
    """The alert of (detector, ident) whose mute lasts longest past `now`, locked, or None."""
    return (SecurityAlert.objects.select_for_update()
            .filter(detector=detector, ident=ident, status=SecurityAlertStatus.MUTED, muted_until__gt=now)
            .order_by("-muted_until").first())
