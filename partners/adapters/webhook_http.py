"""The HTTP sender of webhook deliveries: one POST to an endpoint whose host was resolved and
checked a moment before (public_address.url_resolve), connected to exactly the checked address.

The connection is pinned: the request goes to the resolved IP, with the endpoint's host name in
the Host header and, for https, as the TLS server name (SNI) and the name the certificate must
match. So nothing resolves the host a second time, and a DNS answer that changes between the
check and the connection (rebinding) cannot steer the request to an internal address.

No redirects are followed, no proxy or .netrc from the environment is used, nothing is retried
here (the delivery's schedule does that), and at most `excerpt_bytes` of the answer's body are
read.

Connections are kept alive: each thread keeps one urllib3 pool of one connection per (scheme,
host, port, pinned address), so the deliveries of a batch (and the next batch to the same
endpoint) reuse one TCP/TLS connection. A connection goes back to the pool only when the
answer's body was read to its end within the excerpt; otherwise it is closed. A resolution to
another address gets a pool of its own: a connection is never used for an address that was not
just checked. urllib3 is called directly (requests' per-request preparation was half of the
sender's CPU per delivery). Timeouts and connection errors are raised as requests' exceptions, which
okto88.partner_calls classifies (Timeout → timeout, the rest → error).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3
from requests.certs import where as ca_bundle_path
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util import Timeout

from partners.adapters.public_address import ResolvedUrl

USER_AGENT = "okto88-webhooks/1"


@dataclass(frozen=True)
class WebhookResponse:
    status: int
    excerpt: bytes  # the body's first bytes, at most excerpt_bytes
    retry_after: str  # the Retry-After header as sent, "" if none
    seconds: float


def _host_header(resolved: ResolvedUrl) -> str:
    host = f"[{resolved.host}]" if ":" in resolved.host else resolved.host
    default_port = 443 if resolved.scheme == "https" else 80
    return host if resolved.port == default_port else f"{host}:{resolved.port}"


_local = threading.local()
_POOLS_MAX = 256


def _pool(resolved: ResolvedUrl) -> urllib3.HTTPConnectionPool:
    """This thread's connection pool (one kept-alive connection) for the pinned address: it
    connects to the IP and, for https, names the endpoint's host in TLS (SNI and the
    certificate check against requests' CA bundle, as before)."""
    pools: dict | None = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    address = resolved.addresses[0]
    key = (resolved.scheme, resolved.host, resolved.port, address)
    pool = pools.get(key)
    if pool is None:
        if len(pools) >= _POOLS_MAX:
            pools_close()
            pools = _local.pools = {}
        if resolved.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(address, resolved.port, maxsize=1, retries=False,
                                               server_hostname=resolved.host, cert_reqs="CERT_REQUIRED",
                                               ca_certs=ca_bundle_path())
        else:
            pool = urllib3.HTTPConnectionPool(address, resolved.port, maxsize=1, retries=False)
        pools[key] = pool
    return pool


def pools_close() -> None:
    """Close this thread's kept connections (tests; a worker keeps them)."""
    for pool in (getattr(_local, "pools", None) or {}).values():
        pool.close()
    _local.pools = {}


def webhook_post(*, url: str, resolved: ResolvedUrl, body: bytes, headers: dict[str, str],
                 connect_timeout: float, total_timeout: float, excerpt_bytes: int) -> WebhookResponse:
    """POST `body` to `url` at the first of `resolved.addresses`. Raises requests.Timeout or
    requests.ConnectionError (and other requests.RequestException) when no answer came."""
    started = time.monotonic()
    deadline = started + total_timeout
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = _pool(resolved).urlopen(
            "POST", target, body=body, redirect=False, retries=False, preload_content=False,
            assert_same_host=False, release_conn=False,
            # total bounds the connect and the wait for the answer's headers together
            timeout=Timeout(connect=connect_timeout, read=total_timeout, total=total_timeout),
            headers={**headers, "Host": _host_header(resolved), "User-Agent": USER_AGENT,
                     "Content-Type": "application/json", "Content-Length": str(len(body))})
    except NewConnectionError as exc:  # a subclass of urllib3's ConnectTimeoutError, yet refused
        raise requests.ConnectionError(str(exc)) from exc
    except Urllib3Timeout as exc:
        raise requests.Timeout(str(exc)) from exc
    except (Urllib3Error, OSError) as exc:
        raise requests.ConnectionError(str(exc)) from exc
    reusable = False
    try:
        excerpt = b""
        if excerpt_bytes > 0 and time.monotonic() < deadline:
            # One bounded read (within the read timeout): the rest of the body is never read.
            try:
                excerpt = response.read(excerpt_bytes, decode_content=False) or b""
            except Exception:  # a timeout or broken connection mid-body: the status stands
                excerpt = b""
        # Kept alive only if the whole body was read (a known length, nothing left).
        remaining = response.length_remaining
        reusable = remaining == 0 or (remaining is None and response.status in (204, 304))
        return WebhookResponse(status=response.status, excerpt=excerpt[:excerpt_bytes],
                               retry_after=response.headers.get("Retry-After", ""),
                               seconds=time.monotonic() - started)
    finally:
        if reusable:
            response.release_conn()
        else:
            response.close()
            response.release_conn()  # a closed connection: the pool opens a new one next time
