"""The application factory: API routers, the web UI, security headers, webhook dispatch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modops.api import errors
from modops.api.limits import Limits
from modops.api.routers import admin, analytics, audit, auth, media, ops, projects, rules, work
from modops.api.settings import Settings
from modops.net.outbound import OutboundPolicy
from modops.notify.webhooks import Dispatcher
from modops.store import ensure_schema, make_engine, notices
from modops.store.db import writes_expected

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"

# No inline script or style anywhere: every script is a static file, so injected markup that
# slipped past escaping still could not run.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
# Swagger UI sets inline styles; /docs gets that one relaxation and nothing else.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ModOps API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head>
<body><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script></body></html>"""


# Answers any API route may give (errors.py, auth, limits): documented so clients and
# schemathesis know them.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"description": text} for code, text in (
        (400, "bad request"), (401, "not signed in / bad token"), (403, "role may not"),
        (404, "not found (or not yours to know)"), (409, "illegal state transition"),
        (413, "body too large"), (422, "invalid input"),
        (429, "rate limited (see Retry-After)"), (503, "database busy; retry"))}


def _security_headers(csp: str, *, cache: bool) -> tuple[tuple[bytes, bytes], ...]:
    headers = ((b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY"))
    return headers if cache else (*headers, (b"cache-control", b"no-store"))


# Built once: every response carries one of these sets.
HEADERS = _security_headers(CSP, cache=False)
DOCS_HEADERS = _security_headers(DOCS_CSP, cache=False)
STATIC_HEADERS = _security_headers(CSP, cache=True)


class WriteIntent:
    """Pure ASGI middleware: while serving an unsafe method (POST, PUT, PATCH, DELETE) the
    request's units of work take SQLite's write lock at BEGIN (``store.db.writes_expected``),
    so they wait their turn instead of failing on a stale read. No effect on PostgreSQL."""

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in self.SAFE:
            await self.app(scope, receive, send)
            return
        with writes_expected():
            await self.app(scope, receive, send)


class SecurityHeaders:
    """Pure ASGI middleware (no BaseHTTPMiddleware task and stream per request): adds the CSP
    and friends to every response, and ``no-store`` to everything but static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = (DOCS_HEADERS if path == "/docs" else
                 STATIC_HEADERS if path.startswith("/static/") else HEADERS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                present = {k.lower() for k, _ in headers}
                message["headers"] = [*headers, *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """Build the app over ``engine`` (default: MODOPS_DATABASE_URL, schema upgraded)."""
    settings = settings or Settings()
    if engine is None:
        engine = make_engine()
        ensure_schema(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dispatcher = None
        if settings.webhook_dispatch:
            dispatcher = Dispatcher(engine, max_attempts=settings.webhook_max_attempts,
                                    backoff_s=settings.webhook_backoff_s,
                                    timeout_s=settings.webhook_timeout_s,
                                    poll_s=settings.webhook_poll_s,
                                    policy=OutboundPolicy.parse(settings.outbound_allow))
            dispatcher.start()
        app.state.dispatcher = dispatcher
        from modops import jobs

        job_runner = jobs.start_runner(engine) if settings.jobs else None
        listener = notices.start_listener(engine)
        try:
            yield
        finally:
            if listener is not None:
                listener.stop()
            if job_runner is not None:
                job_runner.stop()
            if dispatcher is not None:
                dispatcher.stop()

    app = FastAPI(title="ModOps", version="0.1",
                  description="Content-labeling and moderation operations. Authenticate "
                              "with `Authorization: Bearer <token>`. Get the first token in "
                              "the browser (**API tokens** page, `/tokens`), or over HTTP: "
                              "`POST /api/v1/auth/login` sets a session cookie and answers "
                              "an `X-CSRF-Token` header; send that value back as the "
                              "`X-CSRF-Token` header, with the cookie, on `POST "
                              "/api/v1/tokens`. Requests made with a token need no CSRF "
                              "header.",
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.engine = engine
    app.state.settings = settings

    app.add_middleware(Limits, max_body=settings.max_body_bytes,
                       max_upload=settings.max_upload_bytes, rps=settings.rate_limit_rps,
                       burst=settings.rate_limit_burst, secret=settings.secret_key)
    app.add_middleware(WriteIntent)
    app.add_middleware(SecurityHeaders)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # Routes are matched one by one in this order: the labelers' queue routes (most of the
    # traffic) come first. No two routers share a method and path, so the order changes nothing
    # else.
    for r in (work.router, auth.router, projects.router, admin.router, ops.router,
              analytics.router, media.router, audit.router, rules.router):
        app.include_router(r, responses=ERROR_RESPONSES)

    from modops.web import (  # the UI is optional for API-only deployments
        console_admin,
        console_data,
        console_items,
        console_projects,
        console_rules,
        console_work,
        dashboards,
        views,
    )

    # the console's pages first: /manage/new is not the dashboard of a project named "new"
    app.include_router(console_projects.router)
    app.include_router(console_data.router)
    app.include_router(console_rules.router)
    app.include_router(views.router)
    app.include_router(console_work.router)
    app.include_router(dashboards.router)
    app.include_router(console_admin.router)
    app.include_router(console_items.router)
    errors.install(app, render_page=views.render_error)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
