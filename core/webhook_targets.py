"""Where webhooks may go: the allow-list (CATGAN_WEBHOOK_ALLOWED_HOSTS), a job's URL checked against it at submit,
and the addresses its host resolves to checked again at each delivery (so a name re-pointed at 127.0.0.1 or a
private address after the submit — DNS rebinding — is refused, not fetched).

Entries: a host name (`hooks.example.com`, any port), `name:port`, an IP address with or without a port
(`127.0.0.1:9000`, `[::1]:9000`, `10.0.0.7`) or a network (`10.0.0.0/8`). Names match exactly (no wildcards).
A listed name vouches for the public addresses it resolves to; a loopback, private, link-local or otherwise
non-public address is used only when that address (on that port, if the entry has one) or a network holding it
is listed itself.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import InvalidInput, WebhookRefused

URL_MAX_LENGTH = 2048
DEFAULT_PORTS = {"http": 80, "https": 443}
HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AllowList:
    """The parsed CATGAN_WEBHOOK_ALLOWED_HOSTS: (host, port or None for any) pairs and networks."""

    hosts: frozenset[tuple[str, int | None]] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    def allows_host(self, host: str, port: int) -> bool:
        """Whether a URL may name `host`:`port` (a listed name or address, or an address in a listed network)."""
        address = _address(host)
        return self._listed(str(address) if address else host, port) or (
            address is not None and any(address in network for network in self.networks))

    def allows_address(self, address: str, port: int) -> bool:
        """Whether a delivery may connect to a resolved `address`: a public one, or one listed itself."""
        ip = _unmapped(ipaddress.ip_address(address))
        if ip.is_global and not ip.is_multicast:
            return True
        return self._listed(str(ip), port) or any(ip in network for network in self.networks)

    def _listed(self, host: str, port: int) -> bool:
        return (host, None) in self.hosts or (host, port) in self.hosts


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what to connect to and what to ask for."""

    scheme: str
    host: str  # lowercased; an IPv6 address without brackets
    port: int
    path: str  # path and query, as the request line sends them


def parse_allow_list(text: str) -> AllowList:
    """The allow-list of a comma-separated setting; ValueError names an entry that is none of the kinds."""
    hosts: set[tuple[str, int | None]] = set()
    networks: list[IPNetwork] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            if "/" in entry:
                networks.append(ipaddress.ip_network(entry, strict=False))
            else:
                hosts.add(_host_port(entry))
        except ValueError as exc:
            raise ValueError(f"webhook allow-list entry {entry!r} is not a host, host:port, IP address or network "
                             f"({exc})") from None
    return AllowList(frozenset(hosts), tuple(networks))


def _host_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError("write an IPv6 address as [address] or [address]:port")
        port = _port(rest[1:]) if rest else None
        return str(ipaddress.IPv6Address(host)), port
    if entry.count(":") > 1:
        return str(ipaddress.IPv6Address(entry)), None
    host, _, port_text = entry.partition(":")
    host = host.lower().rstrip(".")
    address = _address(host)
    if address is None and not HOST_NAME.fullmatch(host):
        raise ValueError("not a host name")
    return (str(address) if address else host), (_port(port_text) if port_text else None)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"port {text!r} is not 1-65535")
    return int(text)


def _address(host: str) -> IPAddress | None:
    try:
        return _unmapped(ipaddress.ip_address(host))
    except ValueError:
        return None


def _unmapped(ip: IPAddress) -> IPAddress:
    """::ffff:127.0.0.1 is 127.0.0.1: judge an IPv4-mapped address as the IPv4 address it is."""
    return ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else ip


def _bad_url(message: str, reason: str) -> InvalidInput:
    return InvalidInput(f"webhook.url {message}", code="invalid_webhook_url", fields={"webhook": {"url": [reason]}})


def parse_target(url: str) -> Target:
    """The parts of a webhook URL: http(s), a host, no credentials, at most URL_MAX_LENGTH characters."""
    if len(url) > URL_MAX_LENGTH:
        raise _bad_url(f"is longer than {URL_MAX_LENGTH} characters", f"At most {URL_MAX_LENGTH} characters.")
    if not url.isascii() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _bad_url("holds spaces, control or non-ASCII characters; percent-encode them (and use the "
                       "punycode form of a host name)", "Not a plain ASCII URL.")
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS:
        raise _bad_url("must start with http:// or https://", "Only http and https.")
    if "@" in parts.netloc:
        raise _bad_url("must not carry credentials (user:password@); the signature authenticates a delivery",
                       "No credentials in the URL.")
    try:
        host, port = (parts.hostname or "").rstrip("."), parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise _bad_url("has an invalid port", "Invalid port.") from None
    if not host or (_address(host) is None and not HOST_NAME.fullmatch(host)):
        raise _bad_url("has no valid host", "No valid host.")
    address = _address(host)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, str(address) if address else host, port, path)


def check_target(url: str, allow: AllowList) -> Target:
    """A webhook URL a job may have: well formed, and its host on the allow-list."""
    target = parse_target(url)
    if not allow.allows_host(target.host, target.port):
        raise InvalidInput(f"webhook host {target.host}:{target.port} is not on CATGAN_WEBHOOK_ALLOWED_HOSTS; use "
                           "an allowed host or ask the operator to add it", code="webhook_host_not_allowed",
                           fields={"webhook": {"url": ["Host not allowed."]}})
    return target


def resolve(target: Target) -> list[str]:
    """The addresses `target`'s host has now (OSError when the name does not resolve: a retry may succeed)."""
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def vetted_addresses(target: Target, addresses: list[str], allow: AllowList) -> list[str]:
    """`addresses` when every one may be connected to; WebhookRefused names the first that may not."""
    for address in addresses:
        if not allow.allows_address(address, target.port):
            raise WebhookRefused(f"{target.host} resolves to {address}, a non-public address not on "
                                 "CATGAN_WEBHOOK_ALLOWED_HOSTS; nothing was sent")
    if not addresses:
        raise WebhookRefused(f"{target.host} resolves to no address; nothing was sent")
    return addresses
