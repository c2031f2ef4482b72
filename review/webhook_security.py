"""What keeps webhooks from becoming a door into the studio's network, and their secrets out of the database dump.

A webhook URL is typed by a person and called by the worker from inside the studio's network, so it is checked
twice: its shape when saved, and the address it resolves to at every send. The request then goes to exactly the
address that was checked (a name that resolves to something else a moment later — DNS rebinding — is not asked
again), and no redirect is followed: a 3xx could point anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from assets.errors import ApplicationError

SCHEMES = {"http": 80, "https": 443}
# Addresses that carry an IPv4 address inside an IPv6 one reach that IPv4 host, so that one is judged too.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REFUSED = (
    "refused: the webhook host is a loopback, private, link-local, multicast or reserved address "
    "(allow its network in SEED_WEBHOOK_ALLOWED_NETWORKS if it is meant)"
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def webhook_url_check(*, url: str) -> None:
    """An http(s) URL with a host and nothing that hides where it goes; a literal address must be a permitted one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ApplicationError("the webhook URL is malformed") from None
    if parts.scheme not in SCHEMES:
        raise ApplicationError(
            f"a webhook URL must start with http:// or https://, not {parts.scheme or '(none)'}://",
            extra={"code": "scheme"},
        )
    if not parts.hostname:
        raise ApplicationError("the webhook URL has no host", extra={"code": "host"})
    if parts.username is not None or parts.password is not None:
        raise ApplicationError(
            "a webhook URL may not carry a user name or password; the signature authenticates",
            extra={"code": "credentials"},
        )
    if port == 0:
        raise ApplicationError("the webhook URL's port must be 1 to 65535", extra={"code": "port"})
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return  # a name: judged by what it resolves to at each send
    if not address_permitted(literal):
        raise ApplicationError(_REFUSED, extra={"code": "address"})


def address_permitted(address: Address) -> bool:
    """A public address, or one inside a network the studio allowed on purpose (SEED_WEBHOOK_ALLOWED_NETWORKS)."""
    judged = [address, *_embedded_ipv4(address)]
    allowed = [ipaddress.ip_network(cidr, strict=False) for cidr in settings.SEED_WEBHOOK_ALLOWED_NETWORKS]
    if any(candidate in network for candidate in judged for network in allowed if candidate.version == network.version):
        return True
    return all(_public(candidate) for candidate in judged)


def _public(address: Address) -> bool:
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    if address.version == 4:
        return []
    embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [candidate for candidate in embedded if candidate is not None]


def webhook_address_resolve(*, host: str, port: int) -> list[str]:
    """The addresses to connect to, in order: every address the host resolves to must be permitted (a name that
    answers with a public and a private address is refused, since the connection could land on either)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ApplicationError("the webhook host did not resolve", extra={"code": "dns"}) from None
    addresses = [info[4][0] for info in found]
    if not addresses or not all(address_permitted(ipaddress.ip_address(address)) for address in addresses):
        raise ApplicationError(_REFUSED, extra={"code": "address"})
    return list(dict.fromkeys(addresses))


def webhook_connection(*, url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection pinned to the checked addresses, and the path to request; http.client follows no redirects."""
    webhook_url_check(url=url)
    parts = urlsplit(url)
    port = parts.port or SCHEMES[parts.scheme]
    addresses = webhook_address_resolve(host=parts.hostname, port=port)

    def connect(_, *args):
        for address in addresses[:-1]:
            try:
                return socket.create_connection((address, port), *args)
            except OSError:
                continue
        return socket.create_connection((addresses[-1], port), *args)

    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    # The Host header and the TLS certificate check keep using the name; only the socket goes to the checked addresses.
    connection = connection_class(parts.hostname, port, timeout=timeout)
    connection._create_connection = connect
    return connection, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _fernet():
    from cryptography.fernet import Fernet

    # SEED_WEBHOOK_KEY lets the studio rotate SECRET_KEY without losing every endpoint's secret.
    key = settings.SEED_WEBHOOK_KEY or settings.SECRET_KEY
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"seed webhook secrets\0" + key.encode()).digest()))


def webhook_secret_seal(*, secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def webhook_secret_open(*, sealed: str) -> str:
    return _fernet().decrypt(sealed.encode()).decode()
