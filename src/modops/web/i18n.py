"""The web UI's strings: a view of the one catalogue (``modops.i18n``) and the locale choice.

Templates call ``t("key", **values)``; a missing key prints as the key itself, so a forgotten
translation shows up as readable text rather than an error.
"""

from __future__ import annotations

from modops.i18n import LOCALES, TEXT, tr

# locale -> key -> text (what the templates can ask for, per language)
MESSAGES: dict[str, dict[str, str]] = {
    locale: {key: texts[i] for key, texts in TEXT.items()} for i, locale in enumerate(LOCALES)}


def translate(locale: str, key: str, **values: object) -> str:
    return tr(locale, key, **values)


def pick_locale(cookie: str | None, user_locale: str | None, accept: str | None,
                default: str = "ko") -> str:
    for candidate in (cookie, user_locale):
        if candidate in LOCALES:
            return candidate
    if accept:
        first = accept.split(",")[0].strip().lower()
        if first.startswith("en"):
            return "en"
        if first.startswith("ko"):
            return "ko"
    return default
