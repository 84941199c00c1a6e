"""What security monitoring enforces on a client, for a cool-off: a tightened throttle (an
ident: "client:<ApiClient pk>", "user:<pk>", "ip:<address>") or a suspended API key.

The state is one Redis hash (GUARD_KEY), field "<action>|<target>" → the epoch second the action
ends. The detectors (analytics.services.security_traffic) write it; every process keeps a
snapshot in memory, replaced by the traffic flusher each time it flushes (okto88.client_traffic
returns the hash in the same round trip), so checking a request costs no round trip at all.
An action is seen by every process within SECURITY_TRAFFIC_FLUSH_SECONDS.

Bound: at most SECURITY_GUARD_MAX_ENTRIES live entries (more actions are refused and logged);
entries past their end are deleted by the flusher's script.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)

GUARD_KEY = "okto88:guard"
TIGHTEN = "tighten"
SUSPEND = "suspend"

# Sets each field to the later of its current end and the new one, unless the hash is full.
_APPLY_SCRIPT = """
local cap = tonumber(ARGV[1])
local applied = 0
for i = 2, #ARGV, 2 do
  local field, until_at = ARGV[i], tonumber(ARGV[i + 1])
  local current = redis.call('HGET', KEYS[1], field)
  if current or redis.call('HLEN', KEYS[1]) < cap then
    if not current or tonumber(current) < until_at then
      redis.call('HSET', KEYS[1], field, ARGV[i + 1])
    end
    applied = applied + 1
  end
end
return applied
"""

_lock = threading.Lock()
_snapshot: dict[str, float] = {}
_snapshot_at = 0.0


def guard_field(action: str, target: str) -> str:
    return f"{action}|{target}"


def guard_snapshot_replace(entries: dict[bytes | str, bytes | str], *, now: float | None = None) -> None:
    """Replace this process's snapshot with the hash's entries (the flusher's reply)."""
    global _snapshot, _snapshot_at
    now = time.time() if now is None else now
    fresh = {}
    for field, value in entries.items():
        name = field.decode() if isinstance(field, bytes) else field
        try:
            until_at = float(value)
        except (TypeError, ValueError):
            continue
        if until_at > now:
            fresh[name] = until_at
    with _lock:
        _snapshot, _snapshot_at = fresh, now


def guard_refresh() -> None:
    """Read the state from Redis now (the flusher does it every flush; tests and a process that
    has not flushed yet call this)."""
    guard_snapshot_replace(redis_client().hgetall(GUARD_KEY))


# A snapshot older than this is read again on the calling path (once per period): the flusher
# refreshes it every second while it runs, but a process that counts nothing (counting off) has none.
STALE_AFTER_SECONDS = 5.0


def _until(field: str, now: float) -> float | None:
    global _snapshot_at
    if now - _snapshot_at > STALE_AFTER_SECONDS:
        try:
            guard_refresh()
        except Exception:  # Redis away: nothing is enforced rather than every request failing
            logger.warning("client guard state unavailable", exc_info=True)
            _snapshot_at = now  # asked once; the flusher tries again
    if not _snapshot:
        return None
    until_at = _snapshot.get(field)
    return until_at if until_at is not None and until_at > now else None


def guard_active() -> bool:
    """Whether anything may be enforced (the common case: nothing, and no check is needed)."""
    return bool(_snapshot) or time.time() - _snapshot_at > STALE_AFTER_SECONDS


def ident_tightened_until(ident: str, *, now: float | None = None) -> float | None:
    return _until(guard_field(TIGHTEN, ident), time.time() if now is None else now)


def api_key_suspended_until(api_key_id: int, *, now: float | None = None) -> float | None:
    return _until(guard_field(SUSPEND, f"key:{api_key_id}"), time.time() if now is None else now)


def _apply(fields: list[str], *, seconds: float, now: float | None) -> int:
    now = time.time() if now is None else now
    until_at = now + seconds
    args: list = [settings.SECURITY_GUARD_MAX_ENTRIES]
    for field in fields:
        args += [field, repr(until_at)]
    client = redis_client()
    applied = int(client.register_script(_APPLY_SCRIPT)(keys=[GUARD_KEY], args=args, client=client))
    if applied < len(fields):
        logger.error("client guard full: %d of %d actions not applied", len(fields) - applied, len(fields))
    guard_refresh()
    return applied


def client_throttle_tighten(*, ident: str, seconds: float, now: float | None = None) -> float:
    """Tighten `ident`'s throttle to SECURITY_TIGHTENED_RATE for `seconds`; returns when it ends."""
    now = time.time() if now is None else now
    _apply([guard_field(TIGHTEN, ident)], seconds=seconds, now=now)
    return now + seconds


def api_keys_suspend(*, api_key_ids: list[int], seconds: float, now: float | None = None) -> float:
    """Suspend these API keys for `seconds` (403 api_key_suspended); returns when it ends."""
    now = time.time() if now is None else now
    if api_key_ids:
        _apply([guard_field(SUSPEND, f"key:{key_id}") for key_id in sorted(set(api_key_ids))], seconds=seconds,
               now=now)
    return now + seconds


def guard_entries(*, now: float | None = None) -> dict[str, float]:
    """The live entries in Redis (for the operations view), field → end."""
    now = time.time() if now is None else now
    entries = {}
    for field, value in redis_client().hgetall(GUARD_KEY).items():
        until_at = float(value)
        if until_at > now:
            entries[field.decode()] = until_at
    return entries


def guard_lift(*, action: str, target: str) -> None:
    """End an action early (an operator's decision)."""
    redis_client().hdel(GUARD_KEY, guard_field(action, target))
    guard_refresh()
