"""One guarded HTTP client for every request ModOps makes to a URL someone else chose.

Webhook URLs are typed in by managers, and media URLs arrive inside content under moderation:
both are hostile. Fetched naively, ``http://169.254.169.254/`` reads the cloud's credentials,
``http://127.0.0.1:5432`` probes the database, and the delivery log becomes a port scanner
(issue 23, finding 5). So:

- Only ``http``/``https``. The host is resolved here, once; every address it resolves to must
  be public (``ipaddress``'s ``is_global``, and not multicast). Loopback, private (RFC 1918,
  ULA ``fc00::/7``), link-local (``169.254/16``, ``fe80::/10``), shared (``100.64/10``),
  unspecified and reserved ranges are refused, and so are IPv4-mapped IPv6 forms of them.
  Numeric spellings (``2130706433``, ``127.1``, ``0x7f.1``) resolve to the address they mean
  and are refused the same way.
- Cloud metadata endpoints are refused by name (``metadata.google.internal``, …) and by
  address (``169.254.169.254``, ``fd00:ec2::254``, ``100.100.100.200``) even if the
  allow-list would open their range.
- DNS rebinding: the request connects to the address that was checked (the URL's host is
  replaced by it; ``Host`` and TLS SNI keep the name, so certificates are still verified), so
  a second, different answer from DNS is never used.
- Redirects are not followed unless asked (``max_redirects``), and each hop is checked again.
- Environment proxies are ignored (a proxy would make the connection on our behalf).

``OutboundPolicy.allow`` re-opens chosen ranges for a deployment that really posts to
internal receivers, and for tests and development against ``127.0.0.1``
(``MODOPS_OUTBOUND_ALLOW=loopback``). It is empty by default. See docs/security.md.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from modops.domain import ValidationError
from modops.settings import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_HOSTS = frozenset({
    "metadata.google.internal", "metadata.goog", "metadata", "instance-data",
    "instance-data.ec2.internal", "metadata.azure.com", "metadata.oraclecloud.com",
})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192",
))
NAMED_RANGES: dict[str, tuple[str, ...]] = {
    "loopback": ("127.0.0.0/8", "::1/128"),
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
}
ENV = "MODOPS_OUTBOUND_ALLOW"


class OutboundRefused(ValidationError):
    """The URL points somewhere ModOps must not send requests (or is not an http(s) URL)."""


def _parse_allow(spec: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    parts = [p.strip() for p in (spec.split(",") if isinstance(spec, str) else spec)]
    nets: list[IPNetwork] = []
    for part in filter(None, parts):
        for cidr in NAMED_RANGES.get(part.lower(), (part,)):
            try:
                nets.append(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                raise ValueError(f"{ENV}: {part!r} is neither a network (CIDR) nor one of "
                                 f"{', '.join(NAMED_RANGES)}") from None
    return tuple(nets)


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """Which addresses outbound requests may reach: public ones, plus ``allow``."""

    allow: tuple[IPNetwork, ...] = ()
    resolve: Callable[[str, int], list[str]] = field(default=None, repr=False,  # type: ignore
                                                     compare=False)

    @classmethod
    def parse(cls, spec: str | Iterable[str] = "") -> OutboundPolicy:
        return cls(allow=_parse_allow(spec))

    @classmethod
    def from_env(cls) -> OutboundPolicy:
        return cls.parse(settings().outbound_allow)

    def address_refused(self, ip: IPAddress) -> str | None:
        """Why ``ip`` may not be contacted, or None when it may."""
        mapped = getattr(ip, "ipv4_mapped", None)
        if mapped is not None:
            ip = mapped
        if ip in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if any(ip in net for net in self.allow if net.version == ip.version):
            return None
        if ip.is_multicast:
            return "a multicast address"
        if ip.is_unspecified:
            return "an unspecified address"
        if ip.is_loopback:
            return "a loopback address"
        if ip.is_link_local:
            return "a link-local address"
        if not ip.is_global:
            return "a private or reserved address"
        return None

    def _lookup(self, host: str, port: int) -> list[IPAddress]:
        if self.resolve is not None:
            return [ipaddress.ip_address(a) for a in self.resolve(host, port)]
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos))

    def vet(self, url: str, *,
            require_resolution: bool = True) -> tuple[str, int, IPAddress | None]:
        """Check ``url``: (host, port, the address to connect to). Raises ``OutboundRefused``.

        ``require_resolution=False`` (registration) accepts a name that does not resolve now;
        it is checked again, and must resolve, when a request is made."""
        host, port = _host_and_port(url)
        try:
            addresses = self._lookup(host, port)
        except (OSError, UnicodeError, ValueError):
            if require_resolution:
                raise OutboundRefused(f"{host} does not resolve") from None
            return host, port, None
        if not addresses:
            raise OutboundRefused(f"{host} does not resolve")
        for ip in addresses:
            self._refuse_address(host, ip)
        return host, port, addresses[0]

    def _refuse_address(self, host: str, ip: IPAddress) -> None:
        """Raise ``OutboundRefused`` if ``host`` resolved to an address it may not reach."""
        why = self.address_refused(ip)
        if why is not None:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise OutboundRefused(f"{shown} is {why}; outbound requests go only to public "
                                  f"addresses (see {ENV} in docs/security.md)")


def _host_and_port(url: str) -> tuple[str, int]:
    """The lower-cased host and the port of an absolute http(s) URL without credentials;
    cloud metadata and ``.internal`` names are refused before any lookup."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("the URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise OutboundRefused("the URL must not carry a user name or password")
    host = parts.hostname.rstrip(".").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused("the URL's port is not a number from 0 to 65535") from None
    if host in METADATA_HOSTS or host.endswith(".internal"):
        raise OutboundRefused(f"{host} is a cloud metadata or internal name")
    return host, port


class GuardedClient:
    """An ``httpx.Client`` that sends each request only to an address the policy allows."""

    def __init__(self, policy: OutboundPolicy | None = None, **client_kw: Any) -> None:
        self.policy = policy or OutboundPolicy.from_env()
        self._client = httpx.Client(trust_env=False, follow_redirects=False, **client_kw)

    def __enter__(self) -> GuardedClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, url: str, *, max_redirects: int = 0,
                **kw: Any) -> httpx.Response:
        """Send ``method url``; follow at most ``max_redirects`` redirects, each one vetted.
        Raises ``OutboundRefused`` (a ``ValidationError``) for a forbidden target."""
        for _hop in range(max_redirects + 1):
            host, port, ip = self.policy.vet(url)
            assert ip is not None
            parts = urlsplit(url)
            literal = f"[{ip}]" if ip.version == 6 else str(ip)
            default = port == (443 if parts.scheme == "https" else 80)
            netloc = literal if default and parts.port is None else f"{literal}:{port}"
            pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
            headers = dict(kw.pop("headers", None) or {})
            headers["host"] = parts.netloc.rsplit("@", 1)[-1]
            extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
            resp = self._client.request(method, pinned, headers=headers,
                                        extensions=extensions, **kw)
            if not resp.is_redirect or _hop == max_redirects:
                return resp
            url = str(httpx.URL(url).join(resp.headers["location"]))
            kw["headers"] = headers
            headers.pop("host", None)
        raise AssertionError("unreachable")  # pragma: no cover

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)
