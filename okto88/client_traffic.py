"""Per-client traffic: for each caller (an API client, a logged-in user, an anonymous address)
the requests of each minute by answer, and the distinct object ids it asked for per endpoint.

The ident of a caller: "client:<ApiClient pk>" for an API key (the key ids used are kept too,
so a key can be suspended), "user:<pk>" for a browser session, "ip:<address>" otherwise.
Counters per ident and minute (COUNTERS): requests, 2xx, 4xx, 401/403, 404, 429, 5xx, and fast
flows (a cart turned into an order faster than a person could, see flow_order_placed). Object
ids are the URL kwargs of the resolved route (an order number); per endpoint (the route
template) one set of the ids asked ("all") and one of those answered 403/404 ("denied").

How a request travels: okto88.client_watch's middleware adds it to an in-process buffer (a dict
update under a lock); a daemon thread moves the buffer to Redis every
SECURITY_TRAFFIC_FLUSH_SECONDS in one EVALSHA, whose reply is the client guard's state
(okto88.client_guard), so enforcement reaches every process in the same round trip. Redis away:
the buffer waits (bounded) and no request notices.

Redis layout: one hash per minute, MINUTE_KEY, fields "<ident>|<counter>", "<ident>|k:<api key
id>" and "<ident>|i:<all|denied>:<endpoint>" = the distinct ids so far; the id sets themselves
(IDS_KEY) live only SECURITY_TRAFFIC_IDS_TTL_SECONDS (the detectors read the last two minutes).
The analytics rollup claims complete minutes (traffic_minutes_claim) into hourly rows.

Bounds: SECURITY_TRAFFIC_MAX_IDENTS idents per minute (more are counted as "overflow"),
SECURITY_TRAFFIC_MAX_ENDPOINTS id sets per ident and minute (more as endpoint "other"),
SECURITY_TRAFFIC_MAX_IDS ids per set, MAX_KEYS_PER_IDENT key ids per ident and minute, ids
truncated to MAX_ID_CHARS, SECURITY_TRAFFIC_MAX_BUFFER_ENTRIES entries in a process's buffer;
every key has a TTL.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from redis.commands.core import Script

from okto88.client_guard import GUARD_KEY, guard_snapshot_replace
from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)

# Counter letters in Redis, in the order of the buffer's lists.
COUNTERS = ("requests", "s2xx", "s4xx", "auth_failures", "not_found", "throttled", "s5xx", "fast_flows")
_LETTERS = ("r", "2", "4", "a", "n", "t", "5", "f")
REQUESTS, S2XX, S4XX, AUTH_FAILURES, NOT_FOUND, THROTTLED, S5XX, FAST_FLOWS = range(len(COUNTERS))
ALL, DENIED = "all", "denied"
OVERFLOW = "overflow"
OTHER_ENDPOINT = "other"
MAX_ID_CHARS = 64
MAX_IDENT_CHARS = 80
MAX_KEYS_PER_IDENT = 10

KEY_PREFIX = "okto88:traffic:"
MINUTE_KEY = "okto88:traffic:m:{minute}"
CLAIMED_KEY = "okto88:traffic:claimed:{minute}:{token}"
IDS_KEY = "okto88:traffic:ids:{minute}:{cls}:{ident}:{endpoint}"
_MINUTE_KEY_PREFIX = MINUTE_KEY.split("{")[0]

# ARGV: minute ttl, ids ttl, max idents, max id sets per ident, max ids per set, max keys per
# ident, the guard's key, now; then records: 'c' minute ident n1..n8 | 'i' minute ident cls
# endpoint n id1..idn | 'k' minute ident key_id. An ident's 'c' comes before its 'i' and 'k'.
_FLUSH_SCRIPT = """
local minute_ttl, ids_ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local max_idents, max_sets, max_ids, max_keys = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]),
  tonumber(ARGV[6])
local guard_key, now = ARGV[7], tonumber(ARGV[8])
local letters = {'r', '2', '4', 'a', 'n', 't', '5', 'f'}
local touched = {}
local function ident_of(key, ident)
  if redis.call('HEXISTS', key, ident .. '|r') == 1 then return ident end
  return 'overflow'
