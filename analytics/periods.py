"""The period a figure covers: last hour, day, 7 or 30 days, or a range of dates (Asia/Jakarta).

Parsed once from the query string (`period=1h|24h|7d|30d`, or `start=YYYY-MM-DD&end=YYYY-MM-DD`,
both days included) by pages and API alike; a bad value raises InvalidPeriod with a readable
message. `bucket` is the width of one point on a time chart.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

JAKARTA = ZoneInfo("Asia/Jakarta")
MAX_RANGE_DAYS = 92
# Ranges stay within these days: okto88 has no data outside them, and before 1970 Asia/Jakarta's
# offset is local mean time (+07:07:12), which no ISO 8601 reader takes; after 9999 there is no date.
EARLIEST_DAY = dt.date(2000, 1, 1)
LATEST_DAY = dt.date(2099, 12, 31)
# YYYY-MM-DD only: date.fromisoformat takes "20261201" and week dates ("2026-W49-1") as well,
# which neither the message nor the API's schema (format: date) promises.
_DAY_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

PRESETS: dict[str, tuple[dt.timedelta, dt.timedelta, str]] = {
    # name: (length, bucket, label)
    "1h": (dt.timedelta(hours=1), dt.timedelta(minutes=1), _("Last hour")),
    "24h": (dt.timedelta(days=1), dt.timedelta(hours=1), _("Last 24 hours")),
    "7d": (dt.timedelta(days=7), dt.timedelta(days=1), _("Last 7 days")),
    "30d": (dt.timedelta(days=30), dt.timedelta(days=1), _("Last 30 days")),
}
DEFAULT_PRESET = "24h"


class InvalidPeriod(ValueError):
    code = "invalid_period"


@dataclass(frozen=True)
class Period:
    start: dt.datetime  # aware, inclusive
    end: dt.datetime  # aware, exclusive
    bucket: dt.timedelta
    name: str  # the preset's name, or "range"
    label: str

    def as_json(self) -> dict:
        return {"name": self.name, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "bucket_seconds": int(self.bucket.total_seconds())}


def period_parse(params, *, now: dt.datetime | None = None) -> Period:
    now = now or timezone.now()
    start_text, end_text = params.get("start"), params.get("end")
    if start_text or end_text:
        try:
            if not (_DAY_TEXT.fullmatch(start_text or "") and _DAY_TEXT.fullmatch(end_text or "")):
                raise ValueError
            first = dt.date.fromisoformat(start_text)
            last = dt.date.fromisoformat(end_text)
        except ValueError:
            raise InvalidPeriod(_("Give both dates as YYYY-MM-DD.")) from None
        if not (EARLIEST_DAY <= first <= LATEST_DAY and EARLIEST_DAY <= last <= LATEST_DAY):
            raise InvalidPeriod(_("Give dates from %(earliest)s to %(latest)s.")
                                % {"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()})
        if last < first:
            raise InvalidPeriod(_("The end date is before the start date."))
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise InvalidPeriod(_("A range is at most %(days)d days.") % {"days": MAX_RANGE_DAYS})
        start = dt.datetime.combine(first, dt.time(), tzinfo=JAKARTA)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=JAKARTA)
        bucket = dt.timedelta(hours=1) if (last - first).days < 2 else dt.timedelta(days=1)
        return Period(start=start, end=end, bucket=bucket, name="range", label=f"{first} – {last}")
    name = params.get("period") or DEFAULT_PRESET
    if name not in PRESETS:
        raise InvalidPeriod(_("Unknown period; choose one of %(names)s.") % {"names": ", ".join(PRESETS)})
    length, bucket, label = PRESETS[name]
    return Period(start=now - length, end=now, bucket=bucket, name=name, label=str(label))
