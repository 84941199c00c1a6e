"""Login lockout and the password-reset bounds.

Every login goes through django.contrib.auth.authenticate (the site's login page, /admin/ and
/supplier-admin/), where django-axes' backend refuses a locked account or address before any
password is checked, and counts each failure through the handler below (AXES_HANDLER).

The handler keeps two counters in Redis for each failed login, each with its own limit:
the account (the e-mail typed, lower-cased, from any address: LOGIN_LOCKOUT_ACCOUNT_FAILURES)
and the client address (over any accounts: LOGIN_LOCKOUT_ADDRESS_FAILURES). A counter lives
for the cool-off after its latest failure, so failures spread further apart than that never
add up, and a lock lasts the cool-off from the failure that set it: attempts refused during a
lock are not counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False). Axes' own
handlers compare one limit with the larger of the counters and key a counter by its bare value,
so an e-mail field holding "203.0.113.5" would count against that address; here each counter
has its limit and its kind in its key. Failures for unknown accounts count the same, so the
answer never tells whether an account exists.

axes sends `axes.signals.user_locked_out` (request, username, ip_address) once, on the failure
that locks an account or address: the place to hang an alert on.

Password reset (okto88.views) is not a login: its requests and its links are bounded here in
the API's fixed windows (okto88.api.rate_windows), per e-mail address and per client address.
Redis being down lets logins and resets through (logged), as the API's throttles do.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from hashlib import sha256

import redis
from axes.handlers.base import AbstractAxesHandler, AxesBaseHandler
from axes.helpers import get_client_username
from axes.signals import user_locked_out
from django.conf import settings

from okto88.api.rate_windows import client_address, rate_window, window_count
from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)

KEY_PREFIX = "lockout"

# INCR, and the counter lives for the cool-off after this failure: one round trip per failure.
_FAILURE_LUA = """
local count = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return count
"""
_failure_count: list = []  # the registered Script


def _digest(value: str) -> str:
    return sha256(value.encode()).hexdigest()


def account_ident(username: str) -> str:
    """The account a login names, as counted: the e-mail typed, trimmed and lower-cased, so
    "Budi@Bengkel.co.id" and "budi@bengkel.co.id " are one account."""
    return username.strip().lower()


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int


def _account_counter(username: str) -> _Counter:
    return _Counter(key=f"{KEY_PREFIX}:account:{_digest(account_ident(username))}",
                    limit=settings.LOGIN_LOCKOUT_ACCOUNT_FAILURES)


def _address_counter(address: str) -> _Counter:
    return _Counter(key=f"{KEY_PREFIX}:address:{address}", limit=settings.LOGIN_LOCKOUT_ADDRESS_FAILURES)


def _cooloff_seconds() -> int:
    return settings.LOGIN_LOCKOUT_COOLOFF_SECONDS


class LoginLockoutHandler(AbstractAxesHandler, AxesBaseHandler):
    """django-axes handler (AXES_HANDLER): an account and an address lock each on their own."""

    def _counters(self, request, credentials: dict | None) -> list[_Counter]:
        counters = []
        username = get_client_username(request, credentials)
        if username:
            counters.append(_account_counter(username))
        if request.axes_ip_address:
            counters.append(_address_counter(request.axes_ip_address))
        return counters

    def _state(self, counters: list[_Counter]) -> list[tuple[int, int]]:
        """(failures, seconds left) of each counter."""
        pipe = redis_client().pipeline(transaction=False)
        for counter in counters:
            pipe.get(counter.key)
            pipe.ttl(counter.key)
        values = pipe.execute()
        return [(int(values[i] or 0), max(int(values[i + 1]), 0)) for i in range(0, len(values), 2)]

    def get_failures(self, request, credentials: dict | None = None) -> int:
        counters = self._counters(request, credentials)
        try:
            return max((failures for failures, _ in self._state(counters)), default=0)
        except redis.RedisError:
            logger.warning("login lockout unavailable; failures not read", exc_info=True)
            return 0

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        counters = self._counters(request, credentials)
        if not counters:
            return False
        try:
            state = self._state(counters)
        except redis.RedisError:
            logger.warning("login lockout unavailable; login allowed", exc_info=True)
            return False
        waits = [seconds for counter, (failures, seconds) in zip(counters, state, strict=True)
                 if failures >= counter.limit]
        if not waits:
            return False
        request.login_lockout_wait_seconds = max(waits)
        return True

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        if request is None:
            logger.error("login failure without a request: not counted")
            return
        if request.axes_locked_out:  # refused by the lock itself: not a guess, and the lock keeps its end
            request.axes_credentials = credentials
            return
        if self.is_whitelisted(request, credentials):
            return
        counters = self._counters(request, credentials)
        try:
            client = redis_client()
            if not _failure_count:
                _failure_count.append(client.register_script(_FAILURE_LUA))
            counts = [int(_failure_count[0](keys=[counter.key], args=[_cooloff_seconds()], client=client))
                      for counter in counters]
        except redis.RedisError:
            logger.warning("login lockout unavailable; failure not counted", exc_info=True)
            return
        locked = [counter for counter, count in zip(counters, counts, strict=True) if count >= counter.limit]
        if not locked:
            return
        username = get_client_username(request, credentials)
        logger.warning("login locked out", extra={
            "lockout": [counter.key.split(":")[1] for counter in locked],
            "ip_address": request.axes_ip_address, "path": request.axes_path_info,
        })
        request.axes_locked_out = True
        request.axes_credentials = credentials
        request.login_lockout_wait_seconds = _cooloff_seconds()
        user_locked_out.send("axes", request=request, username=username, ip_address=request.axes_ip_address)

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        # The account's own failures end with a login; the address's stay (a stuffer holding one
        # good account must not clear its address by logging in with it).
        account_failures_clear(username=user.get_username())

    def user_logged_out(self, sender, request, user, **kwargs) -> None:
        return None

    def reset_attempts(self, *, ip_address: str | None = None, username: str | None = None,
                       ip_or_username: bool = False) -> int:
        """Lift locks (axes' commands: axes_reset, axes_reset_ip, axes_reset_username)."""
        client = redis_client()
        if ip_address is None and username is None:
            keys = list(client.scan_iter(match=f"{KEY_PREFIX}:*", count=1000))
        else:
            keys = []
            if ip_address is not None:
                keys.append(_address_counter(ip_address).key)
            if username is not None:
                keys.append(_account_counter(username).key)
        return int(client.delete(*keys)) if keys else 0


def account_failures_clear(*, username: str) -> None:
    """Forget an account's failed logins (and so its lock): after a login, or a password reset
    that proved the mailbox."""
    try:
        redis_client().delete(_account_counter(username).key)
    except redis.RedisError:
        logger.warning("login lockout unavailable; account failures not cleared", exc_info=True)


def lockout_wait_seconds(request) -> int:
    """How long the request's login stays refused: what the lockout page says."""
    return int(getattr(request, "login_lockout_wait_seconds", None) or _cooloff_seconds())


def wait_minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


# --- Password reset -----------------------------------------------------------------------

def _window_seconds() -> int:
    return settings.PASSWORD_RESET_WINDOW_MINUTES * 60


def _count_past_bound(*, ident: str, limit: int, now: float) -> float:
    """Count one in ident's window; seconds until it ends if past the bound, else 0."""
    window = rate_window(ident=ident, num_requests=limit, duration=_window_seconds(), now=now)
    if window_count(key=window.key, ttl=window.ttl) > limit:
        return max(1.0, window.ends_at - now)
    return 0.0


def password_reset_request_wait(*, request, email: str) -> float:
    """Count a password-reset request for this e-mail address (known or not: the answer is the
    same) from the request's address; seconds to wait if either is past its bound, else 0."""
    now = time.time()
    try:
        return max(
            _count_past_bound(ident=f"password_reset:email:{_digest(account_ident(email))}",
                              limit=settings.PASSWORD_RESET_REQUESTS_PER_EMAIL, now=now),
            _count_past_bound(ident=f"password_reset:ip:{client_address(request)}",
                              limit=settings.PASSWORD_RESET_REQUESTS_PER_ADDRESS, now=now),
        )
    except redis.RedisError:
        logger.warning("password reset bound unavailable; request allowed", exc_info=True)
        return 0.0


def _link_failure_window(request, now: float):
    return rate_window(ident=f"password_reset_link:ip:{client_address(request)}",
                       num_requests=settings.PASSWORD_RESET_LINK_FAILURES_PER_ADDRESS,
                       duration=_window_seconds(), now=now)


def password_reset_link_wait(request) -> float:
    """Seconds the request's address must wait before trying reset links again, else 0."""
    now = time.time()
    window = _link_failure_window(request, now)
    try:
        failures = int(redis_client().get(window.key) or 0)
    except redis.RedisError:
        logger.warning("password reset link bound unavailable; link allowed", exc_info=True)
        return 0.0
    return max(1.0, window.ends_at - now) if failures >= window.num_requests else 0.0


def password_reset_link_failure_count(request) -> None:
    """Count a reset link that did not check (a wrong or used token) from the request's address."""
    window = _link_failure_window(request, time.time())
    try:
        window_count(key=window.key, ttl=window.ttl)
    except redis.RedisError:
        logger.warning("password reset link bound unavailable; failure not counted", exc_info=True)
