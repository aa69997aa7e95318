"""How a client reaches the network: its TLS context and its proxies, for every transport.

``network_options(verify=, trust_env=, proxy=)`` checks the client's arguments
and reads the environment once, when the client is made; both transports
(aiohttp and httpx2) then use the same ``ssl.SSLContext`` and pick a request's
proxy with the same ``proxy_for``, so the settings mean the same everywhere.

A certificate or TLS handshake failure becomes ``tls_error``'s
``APIConnectionError``: the reason and the host in its message, and
``retryable = False`` (the same request would fail the same way).
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

from .._errors import APIConnectionError, ValidationError

__all__ = ["NetworkOptions", "find_tls_error", "network_options", "tls_error"]

Verify = bool | str | os.PathLike[str] | ssl.SSLContext


class NetworkOptions:
    """A client's TLS context and proxies, settled when the client is made.

    Args:
        context: the TLS context, or ``None`` for the system's CAs (made on first use).
        proxy: an explicit proxy URL for every request.
        env_proxies: the environment's proxies by scheme (``http``, ``https``, ``all``).
        no_proxy: the environment's ``NO_PROXY`` hosts.
    """

    __slots__ = ("_by_origin", "_context", "env_proxies", "no_proxy", "proxy")

    def __init__(
        self,
        *,
        context: ssl.SSLContext | None = None,
        proxy: str | None = None,
        env_proxies: Mapping[str, str] | None = None,
        no_proxy: tuple[str, ...] = (),
    ) -> None:
        self._context = context
        self.proxy = proxy
        self.env_proxies: Mapping[str, str] = dict(env_proxies or {})
        self.no_proxy = no_proxy
        self._by_origin: dict[tuple[str, str], str | None] = {}

    @property
    def uses_proxy(self) -> bool:
        """True when some request may go through a proxy."""
        return self.proxy is not None or bool(self.env_proxies)

    def ssl_context(self) -> ssl.SSLContext:
        """The client's one TLS context (the system's CAs unless it was given otherwise)."""
        if self._context is None:
            self._context = _system_context()
        return self._context

    def proxy_for(self, url: str) -> str | None:
        """The proxy to send a request for ``url`` through, or ``None`` to connect directly."""
        if self.proxy is not None:
            return self.proxy
        if not self.env_proxies:
            return None
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        origin = (scheme, parts.netloc.lower())
        try:
            return self._by_origin[origin]
        except KeyError:
            pass
        chosen = None
        if not _bypassed(host, parts.port, self.no_proxy):
            chosen = self.env_proxies.get(scheme) or self.env_proxies.get("all")
        self._by_origin[origin] = chosen
        return chosen


def _bypassed(host: str, port: int | None, no_proxy: tuple[str, ...]) -> bool:
    """Whether ``NO_PROXY`` names the host (a suffix match on name parts, ``*`` for all)."""
    for entry in no_proxy:
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and port is not None and entry_port != str(port):
            continue
        name = name.lstrip(".").strip("[]")
        if host == name or host.endswith("." + name):
            return True
    return False


def _system_context() -> ssl.SSLContext:
    """The system's CAs, whatever ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` say."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if cafile is None and capath is None:
        # No OpenSSL default paths (e.g. Windows): the platform's own store.
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=cafile, capath=capath)


