"""Working hours and days in Asia/Jakarta (okto88/working_hours.py): Monday-Saturday 08:00-17:00,
Indonesian public holidays off. 2026-08-17 (Independence Day) is a Monday, 2026-12-25 a Friday."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from okto88.working_hours import (
    MAX_HOURS,
    arrival_date,
    is_working_day,
    working_days_add,
    working_hours_add,
    working_hours_between,
)

JAKARTA = ZoneInfo("Asia/Jakarta")


def jkt(*args: int) -> datetime:
    return datetime(*args, tzinfo=JAKARTA)


@pytest.fixture(autouse=True)
def _default_hours(settings):
    settings.WORKING_HOURS_START = "08:00"
    settings.WORKING_HOURS_END = "17:00"
    settings.WORKING_DAYS = [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(("start", "hours", "expected"), [
    (jkt(2026, 8, 7, 16), 2, jkt(2026, 8, 8, 9)),  # Friday 16:00 + 2 h: Saturday 09:00
    (jkt(2026, 8, 8, 16, 30), 1, jkt(2026, 8, 10, 8, 30)),  # Saturday 16:30 + 1 h: over Sunday
    (jkt(2026, 8, 9, 22), 1.5, jkt(2026, 8, 10, 9, 30)),  # Sunday night: counts from Monday 08:00
    (jkt(2026, 8, 15, 16), 2, jkt(2026, 8, 18, 9)),  # Saturday 16:00 + 2 h: Sunday and Monday 17 Aug off
    (jkt(2026, 8, 3, 10), 18, jkt(2026, 8, 5, 10)),  # Monday 10:00 + 18 h (9 h a day): Wednesday 10:00
    (jkt(2026, 8, 7, 16), 1, jkt(2026, 8, 7, 17)),  # up to closing exactly stays that day
    (jkt(2026, 8, 6, 6), 0.25, jkt(2026, 8, 6, 8, 15)),  # early morning counts from opening
    (jkt(2026, 8, 6, 18), 9, jkt(2026, 8, 7, 17)),  # evening: the whole next day
])
def test_working_hours_add(start, hours, expected):
    result = working_hours_add(start=start, hours=hours)
    assert result == expected
    assert result.tzinfo is UTC


def test_zero_hours_is_the_start_when_open_else_the_next_opening():
    assert working_hours_add(start=jkt(2026, 8, 7, 11, 5), hours=0) == jkt(2026, 8, 7, 11, 5)
    assert working_hours_add(start=jkt(2026, 8, 7, 17), hours=0) == jkt(2026, 8, 8, 8)  # closing: closed
    assert working_hours_add(start=jkt(2026, 8, 16, 12), hours=0) == jkt(2026, 8, 18, 8)  # Sunday, then a holiday


def test_a_utc_start_is_read_in_jakarta_time():
    # 2026-08-07 09:00 UTC is Friday 16:00 in Jakarta (UTC+7).
    start = datetime(2026, 8, 7, 9, tzinfo=UTC)
    assert working_hours_add(start=start, hours=2) == datetime(2026, 8, 8, 2, tzinfo=UTC)


def test_the_supplier_deadline_setting_is_two_working_days(settings):
    assert settings.SUPPLIER_ACCEPT_WORKING_HOURS == 18
    assert working_hours_add(start=jkt(2026, 8, 14, 9), hours=18) == jkt(2026, 8, 18, 9)  # Fri → Sat → Tue


def test_settings_change_the_hours(settings):
    settings.WORKING_HOURS_START, settings.WORKING_HOURS_END = "09:30", "12:00"
    settings.WORKING_DAYS = [0, 1, 2, 3, 4]
    assert working_hours_add(start=jkt(2026, 8, 7, 11), hours=2) == jkt(2026, 8, 10, 10, 30)  # Fri 1 h, Mon 1 h
    settings.WORKING_HOURS_END = "09:00"
    with pytest.raises(ImproperlyConfigured):
        working_hours_add(start=jkt(2026, 8, 7, 11), hours=1)


def test_working_hours_between():
    assert working_hours_between(start=jkt(2026, 8, 7, 16), end=jkt(2026, 8, 8, 9)) == 2
    assert working_hours_between(start=jkt(2026, 8, 15, 16), end=jkt(2026, 8, 18, 9)) == 2
    assert working_hours_between(start=jkt(2026, 8, 3, 10), end=jkt(2026, 8, 5, 10)) == 18
    assert working_hours_between(start=jkt(2026, 8, 9, 1), end=jkt(2026, 8, 9, 23)) == 0  # a Sunday
    assert working_hours_between(start=jkt(2026, 8, 5, 10), end=jkt(2026, 8, 3, 10)) == 0  # end before start
    assert working_hours_between(start=jkt(2026, 8, 5, 10), end=jkt(2026, 8, 5, 10)) == 0


instants = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(JAKARTA),
).map(lambda d: d.replace(microsecond=0))


@hypothesis_settings(max_examples=300, deadline=None)
@given(start=instants, hours=st.floats(min_value=0, max_value=500).map(lambda h: round(h, 4)))
def test_between_is_the_inverse_of_add(start, hours):
    end = working_hours_add(start=start, hours=hours)
    assert end >= start
    assert working_hours_between(start=start, end=end) == pytest.approx(hours, abs=1e-9)
    assert working_hours_add(start=start, hours=working_hours_between(start=start, end=end)) == end


@hypothesis_settings(max_examples=300, deadline=None)
@given(start=instants, end=instants)
def test_add_of_between_reaches_end_or_the_last_closing_before_it(start, end):
    hours = working_hours_between(start=start, end=end)
    reached = working_hours_add(start=start, hours=hours)
    if end <= start:
        assert hours == 0
        return
    # Never past `end` unless no working time lies between (then it is the next opening after start).
    assert reached <= end or hours == 0
    assert working_hours_between(start=reached, end=end) == 0


def test_is_working_day():
    assert is_working_day(day=date(2026, 8, 8))  # Saturday
    assert not is_working_day(day=date(2026, 8, 9))  # Sunday
    assert not is_working_day(day=date(2026, 8, 17))  # Independence Day
    assert not is_working_day(day=date(2026, 12, 25))  # Christmas
    assert is_working_day(day=date(2026, 12, 24))


@pytest.mark.parametrize(("day", "days", "expected"), [
    (date(2026, 12, 19), 1, date(2026, 12, 21)),  # Saturday + 1: over Sunday
    (date(2026, 12, 24), 1, date(2026, 12, 26)),  # Thursday + 1: over Christmas (Friday)
    (date(2026, 12, 23), 3, date(2026, 12, 28)),  # Wed + 3: Thu, Sat, Mon
    (date(2026, 12, 24), 0, date(2026, 12, 24)),  # a working day itself
    (date(2026, 12, 25), 0, date(2026, 12, 26)),  # a holiday: the next working day
    (date(2026, 12, 20), 1, date(2026, 12, 22)),  # Sunday moves to Monday, then + 1
    (date(2026, 12, 31), 1, date(2027, 1, 2)),  # over New Year's Day 2027 (Friday)
])
def test_working_days_add(day, days, expected):
    assert working_days_add(day=day, days=days) == expected


@pytest.mark.parametrize(("now", "lead", "courier", "expected"), [
    (jkt(2026, 12, 21, 9), 0, 0, date(2026, 12, 21)),  # Monday morning, in stock nearby: today
    (jkt(2026, 12, 21, 9), 1, 2, date(2026, 12, 24)),  # Monday + 3 working days: Thursday
    (jkt(2026, 12, 23, 9), 1, 1, date(2026, 12, 26)),  # Wed + 2: Thu, then over Christmas to Sat
    (jkt(2026, 12, 23, 17, 30), 0, 1, date(2026, 12, 26)),  # after closing: counts from Thu, + 1 over Christmas
    (jkt(2026, 12, 19, 9), 0, 1, date(2026, 12, 21)),  # Saturday + 1: never a Sunday
    (jkt(2026, 12, 20, 9), 0, 0, date(2026, 12, 21)),  # ordered on a Sunday: counts from Monday
    (jkt(2026, 8, 14, 18), 0, 1, date(2026, 8, 18)),  # Friday evening: Sat, + 1 over Independence Day
])
def test_arrival_date_skips_sundays_and_holidays(now, lead, courier, expected):
    arrives = arrival_date(lead_time_days=lead, courier_days=courier, now=now)
    assert arrives == expected
    assert arrives.weekday() != 6 and is_working_day(day=arrives)


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(JAKARTA)),
       st.integers(0, 30), st.integers(0, 14))
@hypothesis_settings(max_examples=200, deadline=None)
def test_arrival_date_is_a_working_day_no_earlier_than_the_days_given(now, lead, courier):
    arrives = arrival_date(lead_time_days=lead, courier_days=courier, now=now)
    assert is_working_day(day=arrives)
    assert arrives >= now.date() + timedelta(days=lead + courier)
    assert arrival_date(lead_time_days=lead + 1, courier_days=courier, now=now) > arrives


def test_arrival_date_refuses_negative_days():
    with pytest.raises(ValueError, match="negative"):
        arrival_date(lead_time_days=-1, courier_days=0, now=jkt(2026, 8, 7, 9))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="aware"):
        working_hours_add(start=datetime(2026, 8, 7, 16), hours=1)
    with pytest.raises(ValueError, match="aware"):
        working_hours_between(start=jkt(2026, 8, 7, 16), end=datetime(2026, 8, 8, 9))
    with pytest.raises(ValueError, match="hours"):
        working_hours_add(start=jkt(2026, 8, 7, 16), hours=-1)
    with pytest.raises(ValueError, match="hours"):
        working_hours_add(start=jkt(2026, 8, 7, 16), hours=MAX_HOURS + 1)
    with pytest.raises(ValueError, match="hours"):
        working_hours_add(start=jkt(2026, 8, 7, 16), hours=float("nan"))
    with pytest.raises(ValueError, match="days"):
        working_days_add(day=date(2026, 8, 7), days=-1)


def test_the_longest_span_is_quick():
    start = jkt(2026, 1, 1, 8)
    end = working_hours_add(start=start, hours=MAX_HOURS)
    assert end - start > timedelta(days=3 * 365)
    assert working_hours_between(start=start, end=end) == MAX_HOURS
