"""Networks as users have them: proxies (the environment's or ``proxy=``) and TLS (``verify=``).

The async tests run on asyncio+aiohttp, trio+httpx2 and asyncio+httpx2 (see
``conftest.anyio_backend``), against the sandbox behind loopback servers of
``tests/_network_servers.py``: a forward proxy that alone resolves
``api.socialwrite.test``, and a TLS front with a certificate of a CA made here
(``trustme``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

import socialwrite
from socialwrite import APIConnectionError, AsyncClient, Client, ValidationError
from socialwrite._retry import RetryPolicy
from socialwrite._transport import network_options
from socialwrite.sandbox import Sandbox
from socialwrite.transports import MockTransport

from ._network_servers import FAKE_HOST, ForwardProxy, TLSFront, serving

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)
CONTENT = {"text": "Hello through the network"}
TIMEOUT = socialwrite.Timeout(connect=10.0, read=30.0)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or certificate setting of the machine running the tests leaks in."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module, on a thread (asyncio and trio both reach it)."""
    with Sandbox().run_in_thread() as running:
        yield running


def port_of(sandbox: Sandbox) -> int:
    """The sandbox's port."""
    return int(sandbox.base_url.rsplit(":", 1)[1])


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    """A forward proxy on 127.0.0.1 that resolves api.socialwrite.test."""
    server = ForwardProxy()
    with serving(server.start):
        yield server


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A CA made for these tests."""
    return trustme.CA()


@pytest.fixture
def tls(sandbox: Sandbox, ca: trustme.CA) -> Iterator[TLSFront]:
    """The sandbox over HTTPS, with a certificate for 127.0.0.1 and api.socialwrite.test."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", FAKE_HOST).configure_cert(context)
    front = TLSFront(upstream_port=port_of(sandbox), context=context)
    with serving(front.start):
        yield front


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    """The CA's certificate as a PEM file."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def fake_url(sandbox: Sandbox) -> str:
    """The sandbox's URL under the host name only the proxy resolves."""
    return f"http://{FAKE_HOST}:{port_of(sandbox)}"


async def post(base_url: str, sandbox: Sandbox, **kwargs: object) -> socialwrite.WriteResult:
    """One write with a fresh client."""
    async with AsyncClient(sandbox.api_key, base_url=base_url, timeout=TIMEOUT, **kwargs) as client:  # type: ignore[arg-type]
        return await client.write(platforms=["x"], content=CONTENT)


