"""Security monitoring of per-client traffic: the per-minute counts okto88.client_traffic keeps in
Redis are rolled up into hourly rows (client_traffic_rollup), each caller's normal rate per hour
of the week is computed from them (client_baselines_refresh), and the detectors look at the
current and the previous minute (security_traffic_detect, every few seconds from beat).

Detectors (thresholds in settings, SECURITY_*): volume (modified z-score 0.6745·(x − median)/MAD
above SECURITY_VOLUME_Z_THRESHOLD and x at least SECURITY_VOLUME_FLOOR_PER_MINUTE), error ratio,
authentication-failure burst, object-id enumeration (distinct ids answered 403/404 on one
endpoint in a minute) and fast flows (cart to placed order faster than a person). Each has a
mode (SECURITY_DETECTOR_MODES): "log" raises an alert; "enforce" also acts through
okto88.client_guard for a cool-off: an enumerating API client's keys are suspended (403
api_key_suspended), anything else gets a tightened throttle (429 client_throttled). Every alert
goes to analytics.services.security_alerts.security_alert_raise, which deduplicates it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import ClientBaseline, ClientTrafficHour, SecurityAlertAction
from analytics.selectors.security_traffic import Baseline, baseline_of, floor_baseline, hour_of_week, modified_z
from analytics.services.security_alerts import security_alert_raise
from okto88 import client_guard
from okto88.client_traffic import (
    COUNTERS,
    DENIED,
    OVERFLOW,
    IdentMinute,
    traffic_denied_ids_sample,
    traffic_minutes_claim,
    traffic_minutes_read,
)
from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)

BASELINE_WEEKS = 4
BASELINE_CACHE_KEY = "okto88:traffic:baseline:{hour}"
BASELINE_COMPUTED_FIELD = "#computed"
PRUNE_BATCH_ROWS = 5000
MAX_PRUNE_BATCHES = 20

VOLUME, ERROR_RATIO, AUTH_FAILURE, ENUMERATION, FAST_FLOW = (
    "volume", "error_ratio", "auth_failure", "enumeration", "fast_flow")
LOG, ENFORCE = "log", "enforce"


# --- rollup ----------------------------------------------------------------------------------
_COUNT_COLUMNS = COUNTERS  # the model's columns carry the counters' names

_MERGE_MAX = """(SELECT coalesce(jsonb_object_agg(key, value), '{{}}'::jsonb) FROM (
    SELECT key, max(value::bigint) AS value FROM (
        SELECT * FROM jsonb_each_text(t.{column}) UNION ALL SELECT * FROM jsonb_each_text(EXCLUDED.{column})
    ) pairs GROUP BY key) merged)"""

_UPSERT = f"""INSERT INTO analytics_clienttraffichour AS t
    (ident, hour, {", ".join(_COUNT_COLUMNS)}, minute_requests, distinct_ids, denied_ids)
    VALUES (%s, %s, {", ".join(["%s"] * len(_COUNT_COLUMNS))}, %s::int[], %s::jsonb, %s::jsonb)
    ON CONFLICT ON CONSTRAINT client_traffic_hour_unique DO UPDATE SET
    {", ".join(f"{column} = t.{column} + EXCLUDED.{column}" for column in _COUNT_COLUMNS)},
    minute_requests = ARRAY(SELECT coalesce(a, 0) + coalesce(b, 0)
        FROM unnest(t.minute_requests, EXCLUDED.minute_requests) WITH ORDINALITY AS m(a, b, i) ORDER BY i),
    distinct_ids = {_MERGE_MAX.format(column="distinct_ids")},
    denied_ids = {_MERGE_MAX.format(column="denied_ids")}"""  # noqa: S608 - fixed fragments; values are parameters


@dataclass
class HourTotals:
    counts: list[int]
    minute_requests: list[int]
    distinct_ids: dict[str, int]
    denied_ids: dict[str, int]


def _hour_of(minute: int) -> dt.datetime:
    return dt.datetime.fromtimestamp((minute // 60) * 3600, tz=dt.UTC)


def client_traffic_hours_add(*, minutes: list[tuple[int, dict[str, IdentMinute]]]) -> int:
    """Adds minutes of traffic (minute since the epoch → ident → counts) to their hourly rows
    (created if new): two writers of one hour add up; distinct ids keep the larger figure.
    Returns the rows written."""
    hours: dict[tuple[str, dt.datetime], HourTotals] = {}
    for minute, idents in minutes:
        for ident, traffic in idents.items():
            totals = hours.setdefault((ident, _hour_of(minute)),
                                      HourTotals([0] * len(COUNTERS), [0] * 60, {}, {}))
            totals.counts = [a + b for a, b in zip(totals.counts, traffic.counts, strict=True)]
            totals.minute_requests[minute % 60] += traffic.counts[0]
            for (cls, endpoint), distinct in traffic.distinct_ids.items():
                target = totals.denied_ids if cls == DENIED else totals.distinct_ids
                target[endpoint] = max(target.get(endpoint, 0), distinct)
    if not hours:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_UPSERT, [
            (ident, hour, *totals.counts, totals.minute_requests, json.dumps(totals.distinct_ids),
             json.dumps(totals.denied_ids))
            for (ident, hour), totals in sorted(hours.items())
        ])
    return len(hours)


def client_traffic_rollup(*, now: float | None = None) -> dict[str, int]:
    """Moves every complete minute but the last one (the detectors still read it) from Redis into
    hourly rows, and deletes rows older than SECURITY_TRAFFIC_RETENTION_DAYS."""
    now = time.time() if now is None else now
    before_minute = int(now // 60) - 1
    with traffic_minutes_claim(before_minute=before_minute) as minutes:
        written = client_traffic_hours_add(minutes=minutes)
    return {"minutes": len(minutes), "rows": written, "pruned": client_traffic_prune(now=now)}


def client_traffic_prune(*, now: float | None = None) -> int:
    now = time.time() if now is None else now
    cutoff = dt.datetime.fromtimestamp(now, tz=dt.UTC) - dt.timedelta(days=settings.SECURITY_TRAFFIC_RETENTION_DAYS)
    deleted = 0
    for _ in range(MAX_PRUNE_BATCHES):
        batch = ClientTrafficHour.objects.filter(
            pk__in=ClientTrafficHour.objects.filter(hour__lt=cutoff).values("pk")[:PRUNE_BATCH_ROWS]).delete()[0]
        deleted += batch
        if batch < PRUNE_BATCH_ROWS:
            break
    return deleted


# --- baselines -------------------------------------------------------------------------------
def _hour_start(now: float) -> dt.datetime:
    return dt.datetime.fromtimestamp((int(now) // 3600) * 3600, tz=dt.UTC)


def client_baselines_refresh(*, now: float | None = None) -> int:
    """Computes the baseline of every caller seen in the hour of the week `now` falls in, over the
    same hour of the last BASELINE_WEEKS weeks (each hour row gives 60 minute samples), stores them
    (ClientBaseline) and caches them in Redis for the detectors until the hour ends. Returns the
    baselines computed."""
    now = time.time() if now is None else now
    hour = _hour_start(now)
    past_hours = [hour - dt.timedelta(weeks=week) for week in range(1, BASELINE_WEEKS + 1)]
    samples: dict[str, list[int]] = {}
    for ident, minute_requests in ClientTrafficHour.objects.filter(hour__in=past_hours).values_list(
            "ident", "minute_requests").order_by("ident", "hour"):
        samples.setdefault(ident, []).extend(minute_requests)
    computed_at = timezone.now()
    how = hour_of_week(hour)
    baselines = {ident: baseline_of(samples=values) for ident, values in samples.items()}
    ClientBaseline.objects.bulk_create(
        [ClientBaseline(ident=ident, hour_of_week=how, median=b.median, mad=b.mad, samples=b.samples,
                        computed_at=computed_at) for ident, b in sorted(baselines.items())],
        update_conflicts=True, unique_fields=["ident", "hour_of_week"],
        update_fields=["median", "mad", "samples", "computed_at"], batch_size=1000,
    )
    key = BASELINE_CACHE_KEY.format(hour=int(hour.timestamp()))
    pipe = redis_client().pipeline(transaction=True)
    pipe.delete(key)
    for ident, b in baselines.items():
        pipe.hset(key, ident, f"{b.median}|{b.mad}|{b.samples}|{int(b.floor)}")
    pipe.hset(key, BASELINE_COMPUTED_FIELD, computed_at.isoformat())
    pipe.expire(key, 2 * 3600)
    pipe.execute()
    return len(baselines)


def client_baselines(*, idents: list[str], now: float | None = None) -> dict[str, Baseline]:
    """The baseline of each ident in the hour `now` falls in (the floor for a new client), from the
    Redis cache; computed first when this hour's cache is missing."""
    now = time.time() if now is None else now
    key = BASELINE_CACHE_KEY.format(hour=int(_hour_start(now).timestamp()))
    client = redis_client()
    if not client.hexists(key, BASELINE_COMPUTED_FIELD):
        client_baselines_refresh(now=now)
    values = client.hmget(key, idents) if idents else []
    baselines = {}
    for ident, value in zip(idents, values, strict=True):
        if value is None:
            baselines[ident] = floor_baseline()
            continue
        median, mad, samples, floor = value.decode().split("|")
        baselines[ident] = Baseline(median=float(median), mad=float(mad), samples=int(samples), floor=floor == "1")
    return baselines