end
local i = 9
while i <= #ARGV do
  local kind, minute, ident = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = 'okto88:traffic:m:' .. minute
  touched[key] = true
  if kind == 'c' then
    if redis.call('HEXISTS', key, ident .. '|r') == 0 then
      if tonumber(redis.call('HGET', key, '#') or '0') >= max_idents then ident = 'overflow' end
      if redis.call('HEXISTS', key, ident .. '|r') == 0 then redis.call('HINCRBY', key, '#', 1) end
    end
    redis.call('HINCRBY', key, ident .. '|r', tonumber(ARGV[i + 3]))
    for c = 2, 8 do
      local n = tonumber(ARGV[i + 2 + c])
      if n ~= 0 then redis.call('HINCRBY', key, ident .. '|' .. letters[c], n) end
    end
    i = i + 11
  elseif kind == 'i' then
    ident = ident_of(key, ident)
    local cls, endpoint, n = ARGV[i + 3], ARGV[i + 4], tonumber(ARGV[i + 5])
    local field = ident .. '|i:' .. cls .. ':' .. endpoint
    if redis.call('HEXISTS', key, field) == 0 then
      if tonumber(redis.call('HGET', key, ident .. '|#i') or '0') >= max_sets then
        endpoint = 'other'
        field = ident .. '|i:' .. cls .. ':other'
      end
      if redis.call('HEXISTS', key, field) == 0 then redis.call('HINCRBY', key, ident .. '|#i', 1) end
    end
    local set_key = 'okto88:traffic:ids:' .. minute .. ':' .. cls .. ':' .. ident .. ':' .. endpoint
    for j = 1, n do
      if redis.call('SCARD', set_key) >= max_ids then break end
      redis.call('SADD', set_key, ARGV[i + 5 + j])
    end
    redis.call('EXPIRE', set_key, ids_ttl)
    redis.call('HSET', key, field, redis.call('SCARD', set_key))
    i = i + 6 + n
  else
    ident = ident_of(key, ident)
    local field = ident .. '|k:' .. ARGV[i + 3]
    local known = redis.call('HEXISTS', key, field) == 1
    if known or tonumber(redis.call('HGET', key, ident .. '|#k') or '0') < max_keys then
      if not known then redis.call('HINCRBY', key, ident .. '|#k', 1) end
      redis.call('HINCRBY', key, field, 1)
    end
    i = i + 4
  end
end
for key, _ in pairs(touched) do redis.call('EXPIRE', key, minute_ttl) end
local guard = redis.call('HGETALL', guard_key)
local live = {}
for j = 1, #guard, 2 do
  if tonumber(guard[j + 1]) <= now then redis.call('HDEL', guard_key, guard[j])
  else table.insert(live, guard[j]); table.insert(live, guard[j + 1]) end
end
return live
"""

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

# Adds a claimed hash back into its minute: counters add up, distinct counts keep the larger.
_RESTORE_SCRIPT = """
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if string.find(name, '|i:', 1, true) then
    local current = tonumber(redis.call('HGET', KEYS[2], name) or '0')
    if tonumber(value) > current then redis.call('HSET', KEYS[2], name, value) end
  else
    redis.call('HINCRBY', KEYS[2], name, value)
  end
