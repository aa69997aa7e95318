"""``socialwrite post`` and ``socialwrite preview`` through click's runner, against the sandbox."""

from __future__ import annotations

import ast
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

import socialwrite
from socialwrite import cli
from socialwrite.cli._app import cli as command_line
from socialwrite.cli._post import sandbox_latency
from socialwrite.sandbox import Faults, Sandbox

CHART = Path(__file__).resolve().parent.parent / "examples" / "media" / "chart.png"
TEXT = "Markets today 📈"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the command line in-process, with no SOCIALWRITE_* setting but those in ``env``."""
    unset: dict[str, str | None] = {
        "SOCIALWRITE_API_KEY": None,
        "SOCIALWRITE_BASE_URL": None,
    }
    return CliRunner().invoke(command_line, list(args), env={**unset, **(env or {})})


def service(sandbox: Sandbox) -> list[str]:
    """The options that point the command at ``sandbox``."""
    return ["--base-url", sandbox.base_url, "--api-key", sandbox.api_key]


def wire(post: Any) -> dict[str, Any]:
    """What a published post's result looks like in the protocol's JSON."""
    return {"platform": post.platform, "post_id": post.post_id, "url": post.url}


# -- post --------------------------------------------------------------------------------------


def test_json_output_is_the_protocol_answer_of_what_was_published(
    socialwrite_sandbox: Sandbox,
) -> None:
    """--json prints only the WriteResult's JSON, matching the sandbox's records."""
    result = run(
        "post", *service(socialwrite_sandbox), "-p", "x", "-p", "bluesky", "--text", TEXT, "--json"
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout, parse_float=Decimal)
    published = socialwrite_sandbox.published()
    assert [wire(post) for post in published] == [
        {key: item[key] for key in ("platform", "post_id", "url")} for item in answer["results"]
    ]
    assert all(item["success"] for item in answer["results"])
    assert answer["credits_used"] == Decimal("0.015")
    assert [post.text for post in published] == [TEXT, TEXT]
    assert result.stderr == ""


def test_settings_come_from_the_environment(socialwrite_sandbox: Sandbox) -> None:
    """SOCIALWRITE_API_KEY and SOCIALWRITE_BASE_URL stand in for --api-key and --base-url."""
    env = {
        "SOCIALWRITE_API_KEY": socialwrite_sandbox.api_key,
        "SOCIALWRITE_BASE_URL": socialwrite_sandbox.base_url,
    }
    result = run("post", "-p", "x", "--text", "From the environment", env=env)
    assert result.exit_code == 0, result.output
    assert [post.text for post in socialwrite_sandbox.published()] == ["From the environment"]


def test_plain_output_is_a_line_per_platform_then_the_credits(
    socialwrite_sandbox: Sandbox,
) -> None:
    """Without a terminal: each platform's URL on its own line, the credits last, no escapes."""
    result = run("post", *service(socialwrite_sandbox), "-p", "x", "-p", "bluesky", "--text", TEXT)
    assert result.exit_code == 0, result.output
    urls = {post.platform: post.url for post in socialwrite_sandbox.published()}
    lines = result.stdout.splitlines()
    assert sorted(lines[:2]) == sorted([f"x        {urls['x']}", f"bluesky  {urls['bluesky']}"])
    assert lines[2:] == ["credits used: 0.015"]
    assert "\x1b" not in result.stdout


def test_a_local_file_is_uploaded_with_its_alt_text_and_options(
    socialwrite_sandbox: Sandbox,
) -> None:
    """--media uploads the file; --alt-text and --option reach the platform."""
    result = run(
        "post",
        *service(socialwrite_sandbox),
        "-p",
        "x",
        "-p",
        "instagram",
        "--text",
        TEXT,
        "--media",
        str(CHART),
        "--alt-text",
        "A rising line chart",
        "--option",
        "instagram.format=stories",
        "--option",
        "instagram.first_comment=#markets",
        "--json",
    )
    assert result.exit_code == 0, result.output
    x, instagram = socialwrite_sandbox.published()
    assert x.media == instagram.media
    (media_url,) = x.media
    assert httpx.get(media_url).content == CHART.read_bytes()
    assert x.alt_text == ("A rising line chart",)
    assert dict(instagram.options) == {"format": "stories", "first_comment": "#markets"}
    assert dict(x.options) == {}


