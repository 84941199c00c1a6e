"""Reads of per-client traffic (analytics.models.ClientTrafficHour, ClientBaseline) for the
operations view's security page, and the statistics the detectors and the page share: a
baseline's median and MAD, the new-client floor, the modified z-score."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max, Sum
from django.utils.translation import gettext_lazy as _

from analytics.figures import Column, Figure
from analytics.models import ClientBaseline, ClientTrafficHour, SecurityAlertAction
from okto88 import client_guard
from okto88.models import ApiClient, ApiKey, User

# A constant rate has a MAD of 0; the z-score divides by at least this.
MIN_MAD = 1.0
TOP_CLIENTS = 20


@dataclass(frozen=True)
class Baseline:
    median: float
    mad: float
    samples: int
    floor: bool  # a new client's: too few samples, the settings' floor stands in


def hour_of_week(moment: dt.datetime) -> int:
    """0 = Monday 00:00–01:00 UTC."""
    moment = moment.astimezone(dt.UTC)
    return moment.weekday() * 24 + moment.hour


def median_and_mad(values: list[float]) -> tuple[float, float]:
    """The median and the median absolute deviation (unscaled) of `values`."""
    median = statistics.median(values)
    return float(median), float(statistics.median(abs(value - median) for value in values))


def floor_baseline(samples: int = 0) -> Baseline:
    return Baseline(median=settings.SECURITY_BASELINE_FLOOR_MEDIAN, mad=settings.SECURITY_BASELINE_FLOOR_MAD,
                    samples=samples, floor=True)


def baseline_of(*, samples: list[int]) -> Baseline:
    """The baseline of these minute counts; the floor under SECURITY_BASELINE_MIN_SAMPLES of them."""
    if len(samples) < settings.SECURITY_BASELINE_MIN_SAMPLES:
        return floor_baseline(len(samples))
    median, mad = median_and_mad(samples)
    return Baseline(median=median, mad=mad, samples=len(samples), floor=False)


def modified_z(*, value: float, baseline: Baseline) -> float:
    """0.6745 · (x − median) / MAD (Iglewicz and Hoaglin), MAD at least MIN_MAD."""
    return 0.6745 * (value - baseline.median) / max(baseline.mad, MIN_MAD)


def _labels(idents: list[str]) -> dict[str, str]:
    """What an operator recognises: the API client's name, the user's e-mail, the address."""
    client_ids = [int(i.split(":", 1)[1]) for i in idents if i.startswith("client:") and i[7:].isdigit()]
    user_ids = [int(i.split(":", 1)[1]) for i in idents if i.startswith("user:") and i[5:].isdigit()]
    clients = ApiClient.objects.filter(pk__in=client_ids).values_list("pk", "name")
    users = User.objects.filter(pk__in=user_ids).values_list("pk", "email")
    labels = {f"client:{pk}": name for pk, name in clients}
    labels.update({f"user:{pk}": email for pk, email in users})
    return {ident: labels.get(ident, ident.split(":", 1)[-1]) for ident in idents}


def _enforced(idents: list[str], *, now: float) -> dict[str, str]:
    try:
        entries = client_guard.guard_entries(now=now)
    except Exception:  # Redis away: the page still shows the traffic
        return {}
    enforced = {}
    for field in entries:
        action, _, target = field.partition("|")
        if action == client_guard.TIGHTEN:
            enforced[target] = SecurityAlertAction.THROTTLE_TIGHTENED.label
    key_ids = [int(target[4:]) for field in entries
               for action, _, target in [field.partition("|")] if action == client_guard.SUSPEND]
    for client_id in ApiKey.objects.filter(pk__in=key_ids).values_list("client_id", flat=True):
        enforced[f"client:{client_id}"] = SecurityAlertAction.KEY_SUSPENDED.label
    return {ident: enforced[ident] for ident in idents if ident in enforced}


def client_traffic_top(*, now: float | None = None, limit: int = TOP_CLIENTS) -> list[dict]:
    """The callers with the most requests in this hour and the one before (hourly rows, a minute
    or two behind), each with its figures and its baseline for this hour of the week."""
    now = time.time() if now is None else now
    hour = dt.datetime.fromtimestamp((int(now) // 3600) * 3600, tz=dt.UTC)
    totals = list(
        ClientTrafficHour.objects.filter(hour__gte=hour - dt.timedelta(hours=1))
        .values("ident")
        .annotate(requests=Sum("requests"), s4xx=Sum("s4xx"), s5xx=Sum("s5xx"), auth_failures=Sum("auth_failures"),
                  not_found=Sum("not_found"), throttled=Sum("throttled"), fast_flows=Sum("fast_flows"),
                  last_hour=Max("hour"))
        .order_by("-requests", "ident")[:limit]
    )
    idents = [row["ident"] for row in totals]
    peaks: dict[str, tuple[int, int]] = {}  # ident → (peak minute requests, most denied ids on an endpoint)
    for ident, minute_requests, denied in ClientTrafficHour.objects.filter(
            ident__in=idents, hour__gte=hour - dt.timedelta(hours=1)).values_list("ident", "minute_requests",
                                                                                  "denied_ids"):
        peak, probed = peaks.get(ident, (0, 0))
        peaks[ident] = (max(peak, *minute_requests), max(probed, *(denied or {"": 0}).values()))
    baselines = {b.ident: Baseline(b.median, b.mad, b.samples, b.samples < settings.SECURITY_BASELINE_MIN_SAMPLES)
                 for b in ClientBaseline.objects.filter(ident__in=idents, hour_of_week=hour_of_week(hour))}
    labels, enforced = _labels(idents), _enforced(idents, now=now)
    rows = []
    for row in totals:
        ident = row["ident"]
        baseline = baselines.get(ident)
        if baseline is None or baseline.floor:
            baseline = floor_baseline(baseline.samples if baseline else 0)
        peak, probed = peaks.get(ident, (0, 0))
        requests = row["requests"] or 0
        rows.append({
            "ident": ident, "who": labels[ident], "requests": requests,
            "error_percent": round(100 * ((row["s4xx"] or 0) + (row["s5xx"] or 0)) / requests, 1) if requests else 0,
            "auth_failures": row["auth_failures"], "not_found": row["not_found"], "throttled": row["throttled"],
            "fast_flows": row["fast_flows"], "peak_per_minute": peak, "most_denied_ids": probed,
            "baseline_median": baseline.median, "baseline_mad": baseline.mad, "new_client": baseline.floor,
            "peak_z": round(modified_z(value=peak, baseline=baseline), 1),
            "enforced": enforced.get(ident, ""),
        })
    return rows


def client_traffic_figure(*, now: float | None = None) -> Figure:
    """client_traffic_top as a table for /ops/security/."""
    return Figure(
        key="client_traffic",
        title=_("Client traffic"),
        columns=(
            Column("who", _("Client, user or address")),
            Column("ident", _("Ident")),
            Column("requests", _("Requests"), "int"),
            Column("peak_per_minute", _("Peak per minute"), "int"),
            Column("baseline_median", _("Baseline median per minute"), "number"),
            Column("baseline_mad", _("Baseline MAD"), "number"),
            Column("peak_z", _("Peak z-score"), "number"),
            Column("error_percent", _("Errors"), "percent"),
            Column("auth_failures", "401/403", "int"),
            Column("not_found", "404", "int"),
            Column("throttled", "429", "int"),
            Column("most_denied_ids", _("Most ids refused on one endpoint in a minute"), "int"),
            Column("fast_flows", _("Fast flows"), "int"),
            Column("enforced", _("Enforced now")),
        ),
        rows=client_traffic_top(now=now),
        note=_("The callers with the most requests this hour and the hour before (a minute or two behind), "
               "against their baseline for this hour of the week (UTC); a new client's baseline is the floor."),
    )
