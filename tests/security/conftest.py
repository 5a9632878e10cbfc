"""The security tests reuse the API's seeded world and signed-in clients."""

from tests.api.conftest import app_client, token_for, world  # noqa: F401 (fixtures)
