"""Fixtures for end-to-end tests that run a Discord client against the local stand-in."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e.standin import DiscordStandIn

TEST_TOKEN = "MTAwMDAwMDAwMDAwMDAwMDAw.stand-in.token"


def pytest_configure(config: pytest.Config) -> None:
    """Register the e2e marker."""
    config.addinivalue_line("markers", "e2e: end-to-end test against the local Discord stand-in")


@pytest_asyncio.fixture
async def discord_standin() -> AsyncIterator[DiscordStandIn]:
    """Yield a started stand-in; fail the test on unknown routes or on errors inside the stand-in."""
    async with DiscordStandIn(token=TEST_TOKEN) as standin:
        yield standin
    if standin.unknown_routes:
        routes = ", ".join(r.key for r in standin.unknown_routes)
        pytest.fail(f"the bot called routes the stand-in does not implement: {routes}")
    if standin.internal_errors:
        pytest.fail(f"the stand-in itself failed: {standin.internal_errors}")
