"""Finding 6, 13 and the sign-in Low findings: unlimited password guessing on the API and the
web form, a rate limiter keyed on the raw Cookie/Authorization header (a junk header per
request bypassed it), username enumeration by timing, a length-only password policy, no
offboarding, tokens that never expire, and a session cookie without ``Secure``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from modops.accounts import service as accounts_service
from modops.api import Settings, create_app
from modops.api.auth import SESSION_COOKIE
from modops.cli import common
from modops.store import session_scope, utcnow
from modops.store.models import AuditLog, User
from modops.store.models_web import ApiToken, WebSession
from tests.api.conftest import login
from tests.api.world import PASSWORD


def _client(world, **kw) -> Iterator[TestClient]:
    settings = Settings(secret_key="s", webhook_dispatch=False, jobs=False,
                        cookie_secure=False, **kw)
    with TestClient(create_app(world.engine, settings), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def client(world) -> Iterator[TestClient]:
    """A back-off long enough that no wait runs out during a test on a busy machine (argon2
    takes up to a second there): the throttle's answers then depend on counts, not clocks."""
    yield from _client(world, signin_backoff_s=600.0)


def _api_login(c: TestClient, username: str, password: str):
    return c.post("/api/v1/auth/login", json={"username": username, "password": password})


def _web_login(c: TestClient, username: str, password: str):
    c.get("/login")
    token = c.cookies.get("modops_login_csrf")
    return c.post("/login", data={"username": username, "password": password,
                                  "csrf_token": token, "next": "/"}, follow_redirects=False)


def test_password_guessing_on_the_api_is_throttled_and_locks_the_account(client, world):
    codes = [_api_login(client, "lab1", f"guess-{i}-wrong").status_code for i in range(50)]
    assert codes[:5] == [401] * 5  # the allowance
    assert set(codes[5:]) == {429}  # then refused without looking at the password
    r = _api_login(client, "lab1", PASSWORD)  # the right password does not get in either
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert SESSION_COOKIE not in r.cookies


def test_the_web_form_shares_the_throttle(client, world):
    for i in range(5):
        r = _web_login(client, "lab2", f"guess-{i}-wrong")
        assert r.status_code == 303 and "failed=1" in r.headers["location"]
    r = _web_login(client, "lab2", PASSWORD)
    assert r.status_code == 303 and "failed=wait" in r.headers["location"]
    page = client.get(r.headers["location"])
    assert "잠시 후" in page.text or "Wait a moment" in page.text
    assert _api_login(client, "lab2", PASSWORD).status_code == 429  # same account, same lock
    assert _api_login(client, "lab1", PASSWORD).status_code == 200  # other accounts are fine


def test_many_usernames_from_one_address_meet_the_address_limit(client, world):
    for i in range(20):
        assert _api_login(client, f"nobody{i}", "whatever-123").status_code == 401
    assert _api_login(client, "lab1", PASSWORD).status_code == 429


def test_the_back_off_ends_and_a_success_clears_the_account(world):
    for c in _client(world, signin_backoff_s=0.05, signin_max_delay_s=0.2):
        for i in range(6):
            _api_login(c, "lab1", f"wrong-{i}-wrong")
        deadline = time.monotonic() + 30
        while (r := _api_login(c, "lab1", PASSWORD)).status_code == 429:
            assert time.monotonic() < deadline, "the back-off never ended"
            time.sleep(0.05)
        assert r.status_code == 200
        assert _api_login(c, "lab1", "wrong-again-x").status_code == 401  # count was cleared


def test_junk_headers_do_not_get_a_fresh_rate_bucket_each(world):
    for c in _client(world, rate_limit_rps=0.5, rate_limit_burst=6):
        codes = [c.get("/api/v1/me", headers={"Cookie": f"junk{i}=x; {SESSION_COOKIE}=f{i}.x",
                                              "Authorization": f"Bearer mo_junk{i}"}).status_code
                 for i in range(30)]
        assert codes.count(429) >= 24, codes


def test_verified_callers_get_their_own_buckets(world, token_for):
    for c in _client(world, rate_limit_rps=0.01, rate_limit_burst=6):
        lab1, lab2 = token_for("lab1"), token_for("lab2")
        # The first call of each is charged to the address (not yet verified), then cached.
        assert c.get("/api/v1/me", headers=lab1).status_code == 200
        assert c.get("/api/v1/me", headers=lab2).status_code == 200
        assert [c.get("/api/v1/me", headers=lab1).status_code for _ in range(6)] == [200] * 6
        assert c.get("/api/v1/me", headers=lab1).status_code == 429
        assert c.get("/api/v1/me", headers=lab2).status_code == 200  # not lab1's bucket


def test_unknown_and_known_users_cost_the_same_argon2_work(client, world, monkeypatch):
    """Timing: one argon2 verification whatever the username (was 433 ms vs 10 ms)."""
    real = accounts_service._hasher
    calls: list[str] = []

    class Counting:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, stored: str, password: str) -> bool:
            calls.append(stored[:9])
            return real.verify(stored, password)

    monkeypatch.setattr(accounts_service, "_hasher", Counting())
    with session_scope(world.engine) as s:
        s.get(User, world.users["lab3"]).active = False
    for username in ("lab1", "no-such-user", "lab3"):
        calls.clear()
        assert _api_login(client, username, "wrong-password-x").status_code == 401
        assert len(calls) == 1 and calls[0].startswith("$argon2"), (username, calls)
    calls.clear()
    assert _api_login(client, "lab3", PASSWORD).status_code == 401  # deactivated: no entry
    assert len(calls) == 1


@pytest.mark.parametrize("password", ["12345678", "password", "Password1!", "qwer1234",
                                      "1q2w3e4r", "aaaaaaaaaa", "abcdefghij", "asdfghjkl"])