def _context_from(cafile: str | None, capath: str | None, param: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        msg = f"cannot load the CA certificates from {cafile or capath!r}: {exc}"
        raise ValidationError(msg, param=param) from None


def _path_context(path: str, param: str, where: str) -> ssl.SSLContext:
    if os.path.isdir(path):
        return _context_from(None, path, param)
    if os.path.isfile(path):
        return _context_from(path, None, param)
    msg = f"{where} {path!r} is neither a CA bundle file nor a directory of certificates"
    raise ValidationError(msg, param=param)


def _insecure_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _verify_context(
    verify: object, *, trust_env: bool, environ: Mapping[str, str]
) -> ssl.SSLContext | None:
    """The TLS context ``verify`` asks for (``None``: the system's CAs, made on first use)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        return _insecure_context()
    if verify is True:
        cafile = environ.get("SSL_CERT_FILE") if trust_env else None
        capath = environ.get("SSL_CERT_DIR") if trust_env else None
        if cafile:
            return _path_context(cafile, "verify", "the environment's SSL_CERT_FILE")
        if capath:
            return _path_context(capath, "verify", "the environment's SSL_CERT_DIR")
        return None
    if isinstance(verify, (str, os.PathLike)) and not isinstance(verify, bytes):
        path = os.fspath(verify)
        if path:
            return _path_context(path, "verify", "the path")
    msg = (
        "must be True, False, the path of a CA bundle (or of a directory of "
        f"certificates), or an ssl.SSLContext, not {verify!r}"
    )
    raise ValidationError(msg, param="verify")


def _checked_proxy(proxy: object) -> str | None:
    if proxy is None:
        return None
    if isinstance(proxy, str):
        try:
            parts = urlsplit(proxy)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            parts = None
        if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
            return proxy
    shown = proxy if not isinstance(proxy, str) else _without_password(proxy)
    msg = f"must be an http(s) proxy URL such as 'http://proxy.example:3128', not {shown!r}"
    raise ValidationError(msg, param="proxy")


def _without_password(url: str) -> str:
    """The URL with any ``user:password@`` hidden (it must not reach an error message)."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, sep, _ = head.partition("://")
    return f"{scheme}{sep}[hidden]@{tail}" if sep else f"[hidden]@{tail}"


def _environment_proxies() -> tuple[dict[str, str], tuple[str, ...]]:
    """``HTTP(S)_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (any case), read now."""
    found = urllib.request.getproxies_environment()
    proxies = {
        scheme: url
        for scheme in ("http", "https", "all")
        if (url := found.get(scheme)) and "://" in url
    }
    no_proxy = tuple(
        entry.strip().lower() for entry in found.get("no", "").split(",") if entry.strip()
    )
    return proxies, no_proxy


def network_options(*, verify: object, trust_env: object, proxy: object) -> NetworkOptions:
    """Check ``verify``, ``trust_env`` and ``proxy``, and read the environment (now).

    Raises:
        ValidationError: an argument, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, is
            not usable (naming the argument).
    """
    if not isinstance(trust_env, bool):
        msg = f"must be True or False, not {trust_env!r}"
        raise ValidationError(msg, param="trust_env")
    context = _verify_context(verify, trust_env=trust_env, environ=os.environ)
    explicit = _checked_proxy(proxy)
    env_proxies: dict[str, str] = {}
    no_proxy: tuple[str, ...] = ()
    if trust_env and explicit is None:
        env_proxies, no_proxy = _environment_proxies()
    return NetworkOptions(
        context=context, proxy=explicit, env_proxies=env_proxies, no_proxy=no_proxy
    )


def find_tls_error(exc: BaseException) -> ssl.SSLError | ssl.CertificateError | None:
    """The TLS failure behind a library's connection error, if that is what it was."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        # aiohttp's certificate error is an ``ssl.CertificateError`` too: its
        # ``certificate_error`` is the one that says why.
        certificate_error = getattr(current, "certificate_error", None)
        if isinstance(certificate_error, (ssl.SSLError, ssl.CertificateError)):
            return certificate_error
        if isinstance(current, (ssl.SSLError, ssl.CertificateError)):
            return current
        current = current.__cause__ or current.__context__
    return None


def tls_error(
    error: ssl.SSLError | ssl.CertificateError, method: str, url: str
) -> APIConnectionError:
    """The error for a failed TLS handshake with the host of ``url``: never retried."""
    host = urlsplit(url).netloc
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        reason = f"certificate verify failed: {error.verify_message}"
    else:
        reason = getattr(error, "reason", None) or str(error) or type(error).__name__
        reason = str(reason).replace("_", " ").lower()
    msg = (
        f"TLS with {host} failed ({reason}) for {method} {url}; not retried. "
        "Check the server's certificate, or give the client verify= "
        "(a CA bundle path or an ssl.SSLContext)"
    )
    exc = APIConnectionError(msg, method=method, url=url)
    exc.retryable = False
    return exc
