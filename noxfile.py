"""Developer tasks: ``nox -s tests``, ``lint``, ``typecheck``, ``docs``, and ``bench`` (by hand)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (asyncio and trio) on each supported Python found."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, tests and examples."""
    session.install("-e", ".[test]", "mypy>=1.10")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings as errors, as the tests do (into site/)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


# The peer SDKs the write benchmark runs side by side with socialwrite. They are
# installed in the bench session only, never as the project's dependencies.
# zernio-sdk imports pydantic's email type without declaring email-validator.
BENCH_PEERS = ["social-post-api", "zernio-sdk", "email-validator"]


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Run every benchmark with the peers side by side and print one table (not run by CI).

    Pass run_all.py's options after ``--``: ``nox -s bench -- --quick``.
    """
    session.install("-e", ".[trio]", "httpx>=0.27", *BENCH_PEERS)
    session.run("python", "benchmarks/run_all.py", *session.posargs)
