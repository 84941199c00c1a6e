"""Recording of timed events (requests, partner calls, workflow steps) and counts (search
demand): the one place every measured thing goes, cheap enough for every request.

API (stable; issue 13):
- record(kind, labels, seconds, outcome="ok"): one timed event.
  kinds: "request" (method, route) outcome "2xx".."5xx"; "partner" (partner, operation)
  outcome ok|rejected|error|timeout|open; "step_wait" (step,) and "step_run" (step, error_code) outcome
  the step run's status.
- count(kind, labels, n=1): one counted event with no duration (e.g. "demand").

How a measurement travels: the caller adds it to an in-process buffer (a dict keyed by kind,
labels, outcome and the minute of the event: a count, a sum of milliseconds and one counter
per histogram bucket), so the calling path pays a dict update under a lock. A daemon thread
moves the buffer to Redis every RECORDING_FLUSH_SECONDS (and at exit), into one hash per
minute (kept RECORDING_MINUTE_TTL_SECONDS) and, for the kinds Prometheus shows, into
cumulative hashes that are never reset. Celery beat (analytics.rollups_flush) then moves
complete minutes from Redis into PostgreSQL rollups; see docs/architecture.md.

Bounds: at most RECORDING_MAX_SERIES label sets per kind and minute (in the buffer and again in
Redis, where all processes meet), more are counted under labels "other"; at most
RECORDING_MAX_BUFFER_ENTRIES entries wait in the buffer (more are dropped and logged); the
cumulative hashes hold at most RECORDING_MAX_TOTAL_SERIES label sets per kind.
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from redis.commands.core import Script

from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)

# Upper bounds (inclusive) of the histogram buckets, in milliseconds; one more bucket past the
# last holds everything slower (+Inf). The rollups' percentiles and the Prometheus histograms
# both read these counters, so they are defined here once. A fixed set lets any two histograms
# (processes, minutes, routes) be added bucket by bucket, which is what makes rollups cheap.
BUCKET_BOUNDS_MS: tuple[float, ...] = (
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
)
SLOT_COUNT = len(BUCKET_BOUNDS_MS) + 1  # the histogram's buckets, +Inf last

# Kinds whose cumulative histograms Prometheus shows (okto88.metrics); requests already have
# prometheus_client's own, and counted kinds (demand) are figures only.
CUMULATIVE_KINDS = frozenset({"step_wait", "step_run", "partner"})

OTHER = "other"
MINUTE_KEY = "okto88:rec:m:{minute}"
CLAIMED_KEY = "okto88:rec:claimed:{minute}:{token}"
TOTAL_KEY = "okto88:rec:t:{kind}"
KEY_PREFIX = "okto88:rec:"

# Hash fields: '<series json>|c' (count), '|s' (sum of ms), '|<slot>' (one histogram bucket);
# '#<kind>' counts the distinct series of a kind in that hash (for the cap).
_FLUSH_SCRIPT = """
local ttl = tonumber(ARGV[1])
local minute_cap = tonumber(ARGV[2])
local total_cap = tonumber(ARGV[3])
local slots = tonumber(ARGV[4])
local i = 5
local function add(key, cap, kind, series, other, count, sum_ms, first)
  local field = series
  if redis.call('HEXISTS', key, series .. '|c') == 0 then
    if tonumber(redis.call('HGET', key, '#' .. kind) or '0') >= cap then
      field = other
    end
    if redis.call('HEXISTS', key, field .. '|c') == 0 then
      redis.call('HINCRBY', key, '#' .. kind, 1)
    end
  end
  redis.call('HINCRBY', key, field .. '|c', count)
  if sum_ms ~= 0 then redis.call('HINCRBYFLOAT', key, field .. '|s', sum_ms) end
  for slot = 0, slots - 1 do
    local n = tonumber(ARGV[first + slot])
    if n ~= 0 then redis.call('HINCRBY', key, field .. '|' .. slot, n) end
  end
end
while i <= #ARGV do
  local kind, minute, series, other, cumulative = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local count, sum_ms = tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6])
  local minute_key = 'okto88:rec:m:' .. minute
  add(minute_key, minute_cap, kind, series, other, count, sum_ms, i + 7)
  redis.call('EXPIRE', minute_key, ttl)
  if cumulative == '1' then
    add('okto88:rec:t:' .. kind, total_cap, kind, series, other, count, sum_ms, i + 7)
  end
  i = i + 7 + slots
end
return 1
"""

# Takes each minute hash that exists by renaming it (atomic: of two flushers, one gets it).
_CLAIM_SCRIPT = """
local claimed = {}
for index, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('RENAME', key, ARGV[index])
    table.insert(claimed, ARGV[index])
  end
end
return claimed
"""

# Adds a claimed hash back into its minute (when writing it to PostgreSQL failed).
_RESTORE_SCRIPT = """
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if string.sub(name, -2) == '|s' then
    redis.call('HINCRBYFLOAT', KEYS[2], name, value)
  else
    redis.call('HINCRBY', KEYS[2], name, value)
  end
