"""API fixtures: the seeded world, an app over it, and signed-in clients for every role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from modops.accounts import create_token
from modops.api import Settings, create_app
from modops.store import session_scope
from modops.store.models import User
from tests.api.world import PASSWORD, World, build_world


@pytest.fixture
def world(engine: Engine) -> World:
    return build_world(engine)


@pytest.fixture
def app_client(world: World) -> Iterator[TestClient]:
    settings = Settings(secret_key="test-secret", webhook_dispatch=False, cookie_secure=False)
    with TestClient(create_app(world.engine, settings), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def token_for(world: World) -> Callable[[str], dict[str, str]]:
    """Authorization headers with a fresh API token for ``username``."""
    cache: dict[str, dict[str, str]] = {}

    def make(username: str) -> dict[str, str]:
        if username not in cache:
            with session_scope(world.engine) as s:
                user = s.get(User, world.users[username])
                assert user is not None
                tok = create_token(s, user, f"test {username}")
            cache[username] = {"Authorization": f"Bearer {tok.token}"}
        return cache[username]

    return make


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the JSON endpoint; returns the CSRF token for unsafe requests."""
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.headers["X-CSRF-Token"]