def test_common_and_trivial_passwords_are_refused(app_client, token_for, world, password):
    admin = token_for("admin")
    r = app_client.post("/api/v1/users", headers=admin,
                        json={"username": "newbie", "role": "labeler", "password": password})
    assert r.status_code == 422 and "password" in r.json()["detail"]
    r = app_client.put("/api/v1/users/lab1/password", headers=admin,
                       json={"password": password})
    assert r.status_code == 422


def test_offboarding_over_the_api_ends_everything_at_once(app_client, token_for, world):
    admin, lab = token_for("admin"), token_for("lab1")
    login(app_client, "lab1")
    assert app_client.get("/api/v1/me").status_code == 200  # the cookie session works
    assert app_client.get("/api/v1/me", headers=lab).status_code == 200
    assert app_client.post("/api/v1/users/lab1/deactivate",
                           headers=token_for("manager")).status_code == 403
    r = app_client.post("/api/v1/users/lab1/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert app_client.get("/api/v1/me").status_code == 401
    assert app_client.get("/api/v1/me", headers=lab).status_code == 401
    assert _api_login(app_client, "lab1", PASSWORD).status_code == 401
    with session_scope(world.engine) as s:
        assert s.scalar(select(func.count()).select_from(WebSession).where(
            WebSession.user_id == world.users["lab1"])) == 0
        actions = set(s.scalars(select(AuditLog.action).where(
            AuditLog.entity == "user", AuditLog.entity_id == str(world.users["lab1"]))))
        assert {"user.deactivate", "session.end_all", "token.revoke_all"} <= actions
    # Back again, with a new password set by the admin (the old one still signs in? no).
    assert app_client.post("/api/v1/users/lab1/activate", headers=admin).status_code == 200
    assert app_client.put("/api/v1/users/lab1/password", headers=admin,
                          json={"password": "violet-harbor-71"}).status_code == 204
    assert _api_login(app_client, "lab1", PASSWORD).status_code == 401
    assert _api_login(app_client, "lab1", "violet-harbor-71").status_code == 200
    assert app_client.delete("/api/v1/users/lab1/sessions", headers=admin).status_code == 204
    assert app_client.get("/api/v1/me").status_code == 401


def test_offboarding_from_the_command_line(engine, world, monkeypatch):
    from typer.testing import CliRunner

    from modops.cli.main import app

    monkeypatch.setattr(common, "_engine", world.engine)
    runner = CliRunner()
    r = runner.invoke(app, ["users", "reset-password", "lab2", "--password", "12345678"])
    assert r.exit_code != 0 and "commonly used" in (r.stdout + r.stderr)
    r = runner.invoke(app, ["users", "reset-password", "lab2", "--password", "amber-fjord-33"])
    assert r.exit_code == 0, r.stdout
    r = runner.invoke(app, ["users", "end-sessions", "lab2"])
    assert r.exit_code == 0 and "Ended" in r.stdout
    r = runner.invoke(app, ["users", "deactivate", "lab2"])
    assert r.exit_code == 0 and "Deactivated" in r.stdout
    with session_scope(world.engine) as s:
        assert s.get(User, world.users["lab2"]).active is False


def test_tokens_expire_by_default_and_can_be_rotated(app_client, token_for, world):
    lab = token_for("lab1")
    r = app_client.post("/api/v1/tokens", headers=lab, json={"name": "ci"})
    assert r.status_code == 201
    new = r.json()
    with session_scope(world.engine) as s:
        tok = s.get(ApiToken, new["id"])
        life = tok.expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
        assert timedelta(days=89) < life <= timedelta(days=90)
    assert app_client.post("/api/v1/tokens", headers=lab,
                           json={"name": "x", "days": 400}).status_code == 422
    h = {"Authorization": f"Bearer {new['token']}"}
    assert app_client.get("/api/v1/me", headers=h).status_code == 200
    r = app_client.post(f"/api/v1/tokens/{new['id']}/rotate", headers=h)
    assert r.status_code == 201, r.text
    rotated = {"Authorization": f"Bearer {r.json()['token']}"}
    assert app_client.get("/api/v1/me", headers=h).status_code == 401
    assert app_client.get("/api/v1/me", headers=rotated).status_code == 200
    assert app_client.post(f"/api/v1/tokens/{r.json()['id']}/rotate",
                           headers=token_for("lab2")).status_code == 404
    # An expired token stops working.
    with session_scope(world.engine) as s:
        s.execute(update(ApiToken).where(ApiToken.id == r.json()["id"]).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    from modops.api.auth import forget_tokens

    forget_tokens()
    assert app_client.get("/api/v1/me", headers=rotated).status_code == 401


def test_session_cookie_is_secure_by_default(world, monkeypatch):
    from modops.settings import reload_settings

    monkeypatch.delenv("MODOPS_COOKIE_SECURE", raising=False)
    reload_settings()
    assert Settings().cookie_secure is True
    settings = Settings(secret_key="s", webhook_dispatch=False, jobs=False)
    with TestClient(create_app(world.engine, settings), base_url="https://testserver") as c:
        r = _api_login(c, "lab1", PASSWORD)
        assert r.status_code == 200
        cookie = next(v for k, v in r.headers.multi_items()
                      if k == "set-cookie" and v.startswith(SESSION_COOKIE))
        assert "secure" in cookie.lower()
    monkeypatch.setenv("MODOPS_COOKIE_SECURE", "0")
    try:
        assert reload_settings().cookie_secure is False and Settings().cookie_secure is False
    finally:
        monkeypatch.delenv("MODOPS_COOKIE_SECURE")
        reload_settings()
