"""The analytics app's events: the `security.alert` topic (analytics.services.security_alerts
writes it when a new security alert opens) and its payload builder.

The topic has no audience: it is the platform's own, for operators' tools reading the Redis
stream; no partner receives it by webhook or in the events feed, not even the client it is about."""

from __future__ import annotations

from typing import Any

from analytics.models import SecurityAlert, SecurityAlertAction, SecurityAlertMode, SecurityDetector
from okto88.events import EventTopic, event_topics_register, prop

# The JSON types a detail figure may have (analytics.services.security_alerts checks them on the way in).
DETAIL_VALUE_TYPES = ["string", "number", "integer", "boolean", "null", "array"]


def security_alert_payload(*, alert: SecurityAlert) -> dict[str, Any]:
    return {"alert_id": alert.pk, "detector": alert.detector, "ident": alert.ident, "mode": alert.mode,
            "action_taken": alert.action_taken, "first_seen_at": alert.first_seen_at.isoformat(),
            "details": dict(alert.details)}


SECURITY_ALERT = EventTopic(
    name="security.alert", version=1, aggregate_type="security_alert",
    producer="analytics.services.security_alerts.security_alert_raise",
    builder="analytics.events.security_alert_payload",
    summary="A new security alert opened: a detector saw a client, user or address behave abnormally. "
            "Further detections while it is open, acknowledged or muted write no event.",
    notes="Operators only: the topic has no audience, so no partner's webhook or events feed carries it.",
    payload={
        "alert_id": prop("integer", "The alert's id (also the event's aggregate_id)."),
        "detector": prop("string", "Which detector saw it.", enum=list(SecurityDetector.values)),
        "ident": prop("string", "Who: `client:<id>`, `user:<id>` or `ip:<address>`.", maxLength=120),
        "mode": prop("string", "`log`: only recorded; `enforce`: the platform acted.",
                     enum=list(SecurityAlertMode.values)),
        "action_taken": prop("string", "What the platform did (empty: nothing).",
                             enum=list(SecurityAlertAction.values)),
        "first_seen_at": prop("string", "When the detector first saw it (UTC, ISO 8601).", format="date-time"),
        "details": prop("object", "The figures that triggered it (count, baseline median and MAD, z-score, "
                                  "distinct ids, route, …); never a secret.",
                        additionalProperties={"type": DETAIL_VALUE_TYPES}),
    },
)

event_topics_register(SECURITY_ALERT)