end
redis.call('DEL', KEYS[1])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
return 1
"""

_flush_script = Script(None, _FLUSH_SCRIPT.encode())
_claim_script = Script(None, _CLAIM_SCRIPT.encode())
_restore_script = Script(None, _RESTORE_SCRIPT.encode())


def _setting(name: str, default):
    return getattr(settings, name, default)


def ident_clean(ident: str) -> str:
    """An ident safe as a field name: no '|' (the field separator), bounded length."""
    return ident.replace("|", "_")[:MAX_IDENT_CHARS]


# --- the calling path ---------------------------------------------------------------------------
_lock = threading.Lock()
_counts: dict[tuple[int, str], list[int]] = {}
_ids: dict[tuple[int, str, str, str], set[str]] = {}
_keys: dict[tuple[int, str], set[int]] = {}
_dropped = 0
_flusher: threading.Thread | None = None
_flusher_pid = 0
_flush_lock = threading.Lock()
_stop = threading.Event()


def _counter_index(status: int) -> tuple[int, ...]:
    if status < 300:
        return (S2XX,) if status >= 200 else ()
    if status < 400:
        return ()
    if status >= 500:
        return (S5XX,)
    if status in (401, 403):
        return (S4XX, AUTH_FAILURES)
    if status == 404:
        return (S4XX, NOT_FOUND)
    if status == 429:
        return (S4XX, THROTTLED)
    return (S4XX,)


def traffic_count(*, ident: str, status: int, endpoint: str | None = None, object_id: str | None = None,
                  api_key_id: int | None = None, ids_counted: bool = True, refused: bool = False,
                  now: float | None = None) -> None:
    """Count one answered request of `ident`. Never raises: counting must not fail a request.
    `refused`: the guard itself answered (a suspended key, a tightened throttle): a request, and
    a 429 if it was one, but not an error or an authentication failure, or a caller already
    stopped would go on raising error-ratio and authentication-failure alerts by retrying."""
    if not settings.SECURITY_TRAFFIC_ENABLED:
        return
    global _dropped
    minute = int((time.time() if now is None else now) // 60)
    with _lock:
        counts = _counts.get((minute, ident))
        if counts is None:
            if len(_counts) + len(_ids) >= _setting("SECURITY_TRAFFIC_MAX_BUFFER_ENTRIES", 20_000):
                _dropped += 1
                return
            counts = _counts[(minute, ident)] = [0] * len(COUNTERS)
        counts[REQUESTS] += 1
        for index in _counter_index(status):
            if not refused or index == THROTTLED:
                counts[index] += 1
        if api_key_id is not None:
            keys = _keys.setdefault((minute, ident), set())
            if len(keys) < MAX_KEYS_PER_IDENT:
                keys.add(api_key_id)
        if object_id is not None and endpoint is not None and ids_counted:
            object_id = object_id[:MAX_ID_CHARS]
            classes = (ALL, DENIED) if status in (403, 404) else (ALL,)
            cap = _setting("SECURITY_TRAFFIC_MAX_IDS", 200)
            for cls in classes:
                ids = _ids.get((minute, ident, cls, endpoint))
                if ids is None:
                    if len(_counts) + len(_ids) >= _setting("SECURITY_TRAFFIC_MAX_BUFFER_ENTRIES", 20_000):
                        continue
                    ids = _ids[(minute, ident, cls, endpoint)] = set()
                if len(ids) < cap:
                    ids.add(object_id)
    if _flusher is None:
        _flusher_start()


def fast_flow_count(*, ident: str, now: float | None = None) -> None:
    """Count one fast flow of `ident` (no request: the placing request is counted on its own)."""
    if not settings.SECURITY_TRAFFIC_ENABLED:
        return
    minute = int((time.time() if now is None else now) // 60)
    with _lock:
        counts = _counts.setdefault((minute, ident), [0] * len(COUNTERS))
        counts[FAST_FLOWS] += 1
    if _flusher is None:
        _flusher_start()


# --- fast flows: the workshop's cart and its checkout (orders.views) ---------------------------
CART_CHANGED_SESSION_KEY = "okto88_cart_changed_at"


def flow_cart_changed(request) -> None:
    """The cart was shown or changed in this browser session now."""
    request.session[CART_CHANGED_SESSION_KEY] = time.time()


def flow_order_placed(request) -> bool:
    """An order was placed from this browser session now: a fast flow when the cart was shown or
    changed less than SECURITY_FAST_FLOW_SECONDS before (a script, not a person). Counted for the
    user; returns whether it was fast."""
    changed_at = request.session.get(CART_CHANGED_SESSION_KEY)
    user = getattr(request, "user", None)
    if not isinstance(changed_at, (int, float)) or user is None or not user.is_authenticated:
        return False
    fast = time.time() - changed_at < settings.SECURITY_FAST_FLOW_SECONDS
    if fast:
        fast_flow_count(ident=f"user:{user.pk}")
    return fast


# --- the flusher --------------------------------------------------------------------------------
def _flusher_start() -> None:
    global _flusher, _flusher_pid
    with _lock:
        if _flusher is not None and _flusher_pid == os.getpid():
            return
        _flusher_pid = os.getpid()
        _flusher = threading.Thread(target=_flusher_loop, name="okto88-traffic-flush", daemon=True)
        _flusher.start()


def _flusher_loop() -> None:
    while not _stop.wait(_setting("SECURITY_TRAFFIC_FLUSH_SECONDS", 1.0)):
        try:
            traffic_flush()
        except Exception:  # Redis away: the entries went back to the buffer (bounded)
            logger.warning("traffic flush failed", exc_info=True)


def _buffer_take():
    global _counts, _ids, _keys, _dropped
    with _lock:
        taken = (_counts, _ids, _keys, _dropped)
        _counts, _ids, _keys, _dropped = {}, {}, {}, 0
    return taken


def _buffer_return(counts, ids, keys) -> None:
    global _dropped
    limit = _setting("SECURITY_TRAFFIC_MAX_BUFFER_ENTRIES", 20_000)
    with _lock:
        for key, values in counts.items():
            entry = _counts.get(key)
            if entry is None:
                if len(_counts) + len(_ids) >= limit:
                    _dropped += values[REQUESTS]
                    continue
                _counts[key] = values
            else:
                for index, value in enumerate(values):
                    entry[index] += value
        for key, values in ids.items():
            if key in _ids or len(_counts) + len(_ids) < limit:
                _ids.setdefault(key, set()).update(values)
        for key, values in keys.items():
            _keys.setdefault(key, set()).update(values)


def traffic_flush() -> int:
    """Move this process's buffer to Redis now and refresh the guard snapshot from the reply;
    returns the entries written. The flusher thread calls it every second; tests call it to know
    the counts are in Redis."""
    with _flush_lock:
        counts, ids, keys, dropped = _buffer_take()
        if dropped:
            logger.warning("traffic buffer full: %d requests not counted", dropped)
        now = time.time()
        args: list = [
            _setting("SECURITY_TRAFFIC_MINUTE_TTL_SECONDS", 3 * 3600),
            _setting("SECURITY_TRAFFIC_IDS_TTL_SECONDS", 180),
            _setting("SECURITY_TRAFFIC_MAX_IDENTS", 2000),
            _setting("SECURITY_TRAFFIC_MAX_ENDPOINTS", 20),
            _setting("SECURITY_TRAFFIC_MAX_IDS", 200),
            MAX_KEYS_PER_IDENT, GUARD_KEY, repr(now),
        ]
        for (minute, ident), values in counts.items():
            args += ["c", minute, ident, *values]
        for (minute, ident, cls, endpoint), values in ids.items():
            if (minute, ident) in counts:  # its count travels in this flush (its 'c' comes first)
                args += ["i", minute, ident, cls, endpoint, len(values), *sorted(values)]
        for (minute, ident), values in keys.items():
            if (minute, ident) in counts:
                for key_id in sorted(values):
                    args += ["k", minute, ident, key_id]
        try:
            live = _flush_script(keys=[], args=args, client=redis_client())
        except Exception:
            _buffer_return(counts, ids, keys)
            raise
        guard_snapshot_replace(dict(zip(live[::2], live[1::2], strict=True)), now=now)
        return len(counts) + len(ids)


def _at_exit() -> None:
    _stop.set()
    try:
        traffic_flush()
    except Exception:
        logger.warning("traffic flush at exit failed", exc_info=True)


def _after_fork_in_child() -> None:
    global _lock, _flush_lock, _counts, _ids, _keys, _dropped, _flusher, _flusher_pid, _stop
    _lock, _flush_lock, _stop = threading.Lock(), threading.Lock(), threading.Event()
    _counts, _ids, _keys, _dropped = {}, {}, {}, 0
    _flusher, _flusher_pid = None, 0


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)


# --- reading back (the analytics detectors and rollup) ------------------------------------------
@dataclass
class IdentMinute:
    """One ident's traffic in one minute."""

    counts: list[int] = field(default_factory=lambda: [0] * len(COUNTERS))
    distinct_ids: dict[tuple[str, str], int] = field(default_factory=dict)  # (cls, endpoint) → distinct ids
    api_key_ids: set[int] = field(default_factory=set)

    def count(self, name: str) -> int:
        return self.counts[COUNTERS.index(name)]


