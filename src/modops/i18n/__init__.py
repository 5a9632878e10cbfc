"""Korean and English for the UI, the reports and the alerts, from one catalogue.

``tr(lang, key, **fields)`` fills the template of ``key`` in ``lang``; :class:`Msg` holds a key
and its fields so a message can be rendered in both languages (alerts store both), and a field
that is itself a :class:`Msg` is rendered in the same language first. An unknown key prints as
the key itself, so a forgotten entry shows up as readable text rather than an error; the tests
check that every key used exists in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .catalogue import GLOSSARY, TEXT

Lang = Literal["ko", "en"]
LOCALES: tuple[Lang, ...] = ("ko", "en")


def tr(lang: str, key: str, **fields: Any) -> str:
    """The text of ``key`` in ``lang`` (anything but ``ko`` reads English), fields filled."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    text = pair[0] if lang == "ko" else pair[1]
    if not fields:
        return text
    return text.format(**{k: v.render(lang) if isinstance(v, Msg) else v
                          for k, v in fields.items()})


def pair(key: str, **fields: Any) -> tuple[str, str]:
    """``(Korean, English)`` of ``key``."""
    return tr("ko", key, **fields), tr("en", key, **fields)


def has(key: str) -> bool:
    return key in TEXT


@dataclass(frozen=True)
class Msg:
    """A message not yet rendered: a catalogue key and its fields."""

    key: str
    fields: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str) -> str:
        return tr(lang, self.key, **self.fields)


def msg(key: str, **fields: Any) -> Msg:
    return Msg(key, fields)


__all__ = ["GLOSSARY", "LOCALES", "TEXT", "Lang", "Msg", "has", "msg", "pair", "tr"]
