"""The one place the service sends an HTTP request: a signed webhook POST to an address the allow-list vetted.

tests/unit/test_no_url_fetching.py exempts this module by name, for this reason: it connects only to an address
`core.webhook_targets.vetted_addresses` passed (resolved once and pinned, so the name cannot be re-pointed between
the check and the connection), never follows a redirect (http.client does not), and reads at most READ_LIMIT bytes
of the answer, which it throws away.
"""

from __future__ import annotations

import http.client
import socket
import ssl

from core.webhook_targets import Target

READ_LIMIT = 64 * 1024
USER_AGENT = "catgan-webhooks/1"


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to `address`, whatever the host name resolves to by now (the Host header keeps the name)."""

    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to `address`, the certificate checked against the URL's host name."""

    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(target: Target, address: str, headers: dict[str, str], body: str, timeout: float) -> int:
    """POST `body` to `target` at `address` and return the answer's status (OSError when none came)."""
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = kind(target, address, timeout)
    try:
        conn.request("POST", target.path, body=body.encode(), headers={
            **headers, "Content-Type": "application/json", "User-Agent": USER_AGENT})
        response = conn.getresponse()
        response.read(READ_LIMIT)
        return response.status
    except http.client.HTTPException as exc:  # a malformed answer: as good as none
        raise OSError(f"bad HTTP answer: {exc!r}") from exc
    finally:
        conn.close()
