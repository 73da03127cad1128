"""One webhook POST: to the address the URL check accepted, with a timeout, never following a redirect.

The connection goes to `Target.address`, not to the name again, so what was checked is what is
reached; https verifies the certificate against the URL's host name (SNI) all the same. An
answer is any status (a redirect is just a status that is not 2xx); a network failure or a
timeout is DeliveryFailed. The timeout is the whole attempt's, connection to answer: a socket's
own timeout holds for each read only, and a receiver trickling a byte at a time would keep the
attempt, and a delivery worker, for as long as it liked. Standard library only.
"""

import contextlib
import email.utils
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from webhook_addresses import Target

# Retry-After is honoured up to a day, the schedule's longest wait.
RETRY_AFTER_MAX_SECONDS = 86400
USER_AGENT = "durable-calculations-webhooks"


class DeliveryFailed(Exception):
    """No answer: the connection failed, timed out, or the TLS handshake failed."""


@dataclass(frozen=True)
class Answer:
    status: int
    retry_after: int | None
    latency_ms: int


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to one address, verifying the certificate of the URL's host name."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = server_name

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self._server_name)


def retry_after_seconds(value: str | None, now: datetime) -> int | None:
    """Retry-After in seconds from now (seconds or an HTTP date), at most a day; None if absent or invalid."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(int(text), RETRY_AFTER_MAX_SECONDS)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0, round((moment - now).total_seconds())), RETRY_AFTER_MAX_SECONDS)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST `body` to the checked target and read its answer's status and Retry-After."""
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if ":" not in target.host else f"[{target.host}]"
    host_header = host if target.port == default_port else f"{host}:{target.port}"
    if target.scheme == "https":
        connection: http.client.HTTPConnection = _PinnedHTTPSConnection(
            target.address, target.port, target.host, timeout
        )
    else:
        connection = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    started = time.monotonic()
    deadline = _Deadline(connection, timeout)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Host": host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        deadline.hold_socket()
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer's body is not kept; reading it ends the exchange cleanly
    except (OSError, http.client.HTTPException, ValueError) as error:  # ValueError: a URL http.client refuses
        if deadline.expired.is_set():
            raise DeliveryFailed(f"the receiver did not answer within {timeout:g} s") from error
        raise DeliveryFailed(f"{type(error).__name__}: {error}"[:300]) from error
    finally:
        deadline.cancel()
        connection.close()
    if (
        deadline.expired.is_set()
    ):  # cut off: what was read ended where the shutdown did, not where the answer does
        raise DeliveryFailed(f"the receiver did not answer within {timeout:g} s")
    latency_ms = round((time.monotonic() - started) * 1000)
    return Answer(
        response.status, retry_after_seconds(response.getheader("Retry-After"), datetime.now(UTC)), latency_ms
    )


class _Deadline:
    """The whole attempt's deadline: at it the connection's socket is shut down, and a read still
    waiting on it then fails at once."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self._connection = connection
        # The connected socket, kept: once an answer says it will close the connection (HTTP/1.0,
        # `Connection: close`), http.client hands it to the response and sets `sock` to None.
        self._socket: socket.socket | None = None
        self.expired = threading.Event()
        self._timer = threading.Timer(seconds, self._cut_off)
        self._timer.daemon = True
        self._timer.start()

    def hold_socket(self) -> None:
        self._socket = self._connection.sock

    def cancel(self) -> None:
        self._timer.cancel()

    def _cut_off(self) -> None:
        self.expired.set()
        connected = self._socket or self._connection.sock
        if connected is not None:
            with contextlib.suppress(OSError):
                connected.shutdown(socket.SHUT_RDWR)