def test_one_alt_text_per_media_item(socialwrite_sandbox: Sandbox) -> None:
    """Several --alt-text go one per --media, in order."""
    result = run(
        "post",
        *service(socialwrite_sandbox),
        "-p",
        "x",
        "--media",
        "https://images.example.com/a.jpg",
        "--media",
        "https://images.example.com/b.jpg",
        "--alt-text",
        "first",
        "--alt-text",
        "second",
    )
    assert result.exit_code == 0, result.output
    (post,) = socialwrite_sandbox.published()
    assert post.media == ("https://images.example.com/a.jpg", "https://images.example.com/b.jpg")
    assert post.alt_text == ("first", "second")


def test_the_same_idempotency_key_publishes_once(socialwrite_sandbox: Sandbox) -> None:
    """--idempotency-key is sent as given; posting again with it publishes nothing new."""
    args = ["post", *service(socialwrite_sandbox), "-p", "x", "--text", TEXT]
    first = run(*args, "--idempotency-key", "launch-42", "--json")
    second = run(*args, "--idempotency-key", "launch-42", "--json")
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert json.loads(first.stdout)["results"] == json.loads(second.stdout)["results"]
    assert socialwrite_sandbox.stats.publishes_for("launch-42") == 1


def test_a_failed_platform_exits_1_and_says_why(socialwrite_sandbox: Sandbox) -> None:
    """A platform that fails (Instagram without media) exits 1, the others still publish."""
    result = run(
        "post", *service(socialwrite_sandbox), "-p", "x", "-p", "instagram", "--text", TEXT
    )
    assert result.exit_code == 1
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines()[:2])
    assert lines["instagram"].startswith("failed: ")
    assert lines["instagram"].endswith("(media_required)")
    assert lines["x"] == socialwrite_sandbox.published()[0].url
    assert result.stdout.splitlines()[2] == "credits used: 0.0075"


def test_a_failed_platform_exits_1_with_json_too(socialwrite_sandbox: Sandbox) -> None:
    """With --json, a failed platform is in the JSON and the exit code is still 1."""
    result = run("post", *service(socialwrite_sandbox), "-p", "instagram", "--text", TEXT, "--json")
    assert result.exit_code == 1
    (item,) = json.loads(result.stdout)["results"]
    assert (item["success"], item["error_code"]) == (False, "media_required")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--media", "no-such-chart.png"], "error: content.media[0]: no such file: "),
        (["-p", "X"], "error: platforms[2]: platform ids are lowercase"),
        (["--option", "youtube.title=Hi"], "error: options.youtube: "),
        (["--option", "instagram.format=poster"], "error: options.instagram.format: "),
        (["--alt-text", "a", "--alt-text", "b"], "error: content.alt_text: "),
    ],
)
def test_bad_input_exits_2_with_one_line_and_sends_nothing(
    socialwrite_sandbox: Sandbox, args: list[str], reason: str
) -> None:
    """Input the SDK refuses is one 'error:' line on stderr, exit 2, nothing published."""
    result = run(
        "post", *service(socialwrite_sandbox), "-p", "x", "-p", "instagram", "--text", TEXT, *args
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(reason), result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""
    assert socialwrite_sandbox.stats.writes_received == 0


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--text", TEXT], "Missing option '-p' / '--platform'"),
        (["-p", "x", "--option", "format=stories"], "is not PLATFORM.NAME=VALUE"),
        (["-p", "x", "--option", "instagram.format"], "is not PLATFORM.NAME=VALUE"),
        (["-p", "x", "--colour"], "No such option '--colour'"),
    ],
)
def test_bad_usage_exits_2(args: list[str], reason: str) -> None:
    """Malformed options are usage errors: exit 2, with the reason."""
    result = run("post", "--base-url", "http://127.0.0.1:9", "--api-key", "k", *args)
    assert result.exit_code == 2
    assert reason in result.stderr


