"""Where the local endpoints listen, the URLs that reach them, and the banner that names both."""

from __future__ import annotations

import pytest

from local.addresses import client_ip, local_url, socket_address
from local.banner import endpoint_urls, listening_lines
from local.command_line import parse_settings


@pytest.mark.parametrize(
    ("address", "written"),
    [
        (("127.0.0.1", 3000), "127.0.0.1:3000"),
        (("0.0.0.0", 3000), "0.0.0.0:3000"),
        (("::", 3000, 0, 0), "[::]:3000"),
        (("::1", 3000, 0, 0), "[::1]:3000"),
    ],
)
def test_a_bound_address_is_written_with_ipv6_hosts_in_brackets(address, written):
    assert socket_address(address) == written


@pytest.mark.parametrize(
    ("address", "url"),
    [
        (("127.0.0.1", 3001), "http://127.0.0.1:3001"),
        (("0.0.0.0", 3000), "http://127.0.0.1:3000"),
        (("::", 3000, 0, 0), "http://[::1]:3000"),
        (("192.0.2.7", 3000), "http://192.0.2.7:3000"),
    ],
)
def test_a_wildcard_address_is_reached_through_loopback(address, url):
    assert local_url(address) == url


@pytest.mark.parametrize(
    ("address", "client"),
    [("::ffff:127.0.0.1", "127.0.0.1"), ("127.0.0.1", "127.0.0.1"), ("::1", "::1")],
)
def test_an_ipv4_client_of_a_dual_stack_socket_is_named_by_its_ipv4_address(address, client):
    assert client_ip(address) == client


def test_the_banner_names_where_each_endpoint_listens():
    addresses = {"API": "0.0.0.0:3000", "Lambda": "127.0.0.1:3001", "DynamoDB": "127.0.0.1:3002"}

    assert listening_lines(addresses, exposed=False) == [
        "  Listening on     API 0.0.0.0:3000, Lambda 127.0.0.1:3001, DynamoDB 127.0.0.1:3002"
    ]
    assert listening_lines(addresses, exposed=True)[1] == (
        "  Exposed          Lambda and DynamoDB answer whoever reaches them, unauthenticated"
    )


def test_the_banners_ipv6_urls_are_read_back():
    banner = "  API endpoint     http://[::1]:3000\n  Lambda endpoint  http://127.0.0.1:3001   function f\n"

    assert endpoint_urls(banner) == {"API": "http://[::1]:3000", "Lambda": "http://127.0.0.1:3001"}


def test_the_internal_endpoints_are_exposed_only_when_asked(monkeypatch):
    monkeypatch.delenv("LOCAL_EXPOSE_INTERNAL_ENDPOINTS", raising=False)
    assert parse_settings(["--host", "0.0.0.0"]).expose_internal_endpoints is False
    assert parse_settings(["--expose-internal-endpoints"]).expose_internal_endpoints is True

    monkeypatch.setenv("LOCAL_EXPOSE_INTERNAL_ENDPOINTS", "on")
    assert parse_settings([]).expose_internal_endpoints is True