end
redis.call('DEL', KEYS[1])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
return 1
"""


# Sent once per server and then called by their SHA (EVALSHA), whichever client runs them.
_flush_script = Script(None, _FLUSH_SCRIPT.encode())
_claim_script = Script(None, _CLAIM_SCRIPT.encode())
_restore_script = Script(None, _RESTORE_SCRIPT.encode())


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- the calling path -------------------------------------------------------------------------
_lock = threading.Lock()
_buffer: dict[tuple, list] = {}
_series_seen: dict[tuple[str, int], set[tuple[str, ...]]] = {}  # (kind, minute) -> label sets
_dropped = 0
_flusher: threading.Thread | None = None
_flusher_pid = 0
_flush_lock = threading.Lock()
_stop = threading.Event()


def record(kind: str, labels: tuple[str, ...], seconds: float, outcome: str = "ok") -> None:
    if not settings.RECORDING_ENABLED:
        return
    now = time.time()
    ms = seconds * 1000.0
    _add(kind, labels, outcome, int(now // 60), 1, ms, bisect.bisect_left(BUCKET_BOUNDS_MS, ms))


def count(kind: str, labels: tuple[str, ...], n: int = 1) -> None:
    if not settings.RECORDING_ENABLED:
        return
    _add(kind, labels, "ok", int(time.time() // 60), n, 0.0, None)


def _add(kind: str, labels: tuple[str, ...], outcome: str, minute: int, n: int, ms: float, slot: int | None) -> None:
    global _dropped
    if type(labels) is not tuple:  # a list would be unhashable: recording never fails its caller
        labels = tuple(labels)
    key = (kind, labels, outcome, minute)
    with _lock:
        entry = _buffer.get(key)
        if entry is None:
            entry = _entry_new(key)
            if entry is None:
                _dropped += n
                return
        entry[0] += n
        entry[1] += ms
        if slot is not None:
            entry[2 + slot] += n
    if _flusher is None:  # the first event of this process (or of a forked child)
        _flusher_start()


def _entry_new(key: tuple) -> list | None:
    """A new buffer entry (the caller holds the lock), its labels folded into "other" past the cap."""
    kind, labels, outcome, minute = key
    if len(_buffer) >= _setting("RECORDING_MAX_BUFFER_ENTRIES", 20_000):
        return None
    seen = _series_seen.setdefault((kind, minute), set())
    if labels not in seen:
        if len(seen) >= _setting("RECORDING_MAX_SERIES", 500):
            key = (kind, (OTHER,) * len(labels), outcome, minute)
            entry = _buffer.get(key)
            if entry is not None:
                return entry
        else:
            seen.add(labels)
    entry = [0, 0.0] + [0] * SLOT_COUNT
    _buffer[key] = entry
    return entry


# --- the flusher ----------------------------------------------------------------------------
def _flusher_start() -> None:
    global _flusher, _flusher_pid
    with _lock:
        if _flusher is not None and _flusher_pid == os.getpid():
            return
        _flusher_pid = os.getpid()
        _flusher = threading.Thread(target=_flusher_loop, name="okto88-recording-flush", daemon=True)
        _flusher.start()


def _flusher_loop() -> None:
    while not _stop.wait(_setting("RECORDING_FLUSH_SECONDS", 2.0)):
        try:
            recording_flush()
        except Exception:  # Redis away: the entries went back to the buffer (bounded)
            logger.warning("recording flush failed", exc_info=True)


def _buffer_take() -> tuple[dict[tuple, list], int]:
    global _buffer, _series_seen, _dropped
    with _lock:
        taken, dropped = _buffer, _dropped
        _buffer, _dropped = {}, 0
        current = int(time.time() // 60)
        # The cap counts label sets per minute; past minutes' sets are no longer needed.
        _series_seen = {k: v for k, v in _series_seen.items() if k[1] >= current - 1}
    return taken, dropped


def _buffer_return(entries: dict[tuple, list]) -> None:
    """Put entries that could not reach Redis back, as far as the buffer's bound allows."""
    global _dropped
    limit = _setting("RECORDING_MAX_BUFFER_ENTRIES", 20_000)
    with _lock:
        for key, values in entries.items():
            entry = _buffer.get(key)
            if entry is None:
                if len(_buffer) >= limit:
                    _dropped += values[0]
                    continue
                _buffer[key] = values
            else:
                for index, value in enumerate(values):
                    entry[index] += value


def recording_flush() -> int:
    """Move this process's buffer to Redis now; returns the entries written. The flusher thread
    calls it every few seconds; tests and benchmarks call it to know the data is in Redis."""
    with _flush_lock:
        entries, dropped = _buffer_take()
        if dropped:
            logger.warning("recording buffer full: %d events dropped", dropped)
        if not entries:
            return 0
        args: list = [
            _setting("RECORDING_MINUTE_TTL_SECONDS", 3 * 3600),
            _setting("RECORDING_MAX_SERIES", 500),
            _setting("RECORDING_MAX_TOTAL_SERIES", 2000),
            SLOT_COUNT,
        ]
        for (kind, labels, outcome, minute), values in entries.items():
            args += [kind, minute, series_encode(kind, labels, outcome),
                     series_encode(kind, (OTHER,) * len(labels), outcome),
                     "1" if kind in CUMULATIVE_KINDS else "0", values[0], repr(values[1]), *values[2:]]
        try:
            _flush_script(keys=[], args=args, client=redis_client())
        except Exception:
            _buffer_return(entries)
            raise
        return len(entries)


