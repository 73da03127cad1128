"""Where webhooks may go: the URL rules on addresses and on a stubbed resolver (nothing is sent anywhere)."""

import socket

import pytest

from webhook_addresses import RefusedUrl, check_url

PUBLIC = "93.184.215.14"  # a public address the stub resolver answers; nothing is ever sent to it


def resolver(*addresses: str):
    """A getaddrinfo that answers these addresses for any name, and records the names asked."""
    asked: list[str] = []

    def resolve(host, port, type=0):
        asked.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    resolve.asked = asked
    return resolve


def failing_resolver(host, port, type=0):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


REFUSED_ADDRESSES = [
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.251",
    "239.255.255.250",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::1",
    "2001:db8::1",
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_a_name_resolving_to_a_non_public_address_is_refused_deployed(address):
    with pytest.raises(RefusedUrl, match="not public"):
        check_url("https://hooks.example.com/in", loopback_only=False, resolve=resolver(address))


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "[fe80::1]", "[::ffff:7f00:1]"]
)
def test_an_address_literal_that_is_not_public_is_refused_without_resolving(address):
    resolve = resolver(PUBLIC)

    with pytest.raises(RefusedUrl, match="not public"):
        check_url(f"https://{address}/in", loopback_only=False, resolve=resolve)

    assert resolve.asked == []


def test_one_private_address_among_public_ones_refuses_the_name():
    with pytest.raises(RefusedUrl, match=r"not public: 10\.0\.0\.7"):
        check_url("https://hooks.example.com/in", loopback_only=False, resolve=resolver(PUBLIC, "10.0.0.7"))


def test_a_public_https_url_is_accepted_with_the_address_it_resolved_to():
    target = check_url(
        "https://hooks.example.com:8443/in?x=1", loopback_only=False, resolve=resolver("8.8.8.8")
    )

    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https",
        "hooks.example.com",
        8443,
        "/in?x=1",
        "8.8.8.8",
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/in", "must use https"),
        ("ftp://hooks.example.com/in", "must use https"),
        ("https://user:pass@hooks.example.com/in", "user name or password"),
        ("https:///in", "no host"),
        ("https://hooks.example.com:99999/in", "not a valid URL"),
        ("https://hooks.example.com:0/in", "port must be 1-65535"),
        ("https://hooks.example.com:00/in", "port must be 1-65535"),
        ("https://hooks.example.com/in#part", "fragment"),
        ("https://hooks.example.com/caf\u00e9", "ASCII"),
        ("https://h\u00f6oks.example.com/in", "ASCII"),
        ("https://hooks.example.com/a b", "without spaces"),
        ("https://hooks.example.com/a\tb", "control characters"),
        ("https://hooks.example.com/a\r\nX-Injected: 1", "control characters"),
        ("https://hooks.example.com/a\x00b", "control characters"),
        ("https://hooks.example.com/a\x7fb", "control characters"),
    ],
)
def test_a_url_of_the_wrong_form_is_refused_deployed(url, reason):
    with pytest.raises(RefusedUrl, match=reason):
        check_url(url, loopback_only=False, resolve=resolver(PUBLIC))


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(RefusedUrl, match="does not resolve"):
        check_url("https://nowhere.example.com/in", loopback_only=False, resolve=failing_resolver)


def test_locally_http_to_loopback_is_accepted():
    target = check_url("http://127.0.0.1:9000/hook", loopback_only=True, resolve=resolver(PUBLIC))

    assert (target.scheme, target.address, target.port) == ("http", "127.0.0.1", 9000)


def test_locally_localhost_resolving_to_loopback_is_accepted():
    target = check_url("http://localhost:9000/hook", loopback_only=True, resolve=resolver("::1", "127.0.0.1"))

    assert target.address == "::1"


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "192.168.1.1", "[fe80::1]", "8.8.8.8"])
def test_locally_any_address_but_loopback_is_refused(address):
    with pytest.raises(RefusedUrl, match="must be loopback"):
        check_url(f"http://{address}/hook", loopback_only=True, resolve=resolver(PUBLIC))


def test_locally_port_0_is_refused():
    with pytest.raises(RefusedUrl, match="port must be 1-65535"):
        check_url("http://127.0.0.1:0/", loopback_only=True)


def test_locally_a_name_other_than_localhost_is_refused_without_resolving_it():
    resolve = resolver("127.0.0.1")

    with pytest.raises(RefusedUrl, match="localhost or a loopback address"):
        check_url("https://hooks.example.com/in", loopback_only=True, resolve=resolve)

    assert resolve.asked == []


def test_locally_localhost_resolving_to_anything_but_loopback_is_refused():
    with pytest.raises(RefusedUrl, match=r"must be loopback, not 10\.0\.0\.1"):
        check_url("http://localhost/in", loopback_only=True, resolve=resolver("127.0.0.1", "10.0.0.1"))


def test_a_percent_encoded_url_is_accepted():
    target = check_url(
        "http://127.0.0.1:9000/caf%C3%A9?q=a%20b", loopback_only=True, resolve=resolver(PUBLIC)
    )

    assert target.path == "/caf%C3%A9?q=a%20b"
