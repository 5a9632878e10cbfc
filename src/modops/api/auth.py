"""Who is calling: a signed session cookie (browsers) or a bearer API token (systems).

Cookie value = ``token.signature`` (HMAC-SHA256 over the token with the app secret), so a
forged or truncated cookie is rejected before the database is asked. Cookie-authenticated
unsafe requests must carry the session's CSRF token (form field ``csrf_token`` or header
``X-CSRF-Token``); bearer-token requests are immune to CSRF and need none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from modops.accounts import session_user, start_session, token_user, verify_password
from modops.accounts.credentials import digest
from modops.accounts.throttle import SignInThrottle, ThrottleConfig
from modops.api.errors import CsrfFailed, NotAuthenticated, TooManyAttempts
from modops.domain import Role, events
from modops.store import notices, session_scope
from modops.store.db import store_key
from modops.store.models import User

SESSION_COOKIE = "modops_session"
LOGIN_CSRF_COOKIE = "modops_login_csrf"
LOCALE_COOKIE = "modops_lang"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller, detached from any DB session (cheap to pass around)."""

    id: int
    username: str
    display_name: str
    role: Role
    team_id: int | None
    locale: str
    via: str  # "session" or "token"
    csrf_token: str | None = None
    session_token: str | None = None

    @classmethod
    def of(cls, user: User, via: str, csrf: str | None = None, token: str | None = None):
        return cls(user.id, user.username, user.display_name or user.username, Role(user.role),
                   user.team_id, user.locale or "ko", via, csrf, token)

    def at_least(self, role: Role) -> bool:
        return self.role.at_least(role)


def _sig(secret: str, token: str) -> str:
    mac = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign(secret: str, token: str) -> str:
    return f"{token}.{_sig(secret, token)}"


def unsign(secret: str, value: str) -> str | None:
    token, _, sig = value.rpartition(".")
    if not token or not hmac.compare_digest(sig, _sig(secret, token)):
        return None
    return token


# Bearer tokens are looked up once per TOKEN_TTL_S per process, not on every request: systems
# and benchmarks call in tight loops. Revocation and user changes (role, team, deactivation)
# apply at once in this process and within TOKEN_TTL_S in other workers, the same second the
# queue's actor cache allows. On PostgreSQL they are announced to every worker
# (modops.store.notices), and while those notices are heard a lookup lives longer.
TOKEN_TTL_S = 1.0
_token_cache: dict[str, tuple[Principal, float]] = {}  # digest -> (caller, when looked up)


def forget_tokens() -> None:
    _token_cache.clear()


def _forget_on_user_change(event: str, _payload: dict[str, object]) -> None:
    if event == events.USER_CHANGED:
        forget_tokens()


events.subscribe(_forget_on_user_change)


def _bearer(engine: Engine, token: str) -> Principal | None:
    key = digest(token)
    hit = _token_cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[1] < notices.ttl(store_key(engine), TOKEN_TTL_S):
        return hit[0]
    with session_scope(engine, immediate=False) as s:  # reads only, even in a POST
        user = token_user(s, token)
        principal = Principal.of(user, "token") if user else None
    if principal is not None:
        if len(_token_cache) > 10_000:
            _token_cache.clear()
        _token_cache[key] = (principal, now)
    else:
        _token_cache.pop(key, None)
    return principal


def resolve(request: Request) -> Principal | None:
    """Authenticate the request (memoized on ``request.state``); None when anonymous."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    engine: Engine = request.app.state.engine
    secret: str = request.app.state.settings.secret_key
    principal: Principal | None = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        principal = _bearer(engine, header[7:].strip())
        if principal is None:
            raise NotAuthenticated("invalid or revoked API token")
    else:
        raw = request.cookies.get(SESSION_COOKIE)
        token = unsign(secret, raw) if raw else None
        if token:
            with session_scope(engine, immediate=False) as s:  # reads only
                found = session_user(s, token)
                if found:
                    user, web = found
                    principal = Principal.of(user, "session", web.csrf_token, token)
    request.state.principal = principal
    return principal


async def check_csrf(request: Request, principal: Principal) -> None:
    """Reject cookie-authenticated unsafe requests without the session's CSRF token."""
    if request.method in SAFE_METHODS or principal.via != "session":
        return
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or not principal.csrf_token or not hmac.compare_digest(sent,
                                                                       principal.csrf_token):
        raise CsrfFailed("missing or wrong CSRF token; reload the page and try again")


def known_bearer(token: str) -> int | None:
    """The user id behind a bearer token this process has verified, else None (no query)."""
    hit = _token_cache.get(digest(token))
    return hit[0].id if hit is not None else None


def _cached_bearer(request: Request) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    hit = _token_cache.get(digest(header[7:].strip()))
    return hit[0] if hit is not None and hit[1] > time.monotonic() else None


async def current(request: Request) -> Principal:
    """Dependency for every protected route: authenticated, and CSRF-checked when it must be.

    A cached bearer token is answered on the event loop; anything that needs the database
    runs in the thread pool so the loop never blocks.
    """
    principal = _cached_bearer(request)
    if principal is not None:
        request.state.principal = principal
        return principal
    principal = await run_in_threadpool(resolve, request)
    if principal is None:
        raise NotAuthenticated("sign in or send an API token (Authorization: Bearer …)")
    await check_csrf(request, principal)
    return principal


def throttle_of(request: Request) -> SignInThrottle:
    """The app's one sign-in throttle (the API login and the web form share it)."""
    state = request.app.state
    if getattr(state, "signin_throttle", None) is None:
        st = state.settings
        state.signin_throttle = SignInThrottle(ThrottleConfig(
            free_per_account=st.signin_free_per_account,
            free_per_address=st.signin_free_per_address,
            base_s=st.signin_backoff_s, max_s=st.signin_max_delay_s))
    return state.signin_throttle


def password_sign_in(request: Request, response: Response, username: str, password: str) -> str:
    """Check the password and set the session cookie; returns the new session's CSRF token.

    Throttled per account and per client address (``TooManyAttempts``, 429, before the
    password is looked at); an unknown username costs the same argon2 time as a known one."""
    settings = request.app.state.settings
    throttle = throttle_of(request)
    address = request.client.host if request.client else None
    wait = throttle.retry_after(username, address)
    if wait > 0:
        raise TooManyAttempts(wait)
    with session_scope(request.app.state.engine) as s:
        user = s.scalar(select(User).where(User.username == username))
        if not verify_password(user, password):
            throttle.failed(username, address)
            raise NotAuthenticated("wrong username or password")
        assert user is not None
        throttle.succeeded(username)
        new = start_session(s, user, user_agent=request.headers.get("user-agent"))
    response.set_cookie(
        SESSION_COOKIE, sign(settings.secret_key, new.token), max_age=settings.session_hours * 3600,
        httponly=True, samesite="lax", secure=settings.cookie_secure, path="/")
    return new.csrf_token
