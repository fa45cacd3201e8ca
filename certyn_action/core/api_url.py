"""The ``api-url`` input: the one host the API key may go to, judged the way the HTTP stack will read it.

Only a plain spelling is accepted, and the scheme, host and port a strict parse reads must be the ones
urllib3 reads (:func:`api_origin`); the transport checks every URL it sends to against the same origin.
Pure.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://api.certyn.io"


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal: the only hosts plain http may carry the key to.

    Not ``*.localhost``: only some resolvers map those names to loopback; others ask DNS, and
    ``attacker.localhost`` could then receive the key in cleartext."""
    if host.lower() == "localhost":  # not "localhost.": a resolver may ask DNS for the rooted name
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# What an API base URL may be spelled with: scheme, a DNS name or an IP address, a port, a path prefix.
# Anything else (a backslash, whitespace, control or non-ASCII characters, `@`, `%`, `?`, `#`) is a
# spelling that URL parsers read differently, and the host the key goes to must not depend on which one reads.
_STRICT_API_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>(?:/[A-Za-z0-9._~!$&'()*+,;=:-]*)*)",
    re.IGNORECASE,
)


def api_origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) that urllib3, the HTTP stack requests uses, connects to for ``url``.

    Host lowercased without IPv6 brackets, port filled in from the scheme. Raises ValueError when
    urllib3 cannot parse it."""
    from urllib3.util import parse_url  # noqa: PLC0415 - urllib3 loads with requests anyway

    try:
        parts = parse_url(url)
    except Exception:  # urllib3's LocationParseError and friends
        raise ValueError("cannot be parsed") from None
    scheme = (parts.scheme or "").lower()
    host = (parts.host or "").lower().removeprefix("[").removesuffix("]")
    return scheme, host, parts.port or (443 if scheme == "https" else 80)


def normalize_api_url(value: str) -> str:  # noqa: PLR0912 - one refusal per way of spelling it wrong
    """``https://host[:port][/prefix]`` with no trailing ``/`` or ``/api`` (the client adds ``/api/...``).

    The check judges the URL the HTTP stack will use: only a plain spelling is accepted, and the host,
    port and scheme read by a strict parse must be the ones urllib3 reads."""
    text = value.strip()
    example = f"use e.g. `{DEFAULT_API_URL}`"
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ValueError(f"contains spaces, line breaks or control characters: {example}")
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"is not a valid URL: {example}") from None
    if port == 0:
        raise ValueError(f"has port 0, which no server listens on: {example}")
    if parts.scheme.lower() not in ("https", "http") or not host:
        raise ValueError(f"must be an absolute https URL such as `{DEFAULT_API_URL}`")
    if "@" in text:
        raise ValueError("must not contain `@` or credentials: pass the key in `api-key`")
    if "?" in text or "#" in text:
        raise ValueError(f"must not have a query or fragment: use the base URL, {example}")
    if not text.isascii() or _STRICT_API_URL.fullmatch(text) is None:  # IGNORECASE alone lets `İ`, `K` match
        raise ValueError(
            "must be a plain URL: scheme, host name or IP address, optional port and path, written in "
            "ASCII letters, digits and `.-_/:` only (no backslash, `%`-escape, non-ASCII or other "
            f"characters; write an international domain name in its `xn--` form): {example}"
        )
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"has an invalid IPv6 address: {example}") from None
    scheme = parts.scheme.lower()
    if api_origin(text) != (scheme, host.lower(), port or (443 if scheme == "https" else 80)):
        raise ValueError(f"is read differently by URL parsers: {example}")
    if scheme == "http" and not is_loopback(host):
        raise ValueError(
            "must use https (http is only allowed for localhost/127.0.0.1, e.g. a local simulator)"
        )
    path = parts.path.rstrip("/")
    if path.lower().endswith("/api"):
        path = path[: -len("/api")]
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{path.rstrip('/')}"
