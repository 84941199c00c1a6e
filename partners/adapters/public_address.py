"""The SSRF guard: a webhook URL may only lead to the public internet.

Checked when an endpoint is saved and again at every send, on the addresses the host resolves
to at that moment; the sender then connects to one of exactly those addresses (no second DNS
lookup a rebinding attacker could answer differently). Development and tests allow loopback
and private addresses and plain http (settings WEBHOOK_ALLOW_PRIVATE_URLS, WEBHOOK_REQUIRE_HTTPS).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from partners.errors import WebhookUrlNotAllowed

# Not public even where ipaddress calls them global, or worth naming in the error.
_BLOCKED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "192.0.0.0/24", "198.18.0.0/15", "224.0.0.0/4",
    "240.0.0.0/4", "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96",
))


@dataclass(frozen=True)
class ResolvedUrl:
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]  # in the resolver's order; the sender uses the first


def address_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in _BLOCKED_NETWORKS if network.version == ip.version):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def url_resolve(url: str, *, allow_private: bool, require_https: bool) -> ResolvedUrl:
    """Parse and resolve `url`, or raise WebhookUrlNotAllowed saying why."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlNotAllowed("The URL cannot be parsed.", extra={"url": url}) from None
    allowed_schemes = ("https",) if require_https else ("https", "http")
    if parts.scheme not in allowed_schemes:
        raise WebhookUrlNotAllowed(f"The URL must use {' or '.join(allowed_schemes)}.", extra={"url": url})
    if not parts.hostname:
        raise WebhookUrlNotAllowed("The URL has no host.", extra={"url": url})
    if parts.username or parts.password:
        raise WebhookUrlNotAllowed("The URL must not carry a user name or password.", extra={"url": url})
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlNotAllowed(f"The host {parts.hostname} does not resolve.", extra={"url": url}) from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        blocked = [address for address in addresses if not address_public(address)]
        if blocked:
            raise WebhookUrlNotAllowed(
                f"The host {parts.hostname} resolves to an address that is not public ({blocked[0]}).",
                extra={"url": url, "address": blocked[0]})
    return ResolvedUrl(scheme=parts.scheme, host=parts.hostname, port=port, addresses=addresses)