# --- detectors -------------------------------------------------------------------------------
@dataclass
class Finding:
    detector: str
    ident: str
    minute: int
    details: dict
    api_key_ids: set[int]


def detector_mode(detector: str) -> str:
    return settings.SECURITY_DETECTOR_MODES.get(detector, LOG)


def _minute_iso(minute: int) -> str:
    return dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC).isoformat().replace("+00:00", "Z")


def _findings(minute: int, ident: str, traffic: IdentMinute, baseline: Baseline) -> list[Finding]:
    found = []
    requests = traffic.count("requests")
    keys = set(traffic.api_key_ids)

    def add(detector: str, **details) -> None:
        found.append(Finding(detector, ident, minute, {"minute": _minute_iso(minute), **details}, keys))

    z = modified_z(value=requests, baseline=baseline)
    if z > settings.SECURITY_VOLUME_Z_THRESHOLD and requests >= settings.SECURITY_VOLUME_FLOOR_PER_MINUTE:
        add(VOLUME, requests=requests, median=baseline.median, mad=baseline.mad, z=round(z, 2),
            baseline_samples=baseline.samples, new_client_floor=baseline.floor)
    errors = traffic.count("s4xx") + traffic.count("s5xx")
    if requests >= settings.SECURITY_ERROR_RATIO_MIN_REQUESTS and errors / requests > \
            settings.SECURITY_ERROR_RATIO_THRESHOLD:
        add(ERROR_RATIO, requests=requests, errors=errors, ratio=round(errors / requests, 3),
            s4xx=traffic.count("s4xx"), s5xx=traffic.count("s5xx"))
    failures = traffic.count("auth_failures")
    if failures >= settings.SECURITY_AUTH_FAILURE_PER_MINUTE:
        add(AUTH_FAILURE, auth_failures=failures, requests=requests)
    denied = {endpoint: n for (cls, endpoint), n in traffic.distinct_ids.items() if cls == DENIED}
    probed = {endpoint: n for endpoint, n in denied.items() if n >= settings.SECURITY_ENUMERATION_DISTINCT_IDS}
    if probed:
        endpoint = max(probed, key=probed.get)
        add(ENUMERATION, endpoint=endpoint, distinct_denied_ids=probed[endpoint], endpoints_probed=len(probed),
            sample_ids=traffic_denied_ids_sample(minute=minute, ident=ident, endpoint=endpoint))
    fast = traffic.count("fast_flows")
    if fast >= settings.SECURITY_FAST_FLOW_PER_MINUTE:
        add(FAST_FLOW, fast_flows=fast, seconds=settings.SECURITY_FAST_FLOW_SECONDS)
    return found


