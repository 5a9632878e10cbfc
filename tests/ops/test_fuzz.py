"""schemathesis against the OpenAPI spec, authenticated as each role: no 5xx and no response
that violates the schema. ``make fuzz`` (``MODOPS_FUZZ=1``, ``MODOPS_FUZZ_EXAMPLES``)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from modops.accounts import create_token
from modops.api import Settings, create_app
from modops.store import make_engine, session_scope, upgrade
from modops.store.models import User
from tests.api.world import build_world

EXAMPLES = int(os.environ.get("MODOPS_FUZZ_EXAMPLES", "8"))
# Opt-in (`make fuzz`) until the open findings are fixed: naive datetimes are served without a
# timezone, which the spec's "date-time" format forbids (ST108).
pytestmark = pytest.mark.skipif(not os.environ.get("MODOPS_FUZZ"),
                                reason="set MODOPS_FUZZ=1 (make fuzz)")
ROLES = ("lab1", "reviewer", "manager", "admin")


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    world = build_world(engine)
    tokens = {}
    with session_scope(engine) as s:
        for name in ROLES:
            tokens[name] = create_token(s, s.get(User, world.users[name]), "fuzz").token
    app = create_app(engine, Settings(secret_key="fuzz", webhook_dispatch=False, jobs=False,
                                      rate_limit_rps=0))
    yield app, tokens
    engine.dispose()


@pytest.mark.slow
def test_api_fuzz(fuzz_app) -> None:
    """Every operation, ``EXAMPLES`` generated requests each, sent as every role.

    Driven with the programmatic API (Hypothesis ``given`` per operation) rather than the
    pytest plugin, which does not support this pytest version's collection."""
    from hypothesis import given

    app, tokens = fuzz_app
    spec = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    failures: list[str] = []
    ran = 0
    for result in spec.get_all_operations():
        op = result.ok()
        # Destructive calls would spoil the world for the other examples; their policies are
        # covered by the authorization matrix.
        if op.method.upper() == "DELETE" or op.path.endswith("/logout"):
            continue

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            for role in ROLES:
                case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"},
                                       checks=checks)

        try:
            run()
            ran += 1
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:600]}")
    assert ran > 20
    assert not failures, "\n\n".join(failures)