def _at_exit() -> None:
    _stop.set()
    try:
        recording_flush()
    except Exception:
        logger.warning("recording flush at exit failed", exc_info=True)


def _after_fork_in_child() -> None:
    # A forked worker (gunicorn, Celery prefork) starts empty: the parent flushes what it
    # buffered, and the child's own flusher starts with its first event. The locks are new in
    # case the fork happened while another thread of the parent held one.
    global _lock, _flush_lock, _buffer, _series_seen, _dropped, _flusher, _flusher_pid, _stop
    _lock, _flush_lock, _stop = threading.Lock(), threading.Lock(), threading.Event()
    _buffer, _series_seen, _dropped = {}, {}, 0
    _flusher, _flusher_pid = None, 0


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)


# --- reading back (analytics' flush and the Prometheus collectors) ----------------------------
def series_encode(kind: str, labels: tuple[str, ...], outcome: str) -> str:
    return json.dumps([kind, list(labels), outcome], separators=(",", ":"), ensure_ascii=False)


@dataclass
class RecordedSeries:
    kind: str
    labels: tuple[str, ...]
    outcome: str
    count: int
    sum_ms: float
    histogram: list[int]  # SLOT_COUNT counters (not cumulative), +Inf last


def recorded_hash_parse(fields: dict[bytes, bytes]) -> list[RecordedSeries]:
    """The series of one recording hash (a minute's, or a kind's cumulative one)."""
    series: dict[str, RecordedSeries] = {}
    for raw_name, raw_value in fields.items():
        name = raw_name.decode()
        if name.startswith("#"):
            continue
        encoded, _, slot = name.rpartition("|")
        entry = series.get(encoded)
        if entry is None:
            kind, labels, outcome = json.loads(encoded)
            labels = tuple(str(label) for label in labels)
            entry = series[encoded] = RecordedSeries(kind, labels, outcome, 0, 0.0, [0] * SLOT_COUNT)
        if slot == "c":
            entry.count = int(raw_value)
        elif slot == "s":
            entry.sum_ms = float(raw_value)
        else:
            entry.histogram[int(slot)] = int(raw_value)
    return list(series.values())


def recorded_totals(kind: str) -> list[RecordedSeries]:
    """The cumulative (never reset) series of a kind in CUMULATIVE_KINDS, for Prometheus."""
    return recorded_hash_parse(redis_client().hgetall(TOTAL_KEY.format(kind=kind)))


# Minutes claimed by one flush at most (a backlog is taken over several flushes).
CLAIM_MAX_MINUTES = 2000
_MINUTE_KEY_PREFIX = MINUTE_KEY.split("{")[0]


def _recorded_minutes(client) -> set[int]:
    minutes = set()
    for name in client.scan_iter(match=f"{_MINUTE_KEY_PREFIX}*", count=1000):
        suffix = name.decode()[len(_MINUTE_KEY_PREFIX):]
        if suffix.isdigit():
            minutes.add(int(suffix))
    return minutes


@contextlib.contextmanager
def recorded_minutes_claim(*, before_minute: int) -> Iterator[list[tuple[int, list[RecordedSeries]]]]:
    """Claims every minute hash older than `before_minute` (minutes since the epoch) still in
    Redis, yields [(minute, series)], and deletes them when the block ends without an error; on
    an error they are added back to their minutes, so nothing is counted twice or lost."""
    ttl = _setting("RECORDING_MINUTE_TTL_SECONDS", 3 * 3600)
    token = uuid.uuid4().hex
    client = redis_client()
    # Found by SCAN, not by counting back from now: minutes recorded under a shifted clock (the
    # demo history) are as old as their events, and a flusher that was away finds every minute.
    minutes = sorted(minute for minute in _recorded_minutes(client) if minute < before_minute)[:CLAIM_MAX_MINUTES]
    keys = [MINUTE_KEY.format(minute=minute) for minute in minutes]
    claims = [CLAIMED_KEY.format(minute=minute, token=token) for minute in minutes]
    claimed = [name.decode() for name in _claim_script(keys=keys, args=claims, client=client)]
    try:
        batches = [(int(name.split(":")[3]), recorded_hash_parse(client.hgetall(name))) for name in claimed]
        yield batches
    except BaseException:
        for name in claimed:
            minute = int(name.split(":")[3])
            _restore_script(keys=[name, MINUTE_KEY.format(minute=minute)], args=[ttl], client=client)
        raise
    if claimed:
        client.delete(*claimed)
