"""The documentation site: it builds with warnings as errors, and its samples match the code.

The build is the one CI relies on (``mkdocs build --strict``: broken links,
missing pages, docstrings that do not parse all fail it). The samples are
checked without running them: every Python block must compile, every name it
takes from socialwrite must exist, every keyword it passes to a socialwrite
callable must be one that callable takes, and every ``socialwrite`` command
line must parse with the real command line's options.
"""

from __future__ import annotations

import ast
import collections.abc
import importlib
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

import socialwrite
from socialwrite.cli._app import cli as command_line
from socialwrite.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
FENCE = re.compile(r"^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
SNIPPET = "--8<--"


def blocks(language: str) -> Iterator[tuple[str, str]]:
    """Yield ``(page, code)`` for every fenced block of ``language`` in the docs."""
    for page in PAGES:
        for match in FENCE.finditer(page.read_text(encoding="utf-8")):
            if match["lang"] == language and SNIPPET not in match["body"]:
                yield str(page.relative_to(DOCS)), match["body"]


def python_blocks() -> list[Any]:
    """The Python samples, one test parameter each."""
    return [pytest.param(code, id=f"{page}:{n}") for n, (page, code) in enumerate(blocks("python"))]


# -- the build ---------------------------------------------------------------------------------


def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    """mkdocs build --strict succeeds, offline, with every reference page filled in."""
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    reference = (site / "reference" / "socialwrite" / "index.html").read_text(encoding="utf-8")
    for name in ("AsyncClient.write", "WriteStream.events", "RateLimitError", "preview"):
        assert f'id="socialwrite.{name}"' in reference, name
    sandbox = (site / "reference" / "sandbox" / "index.html").read_text(encoding="utf-8")
    assert 'id="socialwrite.sandbox.Sandbox.run_in_thread"' in sandbox
    page = (site / "web-apps" / "index.html").read_text(encoding="utf-8")
    assert "SharedClient" in page  # the example's source, included from examples/
    assert "fonts.googleapis" not in page


def test_every_page_is_in_the_navigation() -> None:
    """Each page of docs/ is reachable from the site's navigation, and each nav entry exists."""

    def entries(nav: Any) -> Iterator[str]:
        if isinstance(nav, str):
            yield nav
        elif isinstance(nav, list):
            for item in nav:
                yield from entries(item)
        elif isinstance(nav, dict):
            for value in nav.values():
                yield from entries(value)

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    listed = set(entries(config["nav"]))
    assert listed == {str(page.relative_to(DOCS)) for page in PAGES}
    assert config["theme"]["font"] is False


# -- Python samples ----------------------------------------------------------------------------


class Instance:
    """A value the checker knows the class of (``client`` is an ``AsyncClient``)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls


# A module, a class, an Instance, or None when the checker cannot tell.
Known = Any

# Samples name the package, an unconfigured client and a stream like this by convention.
CONVENTIONS: dict[str, Known] = {
    "socialwrite": socialwrite,
    "client": Instance(socialwrite.AsyncClient),
    "stream": Instance(socialwrite.WriteStream),
    "result": Instance(socialwrite.WriteResult),
    # The pytest plugin's fixtures, as test functions receive them.
    "socialwrite_sandbox": Instance(Sandbox),
    "socialwrite_client": Instance(socialwrite.AsyncClient),
    "socialwrite_blocking_client": Instance(socialwrite.Client),
}


def instance_attributes(cls: type) -> set[str]:
    """Names ``cls`` sets on ``self`` in ``__init__``, or declares as fields."""
    names = set(getattr(cls, "__annotations__", {}))
    try:
        source = inspect.getsource(vars(cls).get("__init__", object.__init__))
    except (OSError, TypeError):
        return names
    return names | set(re.findall(r"self\.(\w+)\s*(?::[^=]+)?=", source))


def public_names() -> dict[str, Any]:
    """Every public name of socialwrite's modules, to resolve annotations written as strings."""
    names: dict[str, Any] = {}
    for module in (
        "socialwrite",
        "socialwrite.events",
        "socialwrite.platforms",
        "socialwrite.sandbox",
    ):
        names.update(vars(importlib.import_module(module)))
    return names


# What these hand out when iterated, entered or awaited is their last type argument.
_YIELDING = {
    collections.abc.Generator,
    collections.abc.Iterator,
    collections.abc.AsyncIterator,
    collections.abc.AsyncGenerator,
    collections.abc.Awaitable,
    collections.abc.Coroutine,
}


def return_class(function: Any) -> type | None:
    """The class a callable is annotated to return (or to yield, for a context manager)."""
    # A decorated function (contextmanager) keeps its annotations with its own module.
    function = inspect.unwrap(function)
    try:
        # Modules import some of their annotations' classes for type checkers only.
        hints = typing.get_type_hints(function, {**public_names(), **function.__globals__})
    except Exception:  # noqa: BLE001 - annotations that do not resolve say nothing
        return None
    returned = hints.get("return")
    if typing.get_origin(returned) in _YIELDING:
        returned = typing.get_args(returned)[-1]
    return returned if isinstance(returned, type) else None


class SampleChecker(ast.NodeVisitor):
    """Resolves the socialwrite names a sample uses and records what does not exist."""

    def __init__(self) -> None:
        self.scope: dict[str, Known] = dict(CONVENTIONS)
        self.problems: list[str] = []

    def report(self, problem: str) -> None:
        """Record a problem once."""
        # A name can be resolved more than once (as a call, then as its parts).
        if problem not in self.problems:
            self.problems.append(problem)

    def resolve(self, node: ast.expr) -> Known:
        """What an expression is, when the checker can tell."""
        if isinstance(node, ast.Name):
            return self.scope.get(node.id)
        if isinstance(node, ast.Attribute):
            return self.attribute(self.resolve(node.value), node.attr, node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Await):
            awaited = self.resolve(node.value)
            if isinstance(awaited, Instance) and hasattr(awaited.cls, "__await__"):
                cls = return_class(awaited.cls.__await__)
                return Instance(cls) if cls else None
        return None

    def attribute(self, base: Known, name: str, node: ast.expr) -> Known:
        """``base.name``: reported when ``base`` is socialwrite's and has no such member."""
        if isinstance(base, types.ModuleType) and base.__name__.startswith("socialwrite"):
            if not hasattr(base, name):
                try:
                    return importlib.import_module(f"{base.__name__}.{name}")
                except ImportError:
                    self.report(f"line {node.lineno}: {base.__name__}.{name}")
                    return None
            return getattr(base, name)
        if isinstance(base, type) and base.__module__.startswith("socialwrite"):
            if not hasattr(base, name) and name not in instance_attributes(base):
                self.report(f"line {node.lineno}: {base.__name__}.{name}")
            return getattr(base, name, None)
        if isinstance(base, Instance):
            member = getattr(base.cls, name, None)
            if member is None and name not in instance_attributes(base.cls):
                self.report(f"line {node.lineno}: {base.cls.__name__}().{name}")
            if isinstance(member, property):
                cls = return_class(member.fget)
                return Instance(cls) if cls else None
            return member
        return None

    def call(self, node: ast.Call) -> Known:
        """A call's result; its keywords are checked against a socialwrite callable."""
        function = self.resolve(node.func)
        if function is None or not callable(function):
            return None
        if getattr(function, "__module__", "").startswith("socialwrite"):
            self.check_keywords(function, node)
        if isinstance(function, type):
            return Instance(function)
        cls = return_class(function)
        return Instance(cls) if cls else None

    def check_keywords(self, function: Any, node: ast.Call) -> None:
        """Report each keyword argument that ``function`` does not take."""
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            return
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return
        for keyword in node.keywords:
            if keyword.arg is not None and keyword.arg not in parameters:
                name = getattr(function, "__qualname__", repr(function))
                self.report(f"line {node.lineno}: {name}() takes no {keyword.arg}=")

    def bind(self, target: ast.expr | None, value: Known) -> None:
        """Remember what a plain name was bound to."""
        if isinstance(target, ast.Name):
            self.scope[target.id] = value

    def entered(self, value: Known) -> Known:
        """What ``async with`` / ``with`` binds for a value of a known class."""
        if isinstance(value, Instance):
            for method in ("__aenter__", "__enter__"):
                enter = getattr(value.cls, method, None)
                if enter is not None:
                    cls = return_class(enter)
                    return Instance(cls) if cls else value
        return value

    def visit_Import(self, node: ast.Import) -> None:
        """``import socialwrite...`` binds the module."""
        for alias in node.names:
            if alias.name.startswith("socialwrite"):
                module = importlib.import_module(alias.name)
                top = alias.asname or alias.name.split(".")[0]
                self.scope[top] = module if alias.asname else importlib.import_module(top)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        """``from socialwrite... import X``: X must exist."""
        if not (node.module or "").startswith("socialwrite"):
            return
        module = importlib.import_module(node.module or "")
        for alias in node.names:
            value = getattr(module, alias.name, None)
            if value is None:
                try:
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                except ImportError:
                    self.report(f"line {node.lineno}: {node.module}.{alias.name}")
            self.scope[alias.asname or alias.name] = value

    def visit_Assign(self, node: ast.Assign) -> None:
        """``name = value`` binds what the value is."""
        value = self.resolve(node.value)
        for target in node.targets:
            self.bind(target, value)
        self.generic_visit(node)

    def visit_With(self, node: ast.With) -> None:
        """``with value as name`` binds what entering the value gives."""
        self.enter(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        """``async with value as name`` binds what entering the value gives."""
        self.enter(node)

    def enter(self, node: ast.With | ast.AsyncWith) -> None:
        """Bind each ``as`` name of a ``with`` statement, then check its body."""
        for item in node.items:
            self.bind(item.optional_vars, self.entered(self.resolve(item.context_expr)))
        for statement in node.body:
            self.visit(statement)

    def forget(self, target: ast.expr) -> None:
        """What a loop yields is not tracked: its variables are unknown from here on."""
        for name in ast.walk(target):
            if isinstance(name, ast.Name):
                self.scope[name.id] = None

    def visit_For(self, node: ast.For) -> None:
        """A ``for`` loop's variables are unknown."""
        self.forget(node.target)
        self.generic_visit(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        """An ``async for`` loop's variables are unknown."""
        self.forget(node.target)
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        """A comprehension's variables are unknown."""
        self.forget(node.target)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        """Check a call, then what its arguments use."""
        self.resolve(node)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        """Check an attribute chain."""
        self.resolve(node)


@pytest.mark.parametrize("code", python_blocks())
def test_python_samples_compile(code: str) -> None:
    """Each Python sample is valid Python (awaits at the top level allowed)."""
    compile(code, "<docs>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


@pytest.mark.parametrize("code", python_blocks())
def test_python_samples_use_only_what_exists(code: str) -> None:
    """Every socialwrite name, attribute and keyword a sample uses exists in the code."""
    checker = SampleChecker()
    checker.visit(ast.parse(code))
    assert checker.problems == []


def test_the_checker_catches_what_does_not_exist() -> None:
    """The sample checker reports a missing name, attribute and keyword."""
    checker = SampleChecker()
    checker.visit(
        ast.parse(
            "import socialwrite\n"
            "from socialwrite import Nope\n"
            "c = socialwrite.AsyncClient(retries=3)\n"
            "c.post(platforms=['x'])\n"
            "op = client.write(platforms=['x'], contents={})\n"
            "r = await op\n"
            "r.credits\n"
        )
    )
    assert checker.problems == [
        "line 2: socialwrite.Nope",
        "line 3: AsyncClient() takes no retries=",
        "line 4: AsyncClient().post",
        "line 5: AsyncClient.write() takes no contents=",
        "line 7: WriteResult().credits",
    ]


@pytest.mark.parametrize(
    "code", [pytest.param(code, id=f"{page}:{n}") for n, (page, code) in enumerate(blocks("json"))]
)
def test_json_samples_parse(code: str) -> None:
    """Each JSON sample is valid JSON."""
    json.loads(code)


# -- command lines -----------------------------------------------------------------------------


def command_lines() -> list[Any]:
    """Every ``socialwrite ...`` command in the docs' shell blocks."""
    found = []
    for page, code in blocks("bash"):
        for line in code.replace("\\\n", " ").splitlines():
            if line.startswith("socialwrite "):
                words = shlex.split(line, comments=True)
                if "|" in words:
                    words = words[: words.index("|")]
                found.append(pytest.param(words, id=f"{page}:{' '.join(words[:3])}"))
    return found


@pytest.mark.parametrize("words", command_lines())
def test_command_lines_parse(words: list[str]) -> None:
    """Each socialwrite command in the docs has options the command line accepts."""
    name, *args = words[1:]
    if name.startswith("-"):
        assert name in ("--help", "--version")
        return
    command = command_line.commands[name]
    try:
        command.make_context(name, args)
    except click.UsageError as exc:
        pytest.fail(f"{' '.join(words)}: {exc.format_message()}")


def test_the_docs_show_every_command() -> None:
    """post, preview and sandbox each appear in a runnable example."""
    shown = {param.values[0][1] for param in command_lines()}
    assert {"post", "preview", "sandbox"} <= shown