def _enforce(finding: Finding, *, now: float) -> tuple[str, dict]:
    """Act on a finding in enforce mode; the action (SecurityAlertAction) and its figures."""
    if finding.detector == ENUMERATION and finding.ident.startswith("client:") and finding.api_key_ids:
        key_ids = sorted(finding.api_key_ids)
        until = client_guard.api_keys_suspend(api_key_ids=key_ids, seconds=settings.SECURITY_KEY_SUSPEND_SECONDS,
                                              now=now)
        action, figures = SecurityAlertAction.KEY_SUSPENDED, {"suspended_key_ids": key_ids}
    else:
        until = client_guard.client_throttle_tighten(ident=finding.ident,
                                                     seconds=settings.SECURITY_THROTTLE_COOL_OFF_SECONDS, now=now)
        action, figures = SecurityAlertAction.THROTTLE_TIGHTENED, {"tightened_rate": settings.SECURITY_TIGHTENED_RATE}
    figures["action_until"] = dt.datetime.fromtimestamp(until, tz=dt.UTC).isoformat(timespec="seconds")
    logger.warning("security enforcement", extra={"detector": finding.detector, "ident": finding.ident,
                                                  "action": str(action), **figures})
    return action, figures


def security_traffic_detect(*, now: float | None = None) -> list[Finding]:
    """Runs every detector over the current and the previous minute's traffic in Redis, raises an
    alert per finding (deduplicated by the alerts service) and, for a detector in enforce mode,
    acts. Returns the findings."""
    now = time.time() if now is None else now
    current = int(now // 60)
    traffic = traffic_minutes_read(minutes=[current - 1, current])
    idents = sorted({ident for idents in traffic.values() for ident in idents if ident != OVERFLOW})
    baselines = client_baselines(idents=idents, now=now)
    findings: dict[tuple[str, str], Finding] = {}
    for minute in (current - 1, current):
        for ident, counts in traffic[minute].items():
            if ident == OVERFLOW:  # many callers folded together: no one caller to blame
                continue
            for finding in _findings(minute, ident, counts, baselines[ident]):
                findings[(finding.detector, ident)] = finding  # the later minute's wins
    for finding in findings.values():
        mode = detector_mode(finding.detector)
        logger.warning("security detector fired", extra={"detector": finding.detector, "ident": finding.ident,
                                                         "mode": mode})
        try:
            action, figures = _enforce(finding, now=now) if mode == ENFORCE else ("", {})
            security_alert_raise(detector=finding.detector, ident=finding.ident, mode=mode,
                                 details={**finding.details, **figures}, action_taken=action)
        except Exception:  # one finding that cannot be acted on or recorded does not hide the others
            logger.exception("security finding not handled", extra={"detector": finding.detector,
                                                                    "ident": finding.ident})
    return list(findings.values())
