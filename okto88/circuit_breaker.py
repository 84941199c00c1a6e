"""A circuit breaker per partner (payment gateway, courier, ...), shared by every process in Redis.

    closed ──(over the window: calls ≥ MIN_CALLS and failures ≥ FAILURE_PERCENT)──▶ open
    open ──(COOL_DOWN passed: the next call is a probe)──▶ half_open
    half_open ──(CLOSE_AFTER successful probes)──▶ closed
    half_open ──(a probe fails)──▶ open (another COOL_DOWN)

While open, calls are refused before any request is sent (`CircuitOpen`, with the time the
breaker half-opens); while half-open, one probe at a time goes through (SET NX with a TTL, so a
probe whose process died frees its turn) and the others are refused. Settings:
PARTNER_BREAKER_* in okto88/settings.py, read on every call.

Each check and each report is one Lua script (one round trip, atomic across processes); time
is Redis's clock, so hosts whose clocks drift still agree on when a breaker half-opens. The
window is one hash of per-slot counters, pruned as it is read (a handful of fields).

If Redis cannot be reached the breaker lets every call through (it protects the partner and
our workers; it must not become the outage) and logs once, then leaves Redis alone for a few
seconds so a dead Redis costs no connection attempt per call.

Not pybreaker: its Redis storage counts consecutive failures (fail_max), not a failure rate
over a rolling window with a minimum of calls, and its state changes are several commands
rather than one atomic step.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import redis
from django.conf import settings
from redis.commands.core import Script

from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
KEY_PREFIX = "okto88:breaker:"
PARTNERS_KEY = "okto88:breakers"  # every partner that has reported a call
# The partners the adapters call (okto88.partner_calls), shown closed before their first call.
KNOWN_PARTNERS = ("courier", "gateway")
REDIS_DOWN_PAUSE_SECONDS = 5.0

# KEYS: state hash, probe key. ARGV: probe token, probe TTL (ms).
# Returns {allowed 0/1, probe 0/1, when the caller may try again and now (epoch seconds, as text)}.
_PERMIT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local s = redis.call('HMGET', KEYS[1], 'state', 'until')
local state = s[1]
if not state or state == 'closed' then
  return {1, 0, '0', '0'}
end
if state == 'open' then
  local reopen = tonumber(s[2]) or 0
  if now < reopen then
    return {0, 0, tostring(reopen), tostring(now)}
  end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'since', tostring(now), 'probes_ok', 0)
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, 1, '0', '0'}
end
local ttl = math.max(redis.call('PTTL', KEYS[2]), 0)
return {0, 0, tostring(now + ttl / 1000), tostring(now)}
"""

# KEYS: state hash, window hash, probe key, partners set.
# ARGV: failed 0/1, probe token ('' when not a probe), window s, slot s, min calls,
# failure percent, cool-down s, probes to close, partner.
# Returns {the state after the report, 1 if this report changed it}.
_REPORT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local failed = ARGV[1] == '1'
local cool_down = tonumber(ARGV[7])
redis.call('SADD', KEYS[4], ARGV[9])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if ARGV[2] ~= '' then
  if redis.call('GET', KEYS[3]) == ARGV[2] then
    redis.call('DEL', KEYS[3])
  end
  if state ~= 'half_open' then
    return {state, 0}
  end
  if failed then
    redis.call('HSET', KEYS[1], 'state', 'open', 'since', tostring(now), 'until', tostring(now + cool_down),
               'probes_ok', 0)
    return {'open', 1}
  end
  if redis.call('HINCRBY', KEYS[1], 'probes_ok', 1) >= tonumber(ARGV[8]) then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'since', tostring(now), 'probes_ok', 0)
    redis.call('DEL', KEYS[2])
    return {'closed', 1}
  end
  return {'half_open', 0}
end
if state ~= 'closed' then
  -- a call let through before the breaker opened: the probes decide now
  return {state, 0}
end
local window = tonumber(ARGV[3])
local slot_seconds = tonumber(ARGV[4])
local slot = math.floor(now / slot_seconds)
local first = slot - math.ceil(window / slot_seconds) + 1
redis.call('HINCRBY', KEYS[2], slot .. ':c', 1)
if failed then
  redis.call('HINCRBY', KEYS[2], slot .. ':f', 1)
end
redis.call('EXPIRE', KEYS[2], window + slot_seconds)
local fields = redis.call('HGETALL', KEYS[2])
local calls, failures = 0, 0
for i = 1, #fields, 2 do
  local name = fields[i]
  local sep = string.find(name, ':', 1, true)
  if tonumber(string.sub(name, 1, sep - 1)) < first then
    redis.call('HDEL', KEYS[2], name)
  elseif string.sub(name, sep + 1) == 'c' then
    calls = calls + tonumber(fields[i + 1])
  else
    failures = failures + tonumber(fields[i + 1])
  end
end
if calls >= tonumber(ARGV[5]) and failures * 100 >= tonumber(ARGV[6]) * calls then
  redis.call('HSET', KEYS[1], 'state', 'open', 'since', tostring(now), 'until', tostring(now + cool_down),
             'probes_ok', 0)
  return {'open', 1}
