"""Where a webhook may be sent: the URL rules, checked at registration and again at each attempt.

Deployed, only `https` URLs whose every resolved address is public: private, loopback,
link-local (169.254.169.254, the instance metadata, included), multicast, reserved and
unspecified addresses are refused, in their IPv6 forms too (IPv4-mapped, 6to4, NAT64 and
Teredo addresses are judged by the IPv4 address they carry). A name is resolved once per check
and the attempt connects to an address this check accepted, so a name that resolves elsewhere
a moment later (DNS rebinding) changes nothing.

Locally (`loopback_only`), the other way round: only `http` or `https` to loopback (an address
literal, or `localhost`), so a receiver on the laptop works and nothing leaves the machine; no
other name is resolved. Standard library only.
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]
MAX_URL_LENGTH = 2048
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCALHOST = "localhost"


class RefusedUrl(ValueError):
    """The URL may not receive webhooks; the message says why, without resolving anything more."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (an accepted address) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def carried_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64, Teredo's client), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Reachable on the internet and meant for one host: global, not multicast, and so is what it carries."""
    inner = carried_ipv4(address)
    if inner is not None:
        return is_public(inner)
    return address.is_global and not address.is_multicast


def is_loopback(address: IPAddress) -> bool:
    inner = carried_ipv4(address)
    return (inner or address).is_loopback


def check_url(url: str, *, loopback_only: bool, resolve: Resolver = socket.getaddrinfo) -> Target:
    """The URL's target if it may receive webhooks; RefusedUrl saying why otherwise."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    # RFC 3986: a URL is ASCII, the rest percent-encoded; urlsplit would drop tabs and line breaks
    # silently, and a request line cannot carry them.
    if not (url.isascii() and url.isprintable()) or " " in url:
        raise RefusedUrl("the URL must be ASCII without spaces or control characters (percent-encode them)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedUrl("the URL is not a valid URL") from error
    schemes = ("https", "http") if loopback_only else ("https",)
    if parts.scheme not in schemes:
        raise RefusedUrl("the URL must use http or https" if loopback_only else "the URL must use https")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl("the URL must not carry a user name or password")
    if parts.fragment:
        raise RefusedUrl("the URL must not have a fragment")
    host = parts.hostname
    if not host:
        raise RefusedUrl("the URL has no host")
    if port == 0:  # no server listens on port 0 (`port or default` would have sent it to 80 or 443)
        raise RefusedUrl("the URL's port must be 1-65535")
    port = port or (443 if parts.scheme == "https" else 80)
    if loopback_only:
        # No other name is even resolved: nothing here asks a DNS server about a consumer's host.
        if host != LOCALHOST and _literal(host) is None:
            raise RefusedUrl("locally the URL's host must be localhost or a loopback address")
        addresses = _addresses(host, port, resolve)
        if refused := [str(a) for a in addresses if not is_loopback(a)]:
            raise RefusedUrl(f"locally the URL's host must be loopback, not {refused[0]}")
    else:
        addresses = _addresses(host, port, resolve)
        if refused := [str(a) for a in addresses if not is_public(a)]:
            raise RefusedUrl(f"the URL's host resolves to an address that is not public: {refused[0]}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, str(addresses[0]))


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _addresses(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    if (literal := _literal(host)) is not None:
        return [literal]
    try:
        answers = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise RefusedUrl(f"the URL's host {host} does not resolve") from error
    addresses = [ipaddress.ip_address(str(answer[4][0]).split("%", 1)[0]) for answer in answers]
    if not addresses:
        raise RefusedUrl(f"the URL's host {host} does not resolve")
    return addresses
