"""The pytest plugin users get: fixtures, the marker, and reading what was published."""

from __future__ import annotations

import pytest

USER_TESTS = """
import pytest

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


@pytest.mark.socialwrite_sandbox(not_connected={"tiktok"})
async def test_announce(socialwrite_sandbox, socialwrite_client):
    async with socialwrite_client as client:
        result = await client.write(platforms=["x", "tiktok"], content={"text": "hi"})
    assert result["tiktok"].error_code == "platform_not_connected"
    assert [p.platform for p in socialwrite_sandbox.published()] == ["x"]
    assert socialwrite_sandbox.published()[0].text == "hi"


def test_blocking(socialwrite_sandbox, socialwrite_blocking_client):
    assert socialwrite_blocking_client.write(platforms=["x"], content={"text": "b"}).ok
    assert len(socialwrite_sandbox.published()) == 1


def test_each_test_gets_a_fresh_sandbox(socialwrite_sandbox):
    assert socialwrite_sandbox.published() == []
"""


def test_plugin_fixtures_work_in_a_users_suite(pytester: pytest.Pytester) -> None:
    """A user's test file uses the fixtures and marker with no import or conftest."""
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=4)


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    """--strict-markers accepts the socialwrite_sandbox marker."""
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["*socialwrite_sandbox(**config)*"])