# -- proxies --------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
async def test_environment_proxy_is_used(
    name: str, sandbox: Sandbox, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With trust_env (the default) a host only the proxy resolves is reached through it."""
    monkeypatch.setenv(name, proxy.url)
    result = await post(fake_url(sandbox), sandbox)
    assert result.ok
    assert any(FAKE_HOST in line for line in proxy.seen)


@pytest.mark.anyio
async def test_explicit_proxy_overrides_the_environment(
    sandbox: Sandbox, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """proxy= is used, whatever HTTP_PROXY says (here: a port where nothing listens)."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    result = await post(fake_url(sandbox), sandbox, proxy=proxy.url)
    assert result.ok
    assert proxy.seen


@pytest.mark.anyio
async def test_trust_env_false_ignores_the_proxy(
    sandbox: Sandbox, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trust_env=False: the environment's proxy is not used, so the made-up host fails."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with pytest.raises(APIConnectionError):
        await post(fake_url(sandbox), sandbox, trust_env=False, max_retries=0)
    assert proxy.seen == []


@pytest.mark.anyio
async def test_no_proxy_is_honoured(
    sandbox: Sandbox, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host in NO_PROXY is reached directly; one not in it through the proxy."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", f"localhost,127.0.0.1,.{FAKE_HOST}")
    assert (await post(sandbox.base_url, sandbox)).ok
    assert proxy.seen == []
    with pytest.raises(APIConnectionError):
        await post(fake_url(sandbox), sandbox, max_retries=0)
    assert proxy.seen == []


@pytest.mark.anyio
async def test_environment_is_read_when_the_client_is_made(
    sandbox: Sandbox, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy set after the client was made is not used by it."""
    async with AsyncClient(sandbox.api_key, base_url=sandbox.base_url, timeout=TIMEOUT) as client:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        result = await client.write(platforms=["x"], content=CONTENT)
    assert result.ok
    assert proxy.seen == []


@pytest.mark.anyio
async def test_https_through_the_proxy(
    sandbox: Sandbox, proxy: ForwardProxy, tls: TLSFront, ca_file: str
) -> None:
    """HTTPS goes through the proxy's CONNECT tunnel, verified against the given CA."""
    base_url = f"https://{FAKE_HOST}:{tls.port}"
    result = await post(base_url, sandbox, proxy=proxy.url, verify=ca_file)
    assert result.ok
    assert proxy.seen[0] == f"CONNECT {FAKE_HOST}:{tls.port}"


# -- TLS ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_verify_with_a_ca_bundle_path(sandbox: Sandbox, tls: TLSFront, ca_file: str) -> None:
    """verify=<path of a CA bundle> trusts that CA (as a str and as a Path)."""
    base_url = f"https://127.0.0.1:{tls.port}"
    assert (await post(base_url, sandbox, verify=ca_file)).ok
    assert (await post(base_url, sandbox, verify=Path(ca_file))).ok


@pytest.mark.anyio
async def test_verify_with_an_ssl_context(sandbox: Sandbox, tls: TLSFront, ca: trustme.CA) -> None:
    """verify=<ssl.SSLContext> is used as it is."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    assert (await post(f"https://127.0.0.1:{tls.port}", sandbox, verify=context)).ok


@pytest.mark.anyio
async def test_verify_false_checks_nothing(sandbox: Sandbox, tls: TLSFront) -> None:
    """verify=False accepts a certificate no trusted CA signed."""
    assert (await post(f"https://127.0.0.1:{tls.port}", sandbox, verify=False)).ok


@pytest.mark.anyio
async def test_ssl_cert_file_with_trust_env(
    sandbox: Sandbox, tls: TLSFront, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE is the CA bundle with trust_env, and ignored without it."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    base_url = f"https://127.0.0.1:{tls.port}"
    assert (await post(base_url, sandbox)).ok
    with pytest.raises(APIConnectionError, match="certificate verify failed"):
        await post(base_url, sandbox, trust_env=False)


@pytest.mark.anyio
async def test_untrusted_certificate_fails_once_saying_why(sandbox: Sandbox, tls: TLSFront) -> None:
    """The default (system CAs) refuses the certificate: one connection, no retry, the reason."""
    base_url = f"https://127.0.0.1:{tls.port}"
    with pytest.raises(APIConnectionError) as caught:
        await post(base_url, sandbox, max_retries=3)
    message = str(caught.value)
    assert "certificate verify failed: unable to get local issuer certificate" in message
    assert f"127.0.0.1:{tls.port}" in message
    assert sandbox.api_key not in message
    assert caught.value.retryable is False
    assert tls.connections == 1
    assert tls.handshakes == 0


@pytest.mark.anyio
async def test_wrong_host_name_fails_saying_why(
    sandbox: Sandbox, proxy: ForwardProxy, tls: TLSFront, ca_file: str
) -> None:
    """A certificate for another host name is a verification failure, not retried."""
    base_url = f"https://other.socialwrite.test:{tls.port}"
    with pytest.raises(APIConnectionError, match="certificate verify failed") as caught:
        await post(base_url, sandbox, proxy=proxy.url, verify=ca_file)
    assert "other.socialwrite.test" in str(caught.value)
    assert tls.connections == 1


# -- the blocking client and the command line --------------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_blocking_client_takes_the_same_settings(
    backend: str, sandbox: Sandbox, proxy: ForwardProxy, tls: TLSFront, ca_file: str
) -> None:
    """Client(proxy=, verify=) works on both of its loops."""
    pytest.importorskip("httpx2")
    base_url = f"https://{FAKE_HOST}:{tls.port}"
    with Client(
        sandbox.api_key, base_url=base_url, proxy=proxy.url, verify=ca_file, backend=backend
    ) as client:
        assert client.write(platforms=["x"], content=CONTENT).ok
    assert proxy.seen


def test_command_line_flags(
    sandbox: Sandbox, proxy: ForwardProxy, tls: TLSFront, ca_file: str
) -> None:
    """post --proxy --ca-bundle works; --insecure warns on stderr; both together is usage."""
    from click.testing import CliRunner

    from socialwrite.cli._app import cli

    base = ["post", "-p", "x", "--text", "hi", "--api-key", sandbox.api_key, "--json"]
    url = ["--base-url", f"https://{FAKE_HOST}:{tls.port}"]
    runner = CliRunner()
    done = runner.invoke(cli, [*base, *url, "--proxy", proxy.url, "--ca-bundle", ca_file])
    assert done.exit_code == 0, done.output
    insecure = runner.invoke(
        cli, [*base, "--base-url", f"https://127.0.0.1:{tls.port}", "--insecure"]
    )
    assert insecure.exit_code == 0, insecure.output
    assert "warning: --insecure" in insecure.stderr
    refused = runner.invoke(cli, [*base, *url, "--proxy", proxy.url])
    assert refused.exit_code == 1
    assert "certificate verify failed" in refused.stderr
    both = runner.invoke(cli, [*base, *url, "--insecure", "--ca-bundle", ca_file])
    assert both.exit_code == 2
    missing = runner.invoke(cli, [*base, *url, "--ca-bundle", "/no/such/ca.pem"])
    assert missing.exit_code == 2
    assert "error: --ca-bundle" in missing.stderr


# -- checks at construction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"verify": "/no/such/ca.pem"}, "verify"),
        ({"verify": 1}, "verify"),
        ({"verify": ""}, "verify"),
        ({"verify": None}, "verify"),
        ({"trust_env": "yes"}, "trust_env"),
        ({"proxy": "ftp://proxy.example"}, "proxy"),
        ({"proxy": "proxy.example:3128"}, "proxy"),
        ({"proxy": 3128}, "proxy"),
    ],
)
def test_bad_settings_are_validation_errors(kwargs: dict[str, object], param: str) -> None:
    """A bad verify, trust_env or proxy is a ValidationError naming it, at construction."""
    with pytest.raises(ValidationError) as caught:
        AsyncClient("sk_test", base_url="http://127.0.0.1:1", **kwargs)  # type: ignore[arg-type]
    assert caught.value.param == param


def test_a_bad_ca_file_is_a_validation_error(tmp_path: Path) -> None:
    """A file that holds no certificate is refused at construction."""
    path = tmp_path / "ca.pem"
    path.write_text("not a certificate")
    with pytest.raises(ValidationError) as caught:
        AsyncClient("sk_test", base_url="http://127.0.0.1:1", verify=str(path))
    assert caught.value.param == "verify"


def test_a_missing_ssl_cert_file_is_a_validation_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """SSL_CERT_FILE naming nothing is refused (with trust_env), naming the variable."""
    monkeypatch.setenv("SSL_CERT_FILE", "/no/such/bundle.pem")
    with pytest.raises(ValidationError, match="SSL_CERT_FILE") as caught:
        AsyncClient("sk_test", base_url="http://127.0.0.1:1")
    assert caught.value.param == "verify"
    AsyncClient("sk_test", base_url="http://127.0.0.1:1", trust_env=False)


def test_a_proxy_password_is_not_shown() -> None:
    """A malformed proxy URL's password stays out of the error."""
    with pytest.raises(ValidationError) as caught:
        AsyncClient("sk_test", base_url="http://127.0.0.1:1", proxy="socks9://user:hunter2@host")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "kwargs", [{"verify": False}, {"trust_env": False}, {"proxy": "http://127.0.0.1:3128"}]
)
def test_shared_transport_keeps_its_own_settings(kwargs: dict[str, object]) -> None:
    """With a transport (or a session) of the caller's, the network settings are refused."""
    transport = MockTransport(lambda request: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValidationError) as caught:
        AsyncClient("sk_test", base_url="http://127.0.0.1:1", transport=transport, **kwargs)  # type: ignore[arg-type]
    assert caught.value.param == next(iter(kwargs))


def test_proxy_choice_per_url() -> None:
    """The environment's proxy by scheme, ALL_PROXY as the fallback, NO_PROXY by name suffix."""
    options = network_options(verify=True, trust_env=False, proxy=None)
    assert options.proxy_for("https://api.example.com/") is None
    options = type(options)(
        env_proxies={"http": "http://p:1", "all": "http://all:2"},
        no_proxy=("example.com", "localhost:8080"),
    )
    assert options.proxy_for("http://other.org/") == "http://p:1"
    assert options.proxy_for("https://other.org/") == "http://all:2"
    assert options.proxy_for("https://api.example.com/") is None
    assert options.proxy_for("https://example.com/") is None
    assert options.proxy_for("https://notexample.com/") == "http://all:2"
    assert options.proxy_for("http://localhost:8080/") is None
    assert options.proxy_for("http://localhost:9090/") == "http://p:1"
    assert (
        type(options)(env_proxies={"all": "http://a:1"}, no_proxy=("*",)).proxy_for("http://x/")
        is None
    )


def test_tls_failures_are_not_retried() -> None:
    """The retry policy leaves an APIConnectionError with retryable=False alone."""
    error = APIConnectionError("TLS failed")
    assert RetryPolicy().is_retryable_error(error)
    error.retryable = False
    assert not RetryPolicy().is_retryable_error(error)
