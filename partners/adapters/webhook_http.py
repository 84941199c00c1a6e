"""The HTTP sender of webhook deliveries: one POST to an endpoint whose host was resolved and
checked a moment before (public_address.url_resolve), connected to exactly the checked address.

The connection is pinned: the request goes to the resolved IP, with the endpoint's host name in
the Host header and, for https, as the TLS server name (SNI) and the name the certificate must
match. So nothing resolves the host a second time, and a DNS answer that changes between the
check and the connection (rebinding) cannot steer the request to an internal address.

No redirects are followed, no proxy or .netrc from the environment is used, nothing is retried
here (the delivery's schedule does that), and at most `excerpt_bytes` of the answer's body are
read.

Connections are kept alive: each thread keeps one session per (scheme, host, port, pinned
address), so the deliveries of a batch (and the next batch to the same endpoint) reuse one
TCP/TLS connection. A connection goes back to the pool only when the answer's body was read
to its end within the excerpt; otherwise it is closed. A new resolution to another address
gets a session (and connections) of its own: a connection is never reused for an address
that was not just checked. Timeouts and connection errors are raised as requests' exceptions, which
okto88.partner_calls classifies (Timeout → timeout, the rest → error).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Timeout

from partners.adapters.public_address import ResolvedUrl

USER_AGENT = "okto88-webhooks/1"


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    excerpt: bytes  # the body's first bytes, at most excerpt_bytes
    retry_after: str  # the Retry-After header as sent, "" if none
    seconds: float


class _PinnedAdapter(HTTPAdapter):
    """Connects to the IP in the URL, naming `server_hostname` in TLS (SNI and certificate check)."""

    def __init__(self, *, server_hostname: str):
        self._server_hostname = server_hostname
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["server_hostname"] = self._server_hostname
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


def _pinned_url(url: str, resolved: ResolvedUrl) -> str:
    parts = urlsplit(url)
    address = resolved.addresses[0]
    netloc = f"[{address}]:{resolved.port}" if ":" in address else f"{address}:{resolved.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _host_header(resolved: ResolvedUrl) -> str:
    host = f"[{resolved.host}]" if ":" in resolved.host else resolved.host
    default_port = 443 if resolved.scheme == "https" else 80
    return host if resolved.port == default_port else f"{host}:{resolved.port}"


_local = threading.local()
_SESSIONS_MAX = 256


def _session(resolved: ResolvedUrl) -> requests.Session:
    """This thread's session for the pinned address (keep-alive across deliveries)."""
    sessions: dict | None = getattr(_local, "sessions", None)
    if sessions is None:
        sessions = _local.sessions = {}
    key = (resolved.scheme, resolved.host, resolved.port, resolved.addresses[0])
    session = sessions.get(key)
    if session is None:
        if len(sessions) >= _SESSIONS_MAX:
            for old in sessions.values():
                old.close()
            sessions.clear()
        session = sessions[key] = requests.Session()
        session.trust_env = False  # no proxy, no .netrc: the request goes to the checked address only
        session.mount(f"{resolved.scheme}://", _PinnedAdapter(server_hostname=resolved.host))
    return session


def sessions_close() -> None:
    """Close this thread's kept connections (tests; a worker keeps them)."""
    for session in (getattr(_local, "sessions", None) or {}).values():
        session.close()
    _local.sessions = {}


def webhook_post(*, url: str, resolved: ResolvedUrl, body: bytes, headers: dict[str, str],
                 connect_timeout: float, total_timeout: float, excerpt_bytes: int) -> WebhookResponse:
    """POST `body` to `url` at the first of `resolved.addresses`. Raises requests.Timeout or
    requests.ConnectionError (and other requests.RequestException) when no answer came."""
    started = time.monotonic()
    deadline = started + total_timeout
    session = _session(resolved)
    response = session.post(
        _pinned_url(url, resolved), data=body, stream=True, allow_redirects=False,
        # total bounds the connect and the wait for the answer's headers together
        timeout=Timeout(connect=connect_timeout, read=total_timeout, total=total_timeout),
        headers={**headers, "Host": _host_header(resolved), "User-Agent": USER_AGENT,
                 "Content-Type": "application/json"},
    )
    raw = response.raw
    reusable = False
    try:
        excerpt = b""
        if excerpt_bytes > 0 and time.monotonic() < deadline:
            # One bounded read (within the read timeout): the rest of the body is never read.
            try:
                excerpt = raw.read(excerpt_bytes, decode_content=False) or b""
            except Exception:  # a timeout or broken connection mid-body: the status stands
                excerpt = b""
        # Kept alive only if the whole body was read (a known length, nothing left).
        remaining = getattr(raw, "length_remaining", None)
        reusable = remaining == 0 or (remaining is None and response.status_code in (204, 304))
        return WebhookResponse(status=response.status_code, excerpt=excerpt[:excerpt_bytes],
                               retry_after=response.headers.get("Retry-After", ""),
                               seconds=time.monotonic() - started)
    finally:
        if reusable:
            raw.release_conn()
        else:
            response.close()
