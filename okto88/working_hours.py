"""Working hours and working days in Asia/Jakarta: the one home of both.

A working day is a weekday in `WORKING_DAYS` (Monday=0) that is not one of Indonesia's public
holidays (the `holidays` package, cached per year); its working hours run from
`WORKING_HOURS_START` to `WORKING_HOURS_END` (settings, read at each call). Nights, days off
and holidays do not count. Deadlines counted in working hours (a supplier answers an order
within `SUPPLIER_ACCEPT_WORKING_HOURS`) use `working_hours_add`; the time left or spent,
`working_hours_between`; dates counted in working days, `working_days_add`; the day an
order placed now would arrive (the supplier's lead time, then the courier's days),
`arrival_date`. The functions
loop by day, never by minute, and refuse spans past `MAX_HOURS` / `MAX_DAYS`.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

JAKARTA = ZoneInfo("Asia/Jakarta")
MAX_HOURS = 10_000
MAX_DAYS = 3_650


@cache
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("ID", years=year))


def _hours() -> tuple[time, time]:
    try:
        opens = time.fromisoformat(settings.WORKING_HOURS_START)
        closes = time.fromisoformat(settings.WORKING_HOURS_END)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured("WORKING_HOURS_START and WORKING_HOURS_END must be HH:MM") from exc
    if opens >= closes:
        raise ImproperlyConfigured("WORKING_HOURS_START must be before WORKING_HOURS_END")
    return opens, closes


def _working_weekdays() -> frozenset[int]:
    days = frozenset(settings.WORKING_DAYS)
    if not days or not days <= set(range(7)):
        raise ImproperlyConfigured("WORKING_DAYS must name at least one weekday number 0-6 (Monday=0)")
    return days


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got a naive one")
    return value.astimezone(JAKARTA)


def is_working_day(*, day: date) -> bool:
    """Whether `day` is a working weekday and not an Indonesian public holiday."""
    return day.weekday() in _working_weekdays() and day not in _holidays_of(day.year)


def working_days_add(*, day: date, days: int) -> date:
    """The date `days` working days after `day`; a day off first moves to the next working day."""
    if days < 0 or days > MAX_DAYS:
        raise ValueError(f"days must be between 0 and {MAX_DAYS}, got {days}")
    while not is_working_day(day=day):
        day += timedelta(days=1)
    for _ in range(days):
        day += timedelta(days=1)
        while not is_working_day(day=day):
            day += timedelta(days=1)
    return day


def arrival_date(*, lead_time_days: int, courier_days: int, now: datetime | None = None) -> date:
    """The day (Asia/Jakarta) a part ordered at `now` arrives: the supplier ships `lead_time_days`
    working days after the order's first working day (an order after closing time, or on a day off,
    counts from the next working day), then the courier takes `courier_days` working days. Couriers
    here do not deliver on Sundays or public holidays, the days that are not working days."""
    if lead_time_days < 0 or courier_days < 0:
        raise ValueError(f"days must not be negative, got {lead_time_days} and {courier_days}")
    moment = _aware(now, "now") if now is not None else datetime.now(JAKARTA)
    _opens, closes = _hours()
    day = moment.date()
    if moment.time() >= closes or not is_working_day(day=day):
        day = working_days_add(day=day + timedelta(days=1), days=0)
    return working_days_add(day=day, days=lead_time_days + courier_days)


def _window(day: date, opens: time, closes: time) -> tuple[datetime, datetime]:
    return datetime.combine(day, opens, JAKARTA), datetime.combine(day, closes, JAKARTA)


def working_hours_add(*, start: datetime, hours: float) -> datetime:
    """The instant (UTC) when `hours` working hours after `start` have passed.

    A start outside working hours counts from the next opening; hours=0 gives `start`, or the
    next opening if closed then.
    """
    cursor = _aware(start, "start")
    if not math.isfinite(hours) or hours < 0 or hours > MAX_HOURS:
        raise ValueError(f"hours must be between 0 and {MAX_HOURS}, got {hours}")
    opens, closes = _hours()
    remaining = timedelta(hours=hours)
    day = cursor.date()
    while True:  # ends: each week has a working day, and remaining is bounded by MAX_HOURS
        if is_working_day(day=day):
            window_start, window_end = _window(day, opens, closes)
            begin = max(cursor, window_start)
            available = window_end - begin
            if available > timedelta(0):
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)


def working_hours_between(*, start: datetime, end: datetime) -> float:
    """The working hours elapsed from `start` to `end` (0 if `end` is not after `start`)."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return 0.0
    opens, closes = _hours()
    total = timedelta(0)
    day = start.date()
    while day <= end.date():
        if is_working_day(day=day):
            window_start, window_end = _window(day, opens, closes)
            overlap = min(end, window_end) - max(start, window_start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total / timedelta(hours=1)
