"""Which addresses the runtime's endpoints listen on: only the API endpoint follows --host, unless
--expose-internal-endpoints says otherwise. Read from the kernel's socket tables, never by
connecting to an address other than loopback."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from conftest import DEPLOYED, DEPLOYED_API_URL
from listening_sockets import listening_addresses
from runtime_process import LocalRuntime

pytestmark = pytest.mark.skipif(bool(DEPLOYED_API_URL), reason=f"needs a local runtime, and {DEPLOYED}")
QUICK = ("--store", "memory", "--api-workers", "1")


def ports(runtime: LocalRuntime) -> dict[str, int]:
    return {label: urlsplit(url).port for label, url in runtime.urls.items()}


def started(tmp_path, *args: str) -> LocalRuntime:
    return LocalRuntime(tmp_path / "data", tmp_path / "run.log", *QUICK, *args).start()


def test_with_every_interface_only_the_api_endpoint_leaves_loopback(tmp_path):
    # Given a runtime asked to listen on every interface
    runtime = started(tmp_path, "--host", "0.0.0.0")
    try:
        # When the kernel is asked what its sockets are bound to
        bound = listening_addresses(runtime.process.pid)
        port = ports(runtime)
        banner = runtime.run_output()
        swagger = requests.get(f"{runtime.api_url}/swagger", timeout=10)
    finally:
        assert runtime.stop() == 0

    # Then the API listens on every interface, the Lambda and DynamoDB endpoints on loopback only
    assert bound == {
        f"0.0.0.0:{port['API']}",
        f"127.0.0.1:{port['Lambda']}",
        f"127.0.0.1:{port['DynamoDB']}",
    }
    # And the banner says so, with URLs that reach them from this machine
    assert (
        f"Listening on     API 0.0.0.0:{port['API']}, Lambda 127.0.0.1:{port['Lambda']}, "
        f"DynamoDB 127.0.0.1:{port['DynamoDB']}"
    ) in banner
    assert "Exposed" not in banner
    assert runtime.api_url == f"http://127.0.0.1:{port['API']}"
    assert swagger.status_code == 200


def test_the_expose_flag_lets_the_internal_endpoints_follow_the_host(tmp_path):
    # Given a runtime on every interface that is told to expose its internal endpoints
    runtime = started(tmp_path, "--host", "0.0.0.0", "--expose-internal-endpoints")
    try:
        # When the kernel is asked what its sockets are bound to
        bound = listening_addresses(runtime.process.pid)
        port = ports(runtime)
        banner = runtime.run_output()
    finally:
        assert runtime.stop() == 0

    # Then all three listen on every interface, and the banner warns of it
    assert bound == {f"0.0.0.0:{port[label]}" for label in ("API", "Lambda", "DynamoDB")}
    assert "Exposed          Lambda and DynamoDB answer whoever reaches them, unauthenticated" in banner


def test_with_every_ipv6_interface_the_api_is_dual_stack_and_the_rest_stays_on_loopback(tmp_path):
    # Given a runtime asked to listen on every IPv6 interface
    runtime = started(tmp_path, "--host", "::")
    try:
        # When the kernel is asked what its sockets are bound to
        bound = listening_addresses(runtime.process.pid)
        port = ports(runtime)
        over_ipv4 = requests.get(f"http://127.0.0.1:{port['API']}/swagger", timeout=10)
        over_ipv6 = requests.get(f"{runtime.api_url}/swagger", timeout=10)
    finally:
        assert runtime.stop() == 0

    # Then the API listens on [::], which takes IPv4 clients too; Lambda and DynamoDB on 127.0.0.1
    assert bound == {
        f"[::]:{port['API']}",
        f"127.0.0.1:{port['Lambda']}",
        f"127.0.0.1:{port['DynamoDB']}",
    }
    assert runtime.api_url == f"http://[::1]:{port['API']}"
    assert over_ipv4.status_code == over_ipv6.status_code == 200
