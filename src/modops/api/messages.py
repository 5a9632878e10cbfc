"""Server messages in the reader's language, from the one catalogue (``modops.i18n``).

An error keeps its English text as the API's ``detail`` (scripts and logs rely on it) and
gains a ``message`` in the reader's language: the catalogue message the error names
(``ModOpsError.localized``), else its status's message (``error.403`` …). Request validation
errors (FastAPI's 422) get a message per field (``validation.<type>``), so a web form's 422
reads in Korean for a Korean reader.

The reader's language: the language cookie, then ``Accept-Language``, then the deployment's
default (Korean).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request

from modops.i18n import has, tr

LOCALE_COOKIE = "modops_lang"  # the same cookie the pages set (api.auth.LOCALE_COOKIE)
VALIDATION_TYPES = {
    "missing", "int_parsing", "int_type", "float_parsing", "float_type", "bool_parsing",
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "string_too_short",
    "string_too_long", "literal_error", "enum", "json_invalid", "url_parsing",
    "datetime_parsing", "date_parsing"}
LIMIT_OF = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt",
            "less_than_equal": "le", "string_too_short": "min_length",
            "string_too_long": "max_length"}


def request_locale(request: Request, default: str = "ko") -> str:
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in ("ko", "en"):
        return cookie
    first = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    if first.startswith("en"):
        return "en"
    if first.startswith("ko"):
        return "ko"
    return default


def error_message(exc: Exception, code: int, lang: str) -> str:
    """The error's catalogue message in ``lang``, else its status's, else a generic one."""
    key = getattr(exc, "key", None)
    if key and has(key):
        return tr(lang, key, **getattr(exc, "fields", {}))
    return tr(lang, f"error.{code}") if has(f"error.{code}") else tr(lang, "error.generic")


def field_name(loc: Sequence[Any], lang: str) -> str:
    """A form field as people read it: its catalogue label (``field.<name>``, or the settings
    form's ``settings.<name>``), else its name."""
    parts = [str(x) for x in loc if x not in ("body", "query", "path", "header", "cookie")]
    name = parts[-1] if parts else ""
    for key in (f"field.{name}", f"settings.{name}"):
        if has(key):
            return tr(lang, key)
    return name


def validation_message(err: Mapping[str, Any], lang: str) -> str:
    """One FastAPI/pydantic error (``type``, ``loc``, ``ctx``) as a sentence in ``lang``."""
    kind = str(err.get("type", ""))
    key = f"validation.{kind}" if kind in VALIDATION_TYPES else "validation.invalid"
    ctx = err.get("ctx") or {}
    limit = ctx.get(LIMIT_OF.get(kind, ""), "")
    return tr(lang, key, field=field_name(err.get("loc", ()), lang), limit=limit)
