"""The analytics tables. Rollups: every recorded kind (okto88/recording.py) lands in one table, one row per kind,
time bucket, label set and outcome.

A row holds a count, the sum of the durations in milliseconds and a histogram: one counter per
bucket of okto88.recording.BUCKET_BOUNDS_MS (+Inf last), not cumulative, so rows of any minutes,
routes or processes add up bucket by bucket and percentiles are estimated from the sum
(analytics.selectors.rollups). Counted kinds (demand) keep an empty histogram. Kind "system"
holds gauges sampled once a minute: count is the number of samples and sum_ms the sum of the
sampled values (not milliseconds), so sum_ms / count is the mean value.

Minute rows (bucket_seconds 60) are compacted into hour rows (3600) after
ROLLUP_MINUTE_RETENTION_HOURS; hour rows are deleted after ROLLUP_HOUR_RETENTION_DAYS. An event
lives in exactly one row, so a period's figures add minute and hour rows without counting twice.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Rollup(models.Model):
    kind = models.CharField(max_length=32)
    bucket_seconds = models.PositiveIntegerField()  # 60 (minute rows) or 3600 (hour rows)
    bucket_start = models.DateTimeField()
    labels = ArrayField(models.TextField())
    outcome = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)
    sum_ms = models.FloatField(default=0.0)
    histogram = ArrayField(models.BigIntegerField(), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "bucket_seconds", "bucket_start", "labels", "outcome"], name="rollup_unique_series"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "bucket_start"], name="rollup_kind_start"),
            # Compaction and retention walk one resolution's oldest rows, whatever their kind.
            models.Index(fields=["bucket_seconds", "bucket_start"], name="rollup_resolution_start"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.bucket_start:%Y-%m-%d %H:%M} {'/'.join(self.labels)} {self.outcome}: {self.count}"


# The rule of SalesDay's money and fill rate (analytics.read_models states it in SQL).
GMV_ORDER_STATUSES = ("paid", "in_fulfilment", "shipped", "completed")  # paid, not closed
SHIPPED_SUPPLIER_ORDER_STATUSES = ("shipped", "delivered")
LOST_ORDER_STATUSES = ("cancelled", "failed", "expired")


class SalesDay(models.Model):
    """Order figures per day (Asia/Jakarta, by the day the order was placed) and grain: a read
    model recomputed from orders, supplier orders and lines (analytics.read_models has its rule).

    One row per (day, grain, key): `grain` says which key columns count, the others hold 0 or
    "" (so the unique constraint has no NULLs): "day" (the platform), "supplier", "category",
    "province", "status" (order status and reason), "supplier_status" (supplier, its supplier
    order's status, the order's status and reason), "supplier_offer" (supplier and offer: its
    top parts)."""

    day = models.DateField()
    grain = models.CharField(max_length=20)
    supplier_id = models.BigIntegerField(default=0)
    category_id = models.BigIntegerField(default=0)
    offer_id = models.BigIntegerField(default=0)
    province = models.CharField(max_length=80, default="", blank=True)
    status = models.CharField(max_length=16, default="", blank=True)
    supplier_status = models.CharField(max_length=12, default="", blank=True)
    reason = models.CharField(max_length=300, default="", blank=True)
    orders = models.BigIntegerField(default=0)
    supplier_orders = models.BigIntegerField(default=0)
    gmv_orders = models.BigIntegerField(default=0)
    gmv = models.BigIntegerField(default=0)  # whole rupiah
    gmv_qty = models.BigIntegerField(default=0)  # units in GMV
    lines_ordered = models.BigIntegerField(default=0)
    lines_shipped = models.BigIntegerField(default=0)
    qty_ordered = models.BigIntegerField(default=0)
    qty_shipped = models.BigIntegerField(default=0)
    cancelled = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    expired = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("sales figures")
        verbose_name_plural = _("sales figures")
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "day", "supplier_id", "category_id", "offer_id", "province", "status",
                        "supplier_status", "reason"], name="sales_day_key_unique"),
        ]
        indexes = [models.Index(fields=["grain", "supplier_id", "day"], name="sales_day_supplier_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.grain}"


class SalesRefresh(models.Model):
    """Where the SalesDay refresh got to (one row): the start of its last run and the last
    timeline event it had seen then, and the event seen by the run before (the next scan
    starts there, so a transaction that committed late is still picked up)."""

    scanned_at = models.DateTimeField(null=True, blank=True)
    event_id = models.BigIntegerField(default=0)
    previous_event_id = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("sales figures refresh")
        verbose_name_plural = _("sales figures refreshes")

    def __str__(self) -> str:
        return f"scanned at {self.scanned_at}"


class FunnelHour(models.Model):
    """How far the orders placed in one hour got (the order funnel, analytics.selectors.workflow):
    a read model recomputed from orders, their timelines and failed step runs with SalesDay, per
    day of placement (its rule: analytics.selectors.workflow.FUNNEL_HOUR_ROWS_SQL; its check:
    analytics.read_models). One row per (hour, level, status,
    failed step, error code): level is the furthest stage reached (0 placed … 5 delivered)."""

    hour = models.DateTimeField()  # the start of the hour the orders were placed in
    level = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16)
    failed_step = models.CharField(max_length=40, default="", blank=True)
    error_code = models.CharField(max_length=60, default="", blank=True)
    orders = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("order funnel per hour")
        verbose_name_plural = _("order funnel per hour")
        constraints = [
            models.UniqueConstraint(fields=["hour", "level", "status", "failed_step", "error_code"],
                                    name="funnel_hour_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} level {self.level} {self.status}: {self.orders}"


class SecurityDetector(models.TextChoices):
    VOLUME = "volume", _("Request volume")
    ERROR_RATIO = "error_ratio", _("Error ratio")
    AUTH_FAILURE = "auth_failure", _("Authentication failures")
    ENUMERATION = "enumeration", _("Object-id enumeration")
    FAST_FLOW = "fast_flow", _("Inhumanly fast flow")
    LOGIN_LOCKOUT = "login_lockout", _("Login lockout")


class SecurityAlertMode(models.TextChoices):
    LOG = "log", _("Log only")
    ENFORCE = "enforce", _("Enforce")


class SecurityAlertAction(models.TextChoices):
    NONE = "", _("None")
    THROTTLE_TIGHTENED = "throttle_tightened", _("Throttle tightened")
    KEY_SUSPENDED = "key_suspended", _("Key suspended")


class SecurityAlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("security alert status", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    MUTED = "muted", _("Muted")


class SecurityAlert(models.Model):
    """One abnormal behaviour of one client, user or address (ident "client:<id>", "user:<id>",
    "ip:<addr>") seen by one detector. Written only by analytics.services.security_alerts.

    At most one alert per (detector, ident) is open (a partial unique constraint): a detection
    while one is open counts another occurrence on it. Acknowledging closes it, so the next
    detection opens a new alert; muting closes it and swallows detections until muted_until.
    `details` holds the figures that triggered it (counts, baseline, z-score, route), never a
    secret."""

    detector = models.CharField(_("detector"), max_length=20, choices=SecurityDetector.choices)
    ident = models.CharField(_("who"), max_length=120)
    mode = models.CharField(_("mode"), max_length=8, choices=SecurityAlertMode.choices)
    action_taken = models.CharField(_("action taken"), max_length=20, choices=SecurityAlertAction.choices,
                                    blank=True, default="")
    status = models.CharField(_("status"), max_length=12, choices=SecurityAlertStatus.choices,
                              default=SecurityAlertStatus.OPEN)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    occurrences = models.PositiveIntegerField(_("occurrences"), default=1)
    details = models.JSONField(_("details"), default=dict, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="+", verbose_name=_("acknowledged by"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    muted_until = models.DateTimeField(_("muted until"), null=True, blank=True)

    class Meta:
        verbose_name = _("security alert")
        verbose_name_plural = _("security alerts")
        constraints = [
            models.UniqueConstraint(fields=["detector", "ident"], condition=Q(status="open"),
                                    name="security_alert_one_open"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in SecurityAlertStatus]),
                                   name="security_alert_known_status"),
            models.CheckConstraint(condition=Q(occurrences__gte=1), name="security_alert_occurrences_positive"),
            models.CheckConstraint(condition=~Q(status="muted") | Q(muted_until__isnull=False),
                                   name="security_alert_muted_has_end"),
        ]
        indexes = [
            # The operators' page: open first, then the most recent.
            models.Index(fields=["status", "-last_seen_at"], name="security_alert_status_seen"),
            models.Index(fields=["-last_seen_at"], name="security_alert_seen"),
            # A detection looks for a live mute of its (detector, ident).
            models.Index(fields=["detector", "ident", "status"], name="security_alert_key_status"),
        ]

    def __str__(self) -> str:
        return f"{self.detector} {self.ident} ({self.status})"


class ClientTrafficHour(models.Model):
    """One caller's traffic in one hour (security monitoring, analytics.services.security_traffic):
    the per-minute counts of okto88.client_traffic rolled up. `ident` is "client:<ApiClient pk>",
    "user:<pk>" or "ip:<address>". `minute_requests` holds the 60 minutes' request counts (the
    baselines' samples); `distinct_ids`/`denied_ids` the most distinct object ids asked (answered
    403/404) on each endpoint in one minute of the hour. Kept SECURITY_TRAFFIC_RETENTION_DAYS."""

    ident = models.CharField(max_length=100)
    hour = models.DateTimeField()  # the start of the hour, UTC
    requests = models.BigIntegerField(default=0)
    s2xx = models.BigIntegerField(default=0)
    s4xx = models.BigIntegerField(default=0)
    auth_failures = models.BigIntegerField(default=0)  # 401 and 403
    not_found = models.BigIntegerField(default=0)
    throttled = models.BigIntegerField(default=0)  # 429
    s5xx = models.BigIntegerField(default=0)
    fast_flows = models.BigIntegerField(default=0)
    minute_requests = ArrayField(models.IntegerField(), size=60)
    distinct_ids = models.JSONField(default=dict)  # endpoint → most distinct ids in a minute
    denied_ids = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("client traffic per hour")
        verbose_name_plural = _("client traffic per hour")
        constraints = [models.UniqueConstraint(fields=["ident", "hour"], name="client_traffic_hour_unique")]
        indexes = [models.Index(fields=["hour"], name="client_traffic_hour_hour")]

    def __str__(self) -> str:
        return f"{self.ident} {self.hour:%Y-%m-%d %H:00}: {self.requests}"


class ClientBaseline(models.Model):
    """A caller's normal per-minute request count in one hour of the week (0 = Monday 00:00 UTC):
    the median and the median absolute deviation of the minute counts of that hour over the last
    four weeks (analytics.services.security_traffic.client_baselines_refresh). `samples` is the
    number of minute values; under SECURITY_BASELINE_MIN_SAMPLES the detectors use the floor."""

    ident = models.CharField(max_length=100)
    hour_of_week = models.PositiveSmallIntegerField()
    median = models.FloatField()
    mad = models.FloatField()
    samples = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("client baseline")
        verbose_name_plural = _("client baselines")
        constraints = [models.UniqueConstraint(fields=["ident", "hour_of_week"], name="client_baseline_unique")]

    def __str__(self) -> str:
        return f"{self.ident} h{self.hour_of_week}: {self.median} ± {self.mad}"