def traffic_hash_parse(fields: dict[bytes, bytes]) -> dict[str, IdentMinute]:
    idents: dict[str, IdentMinute] = {}
    for raw_name, raw_value in fields.items():
        name = raw_name.decode()
        ident, sep, rest = name.partition("|")
        if not sep or rest.startswith("#"):
            continue
        entry = idents.setdefault(ident, IdentMinute())
        if rest.startswith("i:"):
            cls, _, endpoint = rest[2:].partition(":")
            entry.distinct_ids[(cls, endpoint)] = int(raw_value)
        elif rest.startswith("k:"):
            with contextlib.suppress(ValueError):
                entry.api_key_ids.add(int(rest[2:]))
        elif rest in _LETTERS:
            entry.counts[_LETTERS.index(rest)] = int(raw_value)
    return idents


def traffic_minutes_read(*, minutes: list[int]) -> dict[int, dict[str, IdentMinute]]:
    """The traffic of these minutes (since the epoch) as far as Redis holds it."""
    pipe = redis_client().pipeline(transaction=False)
    for minute in minutes:
        pipe.hgetall(MINUTE_KEY.format(minute=minute))
    return {minute: traffic_hash_parse(fields) for minute, fields in zip(minutes, pipe.execute(), strict=True)}


def traffic_denied_ids_sample(*, minute: int, ident: str, endpoint: str, limit: int = 10) -> list[str]:
    """A few of the ids `ident` was refused on `endpoint` in `minute` (for an alert's details)."""
    key = IDS_KEY.format(minute=minute, cls=DENIED, ident=ident, endpoint=endpoint)
    return sorted(value.decode() for value in redis_client().srandmember(key, limit) or [])