def test_a_missing_api_key_says_where_to_put_it() -> None:
    """No key anywhere: exit 2, naming --api-key, the variable, and --sandbox."""
    result = run("post", "--base-url", "http://127.0.0.1:9", "-p", "x", "--text", TEXT)
    assert result.exit_code == 2
    assert result.stderr == (
        "error: no API key: give --api-key or set SOCIALWRITE_API_KEY (or try --sandbox)\n"
    )


def test_a_missing_base_url_says_where_to_put_it() -> None:
    """No base URL anywhere: exit 2, naming --base-url and the variable."""
    result = run("post", "--api-key", "k", "-p", "x", "--text", TEXT)
    assert result.exit_code == 2
    assert "--base-url or set SOCIALWRITE_BASE_URL" in result.stderr


def test_an_api_error_is_one_line_and_exit_1(socialwrite_sandbox: Sandbox) -> None:
    """A wrong key gets the API's 401 as one line on stderr, exit 1, and no traceback."""
    result = run(
        "post", "--base-url", socialwrite_sandbox.base_url, "--api-key", "wrong", "-p", "x",
        "--text", TEXT,
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("error: AuthenticationError: [401")
    assert result.stderr.count("\n") == 1
    assert "wrong" not in result.stderr
    assert socialwrite_sandbox.published() == []


@pytest.mark.socialwrite_sandbox(faults=Faults(fail_writes=1))
def test_verbose_shows_the_retries(socialwrite_sandbox: Sandbox) -> None:
    """-v prints each failed attempt and its retry on stderr; the write still succeeds."""
    args = ["-p", "x", "--text", TEXT, "-v"]
    result = run("post", *service(socialwrite_sandbox), *args)
    assert result.exit_code == 0, result.output
    assert "failed (503)" in result.stderr
    assert "retry 1 of 2" in result.stderr
    assert socialwrite_sandbox.faults_injected["server_error"] == 1


def test_sandbox_posts_with_no_account() -> None:
    """--sandbox needs no key or URL, uploads the file, and every platform succeeds."""
    result = run(
        "post", "--sandbox", "-p", "x", "-p", "instagram", "--text", TEXT, "--media", str(CHART),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert [item["platform"] for item in answer["results"]] == ["x", "instagram"]
    assert all(item["success"] and item["url"] for item in answer["results"])


def test_sandbox_refuses_a_service_given_on_the_command_line() -> None:
    """--sandbox with --base-url or --api-key is a usage error, not a silent choice."""
    result = run("post", "--sandbox", "--base-url", "http://127.0.0.1:9", "-p", "x", "--text", "a")
    assert result.exit_code == 2
    assert "leave out --base-url" in result.stderr


def test_sandbox_ignores_the_environments_service(socialwrite_sandbox: Sandbox) -> None:
    """--sandbox wins over SOCIALWRITE_* variables: nothing reaches the configured service."""
    env = {
        "SOCIALWRITE_API_KEY": socialwrite_sandbox.api_key,
        "SOCIALWRITE_BASE_URL": socialwrite_sandbox.base_url,
    }
    result = run("post", "--sandbox", "-p", "x", "--text", TEXT, env=env)
    assert result.exit_code == 0, result.output
    assert socialwrite_sandbox.stats.writes_received == 0


def test_sandbox_platforms_resolve_one_after_another() -> None:
    """The --sandbox latency grows with each platform, so results arrive one by one."""
    latency = sandbox_latency(["x", "instagram", "bluesky"])
    assert list(latency) == ["x", "instagram", "bluesky"]
    assert latency["x"] < latency["instagram"] < latency["bluesky"]


# -- preview -----------------------------------------------------------------------------------


def test_preview_shows_each_platforms_text_count_and_warnings() -> None:
    """A table per platform: the text it gets, its count against its limit, and warnings."""
    result = run("preview", "-p", "x", "-p", "instagram", "--text", TEXT)
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert shown.index("x") < shown.index("instagram")
    assert "16 / 280" in shown  # X weighs an emoji 2
    assert "15 / 2200" in shown  # Instagram counts it once
    assert "media required but missing" in shown
    assert "\x1b" not in shown


def test_preview_json_is_what_socialwrite_preview_returns() -> None:
    """--json gives socialwrite.preview's fields, keyed by platform in order."""
    text = "word " * 80
    result = run("preview", "-p", "bluesky", "-p", "x", "--text", text, "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    expected = socialwrite.preview(["bluesky", "x"], {"text": text})
    assert list(shown) == ["bluesky", "x"]
    for platform, item in expected.items():
        assert shown[platform] == {
            "text": item.text,
            "count": item.count,
            "limit": item.limit,
            "warnings": list(item.warnings),
        }
    assert shown["x"]["warnings"] == ["truncated"]


def test_preview_needs_no_service() -> None:
    """preview runs with no key and no URL anywhere: it never calls the network."""
    result = run("preview", "-p", "threads", "--text", "Hello")
    assert result.exit_code == 0, result.output
    assert "5 / 500" in result.stdout


def test_preview_bad_platform_exits_2() -> None:
    """A malformed platform id is bad input: exit 2 with one line."""
    result = run("preview", "-p", "x", "-p", "x", "--text", "hi")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: platforms[1]: ")


# -- the program -------------------------------------------------------------------------------


def test_version() -> None:
    """--version prints the installed package's version."""
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"socialwrite, version {socialwrite.__version__}\n"


@pytest.mark.parametrize("command", [[], ["post"], ["preview"], ["sandbox"]])
def test_help_everywhere(command: list[str]) -> None:
    """--help works on the program and on each command."""
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: socialwrite {' '.join(command)}".rstrip())
    assert "\\b" not in result.stdout  # click's no-rewrap marker is a backspace, never shown


def test_main_returns_0_when_the_command_succeeds(socialwrite_sandbox: Sandbox) -> None:
    """main() returns 0 for a finished command and exits with the code otherwise."""
    assert cli.main(["post", *service(socialwrite_sandbox), "-p", "x", "--text", TEXT]) == 0
    with pytest.raises(SystemExit) as exited:
        cli.main(["post", *service(socialwrite_sandbox), "-p", "instagram", "--text", TEXT])
    assert exited.value.code == 1


def test_without_the_cli_extra_the_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without click, the entry point prints the pip command in one line and exits 1."""
    for name in list(sys.modules):
        if name == "click" or name.startswith(("click.", "socialwrite.cli.")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "click", None)
    assert cli.main(["post", "--help"]) == 1
    assert capsys.readouterr().err == "socialwrite: the command line needs its extra: " + (
        "pip install 'socialwrite[cli]'\n"
    )


# -- the package's shape -----------------------------------------------------------------------

PACKAGE = Path(socialwrite.__file__).resolve().parent
# Each layer of the command line may import only the layers below it.
CLI_LAYERS = {
    "socialwrite.cli": 0,
    "socialwrite.cli._app": 1,
    "socialwrite.cli._post": 2,
    "socialwrite.cli._preview": 2,
    "socialwrite.cli._sandbox": 2,
    "socialwrite.cli._common": 3,
    "socialwrite.cli._progress": 3,
    "socialwrite.cli._serve": 3,
}


def imported_modules(path: Path) -> set[str]:
    """The absolute names of the socialwrite modules that the file at ``path`` imports."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    package = [part for part in package if part != "__init__"]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            # ``from . import _serve`` imports a module by its attribute name.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "socialwrite"}


def test_the_cli_modules_import_one_way() -> None:
    """Inside the CLI package imports go down the layers; nothing below imports the CLI."""
    assert {
        "socialwrite.cli" + ("" if path.stem == "__init__" else f".{path.stem}")
        for path in (PACKAGE / "cli").glob("*.py")
    } == set(CLI_LAYERS)
    for path in PACKAGE.rglob("*.py"):
        imported = {name for name in imported_modules(path) if name in CLI_LAYERS}
        if path.parent == PACKAGE / "cli":
            name = "socialwrite.cli" + ("" if path.stem == "__init__" else f".{path.stem}")
            upward = {other for other in imported if CLI_LAYERS[other] <= CLI_LAYERS[name]}
            assert not upward, f"{name} imports {upward}"
        elif path != PACKAGE / "__main__.py":
            assert not imported, f"{path} imports {imported}"