end
return {'closed', 0}
"""


class CircuitOpen(Exception):
    """The partner's breaker refused the call; no request was sent. Each adapter turns it into
    its own domain error (a subclass of its transient "unavailable" error)."""

    def __init__(self, partner: str, *, until: datetime, retry_after_seconds: float):
        self.partner = partner
        self.until = until
        self.retry_after_seconds = retry_after_seconds  # from Redis's clock, as `until`
        super().__init__(f"{partner}: circuit open until {until.isoformat()}")


@dataclass(frozen=True)
class Permit:
    """A call the breaker let through; hand it back to `breaker_report` with the outcome."""

    partner: str
    probe_token: str = ""  # set when this call is the half-open breaker's probe


def _keys(partner: str) -> tuple[str, str, str]:
    base = f"{KEY_PREFIX}{partner}"
    return base, f"{base}:window", f"{base}:probe"


@cache
def _scripts() -> tuple[Script, Script]:
    client = redis_client()
    return client.register_script(_PERMIT_LUA), client.register_script(_REPORT_LUA)


class _RedisHealth:
    """Fail open when Redis is unreachable: log once per outage, skip Redis for a few seconds."""

    def __init__(self):
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._logged = False

    def usable(self) -> bool:
        return time.monotonic() >= self._down_until

    def failed(self, exc: Exception) -> None:
        with self._lock:
            self._down_until = time.monotonic() + REDIS_DOWN_PAUSE_SECONDS
            if not self._logged:
                self._logged = True
                logger.warning("circuit breakers unavailable (Redis: %s); partner calls go through unchecked",
                               exc.__class__.__name__)

    def worked(self) -> None:
        if self._logged:
            with self._lock:
                self._logged = False
            logger.info("circuit breakers available again")


_health = _RedisHealth()


def breaker_permit(partner: str) -> Permit:
    """May a call to `partner` go now? Returns a Permit, or raises CircuitOpen."""
    if not _health.usable():
        return Permit(partner)
    token = secrets.token_hex(8)
    state_key, _, probe_key = _keys(partner)
    probe_ttl_ms = max(1, int(float(settings.PARTNER_BREAKER_PROBE_TTL_SECONDS) * 1000))
    try:
        allowed, probe, retry_at, now = _scripts()[0](keys=[state_key, probe_key], args=[token, probe_ttl_ms])
    except redis.RedisError as exc:
        _health.failed(exc)
        return Permit(partner)
    _health.worked()
    if not allowed:
        raise CircuitOpen(partner, until=datetime.fromtimestamp(float(retry_at), UTC),
                          retry_after_seconds=max(0.0, float(retry_at) - float(now)))
    return Permit(partner, probe_token=token if probe else "")


def breaker_report(permit: Permit, *, failed: bool) -> str | None:
    """Tell the breaker how a permitted call went; returns the breaker's state after it
    (None when Redis could not be asked)."""
    if not _health.usable():
        return None
    state_key, window_key, probe_key = _keys(permit.partner)
    args = [
        1 if failed else 0, permit.probe_token,
        int(settings.PARTNER_BREAKER_WINDOW_SECONDS), int(settings.PARTNER_BREAKER_SLOT_SECONDS),
        int(settings.PARTNER_BREAKER_MIN_CALLS), int(settings.PARTNER_BREAKER_FAILURE_PERCENT),
        float(settings.PARTNER_BREAKER_COOL_DOWN_SECONDS), int(settings.PARTNER_BREAKER_CLOSE_AFTER),
        permit.partner,
    ]
    try:
        state, changed = _scripts()[1](keys=[state_key, window_key, probe_key, PARTNERS_KEY], args=args)
    except redis.RedisError as exc:
        _health.failed(exc)
        return None
    _health.worked()
    state = state.decode()
    if changed:
        logger.warning("circuit breaker %s", state, extra={"partner": permit.partner, "breaker_state": state})
    return state


def _window_counts(fields: dict[bytes, bytes], *, now: float) -> tuple[int, int]:
    slot_seconds = int(settings.PARTNER_BREAKER_SLOT_SECONDS)
    first = int(now // slot_seconds) - math.ceil(int(settings.PARTNER_BREAKER_WINDOW_SECONDS) / slot_seconds) + 1
    calls = failures = 0
    for name, value in fields.items():
        slot, _, kind = name.decode().partition(":")
        if int(slot) < first:
            continue
        if kind == "c":
            calls += int(value)
        else:
            failures += int(value)
    return calls, failures


def breaker_states(*, partners: tuple[str, ...] = KNOWN_PARTNERS) -> dict[str, dict]:
    """Each partner's breaker: {"state", "since" (aware datetime or None), "until" (when an open
    breaker half-opens, else None), "failure_rate" (0–1 over the window), "calls" (in the window)}.

    Covers `partners` (the adapters' partners unless told) and every partner that ever reported
    a call. An open breaker whose
    cool-down is over shows as half-open: its next call is the probe. Empty when Redis cannot
    be reached."""
    try:
        client = redis_client()
        names = sorted({*partners, *(name.decode() for name in client.smembers(PARTNERS_KEY))})
        pipe = client.pipeline(transaction=False)
        pipe.time()
        for name in names:
            state_key, window_key, _ = _keys(name)
            pipe.hmget(state_key, "state", "since", "until")
            pipe.hgetall(window_key)
        answers = pipe.execute()
    except redis.RedisError:
        logger.warning("circuit breaker states unavailable", exc_info=True)
        return {}
    seconds, micros = answers[0]
    now = seconds + micros / 1_000_000
    states = {}
    for index, name in enumerate(names):
        (state, since, until), window = answers[1 + 2 * index], answers[2 + 2 * index]
        state = state.decode() if state else CLOSED
        until_at = float(until) if until and state == OPEN else None
        if until_at is not None and now >= until_at:
            state, until_at = HALF_OPEN, None
        calls, failures = _window_counts(window, now=now)
        states[name] = {
            "state": state,
            "since": datetime.fromtimestamp(float(since), UTC) if since else None,
            "until": datetime.fromtimestamp(until_at, UTC) if until_at else None,
            "failure_rate": failures / calls if calls else 0.0,
            "calls": calls,
        }
    return states
