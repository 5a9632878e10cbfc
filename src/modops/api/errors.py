"""The one place domain errors become HTTP statuses (JSON for /api, a page for the web UI)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from modops.api.messages import error_message, request_locale, validation_message
from modops.domain import IllegalTransition, ModOpsError, NotFound, PermissionDenied
from modops.domain import ValidationError as DomainValidationError
from modops.i18n import tr
from modops.io import ImportFailed


class NotAuthenticated(ModOpsError):
    """No valid session or token (401 for the API, a redirect to sign-in for pages)."""

    key = "error.401"


class CsrfFailed(ModOpsError):
    """A cookie-authenticated unsafe request without the session's CSRF token."""

    key = "error.csrf"


class TooManyAttempts(ModOpsError):
    """Sign-in refused without checking the password: too many recent failures (429)."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many failed sign-ins; try again in {self.retry_after} s")


STATUS: list[tuple[type[Exception], int]] = [
    (NotAuthenticated, 401),
    (CsrfFailed, 403),
    (TooManyAttempts, 429),
    (PermissionDenied, 403),
    (NotFound, 404),
    (IllegalTransition, 409),
    (DomainValidationError, 422),
    (ImportFailed, 422),
]


def status_for(exc: Exception) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


PageRenderer = Callable[[Request, int, str, list[str]], Response]


# "too many clients": PostgreSQL refused a new connection at max_connections (several workers'
# pools plus other clients); nothing ran, so a retry a moment later is right.
TRANSIENT = ("deadlock detected", "could not serialize", "database is locked",
             "too many clients")


# Field names whose values never go back out, not even in a 422 that quotes what was sent.
SECRET_FIELD = re.compile(r"pass(word)?|secret|token|api[_-]?key", re.IGNORECASE)


def redact(value: object) -> object:
    """``value`` with the values of secret-named keys replaced (nested mappings and lists)."""
    if isinstance(value, dict):
        return {k: "[redacted]" if isinstance(k, str) and SECRET_FIELD.search(k) else redact(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _redacted(err: dict[str, object], lang: str) -> dict[str, object]:
    if "input" in err:
        loc = [str(x) for x in err.get("loc", ())]  # type: ignore[attr-defined]
        err["input"] = "[redacted]" if any(SECRET_FIELD.search(x) for x in loc) \
            else redact(err["input"])
    err["message"] = validation_message(err, lang)
    return err


def install(app: FastAPI, render_page: PageRenderer | None = None) -> None:
    """Register the handlers; ``render_page`` (from the web layer) draws non-API error pages."""

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # FastAPI's own answer, except that it quotes the input: a sign-in with a malformed
        # body would send the password back (and into any proxy or client log). Each error
        # also says what is wrong in the reader's language (``message``); a page's form gets
        # the error page with those sentences instead of JSON.
        lang = request_locale(request)
        errors = [_redacted(dict(err), lang) for err in exc.errors()]
        if not _is_api(request) and render_page is not None:
            return render_page(request, 422, tr(lang, "error.422"),
                               [str(e["message"]) for e in errors])
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # An unknown address or method: JSON for the API as before, the styled page for
        # people (``/tokens`` once answered {"detail": "Not Found"}).
        if _is_api(request) or render_page is None or exc.status_code not in (404, 405):
            return await http_exception_handler(request, exc)
        return render_page(request, exc.status_code, "", [])

    @app.exception_handler(OperationalError)
    async def _db_busy(request: Request, exc: OperationalError) -> Response:
        # A deadlock or lock timeout rolled the transaction back (or no connection could be
        # had): nothing was written, so the client may simply retry. Anything else is a 500.
        if not any(m in str(exc.orig).lower() for m in TRANSIENT):
            raise exc
        return JSONResponse({"detail": "the database is busy; retry"}, status_code=503,
                            headers={"Retry-After": "1"})

    @app.exception_handler(OverflowError)
    async def _id_out_of_range(request: Request, exc: OverflowError) -> Response:
        # An id beyond 64 bits cannot name any row (SQLite refuses to even bind it).
        return JSONResponse({"detail": "no such object (id out of range)"}, status_code=404)

    @app.exception_handler(DataError)
    async def _value_refused(request: Request, exc: DataError) -> Response:
        # PostgreSQL refused a value the client sent (a NUL byte in text, a number beyond its
        # column): nothing was written. An id beyond 64 bits names no row, as on SQLite above.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
        if getattr(exc.orig, "sqlstate", None) == "22003" and "bigint" in reason:
            return JSONResponse({"detail": "no such object (id out of range)"}, status_code=404)
        return JSONResponse({"detail": f"invalid value: {reason}"}, status_code=422)

    @app.exception_handler(ModOpsError)
    async def _domain_error(request: Request, exc: ModOpsError) -> Response:
        code = status_for(exc)
        errors = getattr(exc, "errors", None)
        message = error_message(exc, code, request_locale(request))
        if _is_api(request):
            body: dict[str, object] = {"detail": str(exc) or type(exc).__name__,
                                       "message": message}
            if errors:
                body["errors"] = list(errors)
            headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
            if isinstance(exc, TooManyAttempts):
                headers = {"Retry-After": str(exc.retry_after)}
            return JSONResponse(body, status_code=code, headers=headers)
        if code == 401:
            nxt = request.url.path
            return RedirectResponse(f"/login?next={nxt}", status_code=303)
        if render_page is None:
            return JSONResponse({"detail": str(exc), "message": message}, status_code=code)
        # no catalogue message for this one: its English text stays as the detail below
        detail = [] if exc.key or not str(exc) else [str(exc)]
        return render_page(request, code, message, detail + list(errors or []))