CLAIM_MAX_MINUTES = 500


@contextlib.contextmanager
def traffic_minutes_claim(*, before_minute: int) -> Iterator[list[tuple[int, dict[str, IdentMinute]]]]:
    """Claims every minute hash older than `before_minute` still in Redis, yields
    [(minute, {ident: IdentMinute})], and deletes them when the block ends without an error; on an
    error they are added back to their minutes, so nothing is counted twice or lost."""
    ttl = _setting("SECURITY_TRAFFIC_MINUTE_TTL_SECONDS", 3 * 3600)
    token = uuid.uuid4().hex
    client = redis_client()
    found = set()
    for name in client.scan_iter(match=f"{_MINUTE_KEY_PREFIX}*", count=1000):
        suffix = name.decode()[len(_MINUTE_KEY_PREFIX):]
        if suffix.isdigit():
            found.add(int(suffix))
    minutes = sorted(minute for minute in found if minute < before_minute)[:CLAIM_MAX_MINUTES]
    keys = [MINUTE_KEY.format(minute=minute) for minute in minutes]
    claims = [CLAIMED_KEY.format(minute=minute, token=token) for minute in minutes]
    claimed = [name.decode() for name in _claim_script(keys=keys, args=claims, client=client)]
    try:
        yield [(int(name.split(":")[3]), traffic_hash_parse(client.hgetall(name))) for name in claimed]
    except BaseException:
        for name in claimed:
            _restore_script(keys=[name, MINUTE_KEY.format(minute=int(name.split(":")[3]))], args=[ttl], client=client)
        raise
    if claimed:
        client.delete(*claimed)
