"""Security alerts: raising one when a detector sees abnormal behaviour, acknowledging and muting it.

The detectors (and the login lockout) call `security_alert_raise`; operators acknowledge or
mute on /ops/security/. The rules:

- At most one open alert per (detector, ident). A detection while one is open counts another
  occurrence on it (last_seen_at, occurrences, the latest figures merged into details) and tells
  nobody again.
- A new alert writes the `security.alert` outbox event (operators only, analytics.events) and,
  after commit, e-mails every active operator (staff user) in their own language.
- Acknowledged: the operator has seen it; the next detection opens a new alert (and mails again).
- Muted: until muted_until a detection opens nothing and mails nobody; it is still counted on
  the muted alert (occurrences, last_seen_at, details), so the page shows the behaviour went on.
  After muted_until the next detection opens a new alert.
- Muting silences the alerts only: whatever the detector enforced (a tightened throttle, a
  suspended key) is the detector's business and is reported in `action_taken`.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from analytics.events import security_alert_payload
from analytics.lock_objects import security_alert_lock, security_alert_muted_lock, security_alert_open_lock
from analytics.models import (
    SecurityAlert,
    SecurityAlertAction,
    SecurityAlertMode,
    SecurityAlertStatus,
    SecurityDetector,
)
from okto88.models import User
from okto88.services import outbox_event_write

SECURITY_ALERT_TOPIC = "security.alert"

# Bounds of what a detector may record (details are figures, not evidence dumps).
IDENT_PATTERN = re.compile(r"^(client|user|ip):\S+$")
IDENT_MAX_LENGTH = 120  # SecurityAlert.ident
DETAILS_MAX_KEYS = 30
DETAILS_MAX_KEY_LENGTH = 40
DETAILS_MAX_TEXT = 300
DETAILS_MAX_LIST = 50
DETAILS_MAX_BYTES = 8 * 1024
# A detail whose name says it may hold a secret is refused, whatever its value.
SECRET_WORDS = ("secret", "password", "token", "authorization", "cookie", "api_key", "apikey", "raw_key",
                "signature", "session")

MUTE_MIN_HOURS = 1
MUTE_MAX_HOURS = 720  # 30 days

JAKARTA_TIME_FORMAT = "DATETIME_FORMAT"
SECURITY_PAGE_PATH = "/ops/security/"  # analytics.urls (services do not import interfaces)


def _detail_value_ok(value) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return len(value) <= DETAILS_MAX_TEXT
    if isinstance(value, list | tuple):
        return len(value) <= DETAILS_MAX_LIST and all(
            v is None or isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= DETAILS_MAX_TEXT)
            for v in value)
    return False


def security_alert_details_check(details: dict) -> dict:
    """`details` as stored: a flat dict of figures (numbers, short texts, short lists of them).
    Raises ValueError for anything else: more than DETAILS_MAX_KEYS figures, a long key or text,
    a nested object, a key that names a secret, more than DETAILS_MAX_BYTES of JSON."""
    if not isinstance(details, dict):
        raise ValueError("security alert details must be a dict of figures")
    if len(details) > DETAILS_MAX_KEYS:
        raise ValueError(f"security alert details hold at most {DETAILS_MAX_KEYS} figures")
    clean = {}
    for key, value in details.items():
        if not isinstance(key, str) or not key or len(key) > DETAILS_MAX_KEY_LENGTH:
            raise ValueError(f"security alert detail name {key!r} is not a short text")
        if any(word in key.lower() for word in SECRET_WORDS):
            raise ValueError(f"security alert detail {key!r} may hold a secret: details hold figures only")
        if not _detail_value_ok(value):
            raise ValueError(f"security alert detail {key!r} is not a number, a short text or a short list")
        clean[key] = list(value) if isinstance(value, tuple) else value
    if len(json.dumps(clean)) > DETAILS_MAX_BYTES:
        raise ValueError(f"security alert details exceed {DETAILS_MAX_BYTES} bytes")
    return clean


def _check(*, detector: str, ident: str, mode: str, action_taken: str) -> None:
    if detector not in SecurityDetector.values:
        raise ValueError(f"unknown security detector {detector!r}")
    if not isinstance(ident, str) or len(ident) > IDENT_MAX_LENGTH or not IDENT_PATTERN.match(ident):
        raise ValueError(f"security alert ident {ident!r} is not client:<id>, user:<id> or ip:<address>")
    if mode not in SecurityAlertMode.values:
        raise ValueError(f"unknown security alert mode {mode!r}")
    if action_taken not in SecurityAlertAction.values:
        raise ValueError(f"unknown security alert action {action_taken!r}")


def _count_again(alert: SecurityAlert, *, now, details: dict, action_taken: str) -> SecurityAlert:
    """Another detection on a locked alert row: one more occurrence, the latest figures."""
    alert.occurrences = F("occurrences") + 1
    alert.last_seen_at = now
    alert.details = {**alert.details, **details}
    fields = ["occurrences", "last_seen_at", "details"]
    # The strongest action wins: a suspended key is not downgraded by a later throttle.
    downgrade = (alert.action_taken == SecurityAlertAction.KEY_SUSPENDED
                 and action_taken == SecurityAlertAction.THROTTLE_TIGHTENED)
    if action_taken and alert.action_taken != action_taken and not downgrade:
        alert.action_taken = action_taken
        fields.append("action_taken")
    alert.save(update_fields=fields)
    alert.refresh_from_db(fields=["occurrences"])
    return alert


def security_alert_raise(*, detector: str, ident: str, mode: str, details: dict,
                         action_taken: str = "") -> SecurityAlert | None:
    """Record one detection. Returns the open alert (new, or the one already open for this
    detector and ident, with one more occurrence), or None when a mute of (detector, ident) is
    in force (the detection is then counted on the muted alert, nobody is told).

    Only a new alert writes the `security.alert` event and mails the operators (after commit).
    Safe to call from two processes at once: the partial unique constraint lets one of them
    insert; the other counts its detection on the row the first inserted. May be called
    inside the caller's transaction (the mails then wait for the caller's commit).
    Raises ValueError for an unknown detector, mode or action, a malformed ident, or details
    that are not a small flat dict of figures (security_alert_details_check)."""
    _check(detector=detector, ident=ident, mode=mode, action_taken=action_taken)
    details = security_alert_details_check(details)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _raise_once(detector=detector, ident=ident, mode=mode, details=details,
                                   action_taken=action_taken)
        except IntegrityError:
            # Another process opened the alert between our look and our insert; look again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _raise_once(*, detector: str, ident: str, mode: str, details: dict, action_taken: str) -> SecurityAlert | None:
    now = timezone.now()
    open_alert = security_alert_open_lock(detector=detector, ident=ident)
    if open_alert is not None:
        return _count_again(open_alert, now=now, details=details, action_taken=action_taken)
    muted = security_alert_muted_lock(detector=detector, ident=ident, now=now)
    if muted is not None:
        _count_again(muted, now=now, details=details, action_taken=action_taken)
        return None
    with transaction.atomic():  # a savepoint: a lost race rolls back only the insert
        alert = SecurityAlert.objects.create(
            detector=detector, ident=ident, mode=mode, action_taken=action_taken, status=SecurityAlertStatus.OPEN,
            first_seen_at=now, last_seen_at=now, occurrences=1, details=details)
    outbox_event_write(topic=SECURITY_ALERT_TOPIC, aggregate_type="security_alert", aggregate_id=alert.pk,
                       payload=security_alert_payload(alert=alert))
    alert_id = alert.pk
    transaction.on_commit(lambda: security_alert_mail_operators(alert_id=alert_id))
    return alert


# --- Telling the operators ------------------------------------------------------------------

def _mail_texts(alert: SecurityAlert) -> tuple[str, str]:
    """(subject, body) in the active language."""
    params = {"detector": SecurityDetector(alert.detector).label, "ident": alert.ident}
    subject = _("Security alert: %(detector)s from %(ident)s") % params
    first_seen = formats.date_format(timezone.localtime(alert.first_seen_at), JAKARTA_TIME_FORMAT)
    action = (SecurityAlertAction(alert.action_taken).label if alert.action_taken
              else _("none (the detector only logs)") if alert.mode == SecurityAlertMode.LOG else _("none"))
    figures = "\n".join(f"  {key}: {value}" for key, value in sorted(alert.details.items()))
    body = "\n".join([
        _("The %(detector)s detector saw abnormal behaviour from %(ident)s.") % params,
        "",
        _("First seen: %(when)s (Asia/Jakarta)") % {"when": first_seen},
        _("Mode: %(mode)s") % {"mode": SecurityAlertMode(alert.mode).label},
        _("Action taken: %(action)s") % {"action": action},
        _("Figures:"),
        figures or "  -",
        "",
        _("Further detections are counted on this alert and not mailed again until it is acknowledged. "
          "Acknowledge or mute it on %(url)s") % {"url": settings.SITE_URL.rstrip("/") + SECURITY_PAGE_PATH},
    ])
    return subject, body


def security_alert_mail_operators(*, alert_id: int) -> int:
    """Mail one alert to every active operator with an address, each in their own language.
    Returns the number of mails handed to the e-mail backend (which sends them through Celery)."""
    alert = SecurityAlert.objects.filter(pk=alert_id).first()
    if alert is None:
        return 0
    operators = User.objects.filter(is_staff=True, is_active=True).exclude(email="").order_by("pk")
    emails = []
    for user in operators:
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            subject, body = _mail_texts(alert)
        emails.append(EmailMessage(subject, body, None, [user.email]))
    if emails:
        get_connection().send_messages(emails)
    return len(emails)


# --- Operators' answers ---------------------------------------------------------------------

@transaction.atomic
def security_alert_acknowledge(*, alert: SecurityAlert, user: User) -> SecurityAlert:
    """The operator has seen the alert: it closes (a mute ends with it), and the next detection
    opens a new alert. Acknowledging an acknowledged alert changes nothing."""
    locked = security_alert_lock(alert_id=alert.pk)
    if locked.status != SecurityAlertStatus.ACKNOWLEDGED:
        locked.status = SecurityAlertStatus.ACKNOWLEDGED
        locked.acknowledged_by = user
        locked.acknowledged_at = timezone.now()
        locked.muted_until = None
        locked.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "muted_until"])
    return locked


@transaction.atomic
def security_alert_mute(*, alert: SecurityAlert, user: User, hours: int) -> SecurityAlert:
    """Close the alert and swallow further detections of its detector and ident for `hours`
    (MUTE_MIN_HOURS..MUTE_MAX_HOURS) from now; muting again sets a new end. The muting operator
    is recorded as the one who acknowledged it. Raises ValueError for hours out of bounds."""
    if isinstance(hours, bool) or not isinstance(hours, int) or not MUTE_MIN_HOURS <= hours <= MUTE_MAX_HOURS:
        raise ValueError(f"a mute lasts {MUTE_MIN_HOURS} to {MUTE_MAX_HOURS} hours, not {hours!r}")
    locked = security_alert_lock(alert_id=alert.pk)
    now = timezone.now()
    locked.status = SecurityAlertStatus.MUTED
    locked.muted_until = now + timedelta(hours=hours)
    locked.acknowledged_by = user
    locked.acknowledged_at = now
    locked.save(update_fields=["status", "muted_until", "acknowledged_by", "acknowledged_at"])
    return locked
