"""Where the local endpoints listen, and the URLs that reach them from this machine.

Only the API endpoint follows --host; the internal ones (Lambda, DynamoDB) listen on LOOPBACK
unless --expose-internal-endpoints asks otherwise. IPv6 hosts are written in brackets.
"""

from __future__ import annotations

import ipaddress
from typing import Any

LOOPBACK = "127.0.0.1"


def socket_address(address: tuple[Any, ...]) -> str:
    """A bound socket's address as `host:port`, an IPv6 host in brackets."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def local_url(address: tuple[Any, ...]) -> str:
    """The URL that reaches a bound socket from this machine: a wildcard address through loopback."""
    host, port = address[0], address[1]
    if host in ("", "0.0.0.0"):
        host = LOOPBACK
    elif host == "::":
        host = "::1"
    return f"http://{socket_address((host, port))}"


def client_ip(address: str) -> str:
    """A client's address; an IPv4 client of a dual-stack socket without its ::ffff: prefix."""
    mapped = ipaddress.ip_address(address.split("%")[0]).ipv4_mapped if ":" in address else None
    return str(mapped) if mapped else address
