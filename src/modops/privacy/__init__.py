"""Masking of personal data in what labelers and reviewers read.

Labelers judge whether content is harmful; they rarely need to know *whose* phone number or
resident registration number is in it, and Korean law (PIPA) treats RRNs as especially
sensitive. So item text is masked by default before it leaves the API, per project
(``settings["pii_mask"]``: a list of kinds, ``[]`` to disable). Reviewers who need the original
(doxxing cases, impersonation) unmask one item with a reason, which is written to the audit log.

Masking keeps the shape (digits become ``*``; an email keeps its domain, a handle its ``@``)
so a labeler still sees *that* a number or an address was posted, which is often the harm.
One combined regex pass, leftmost match first, so an email's ``@domain`` is never re-read as
a handle and an RRN never as a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from modops.domain.fields import PII_TEXT_FIELDS

KINDS = ("rrn", "phone", "email", "handle")
DEFAULT_KINDS: tuple[str, ...] = KINDS

_D = r"(?<![\d])"  # not glued to a longer digit run
_PATTERNS = {
    # 주민등록번호 / 외국인등록번호: YYMMDD-GNNNNNN (hyphen or space optional), G is 1-8.
    "rrn": rf"{_D}\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[-\s]?[1-8]\d{{6}}(?!\d)",
    "email": r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}",
    # Mobile 010/011/016-019, Seoul 02, regional 0NN, 070 VoIP; or +82 with the 0 dropped.
    "phone": (rf"(?:\+82[-.\s]?(?:\(0\))?|{_D}0)"
              r"(?:1[016789]|2|[3-6][1-5]|70)[-.\s)]?\d{3,4}[-.\s]?\d{4}(?!\d)"),
    # @handle: a mention of an account (latin, digits, _ . and Hangul), not an email's domain.
    "handle": r"(?<![\w.@*])@[\w](?:[\w.]{0,28}[\w])?",
}


def _compile(kinds: tuple[str, ...]) -> re.Pattern[str] | None:
    parts = [f"(?P<{k}>{_PATTERNS[k]})" for k in ("rrn", "email", "phone", "handle")
             if k in kinds]
    return re.compile("|".join(parts)) if parts else None


_CACHE: dict[tuple[str, ...], re.Pattern[str] | None] = {}


def normalize_kinds(kinds: Iterable[str] | bool | None) -> tuple[str, ...]:
    """Project setting → kinds: None/True means all, False/[] none; unknown names rejected."""
    if kinds is None or kinds is True:
        return DEFAULT_KINDS
    if kinds is False:
        return ()
    out = tuple(dict.fromkeys(str(k) for k in kinds))
    unknown = [k for k in out if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown PII kind {unknown[0]!r}; known: {', '.join(KINDS)}")
    return out


def _mask(m: re.Match[str]) -> str:
    kind, s = m.lastgroup, m.group(0)
    if kind == "email":
        local, _, domain = s.partition("@")
        return "*" * len(local) + "@" + domain
    if kind == "handle":
        return "@" + "*" * (len(s) - 1)
    if kind == "phone" and s.startswith("+82"):
        return "+82" + re.sub(r"\d", "*", s[3:])
    if kind == "phone":  # keep the area/carrier prefix: "010-****-****" still reads as a phone
        head = 3 if s[:2] in {"01", "07"} or s[1] in "3456" else 2
        return s[:head] + re.sub(r"\d", "*", s[head:])
    return re.sub(r"\d", "*", s)


def mask_pii(text: str | None, kinds: Iterable[str] | None = None) -> str | None:
    """``text`` with every match of ``kinds`` (default: all) masked; None stays None."""
    if not text:
        return text
    key = normalize_kinds(kinds)
    if key not in _CACHE:
        _CACHE[key] = _compile(key)
    rx = _CACHE[key]
    return rx.sub(_mask, text) if rx is not None else text


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(kind, matched text) pairs: for tests and for flagging items that contain PII."""
    rx = _compile(normalize_kinds(kinds))
    return [] if rx is None else [(m.lastgroup or "", m.group(0)) for m in rx.finditer(text)]


def mask_value(value: Any, kinds: Iterable[str] | None = None) -> Any:
    """Mask every string inside JSON-like ``value`` (item metadata may hold author details)."""
    if isinstance(value, str):
        return mask_pii(value, kinds)
    if isinstance(value, dict):
        return {k: mask_value(v, kinds) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, kinds) for v in value]
    return value


TEXT_FIELDS = PII_TEXT_FIELDS  # ocr_text too: text read off an image is content


def mask_item_fields(item: Any, kinds: Iterable[str] | None = None) -> None:
    """Mask an item view's text fields and metadata in place (``modops.queue.ItemView``)."""
    ks = normalize_kinds(kinds)
    if not ks:
        return
    for name in TEXT_FIELDS:
        if hasattr(item, name):
            setattr(item, name, mask_pii(getattr(item, name), ks))
    if getattr(item, "metadata", None):
        item.metadata = mask_value(item.metadata, ks)


def project_kinds(settings: dict[str, Any] | None) -> tuple[str, ...]:
    """The kinds a project masks: ``settings["pii_mask"]`` (default: all)."""
    try:
        return normalize_kinds((settings or {}).get("pii_mask"))
    except ValueError:
        return DEFAULT_KINDS  # a bad setting must fail closed: mask everything


__all__ = ["DEFAULT_KINDS", "KINDS", "TEXT_FIELDS", "find_pii", "mask_item_fields", "mask_pii",
           "mask_value", "normalize_kinds", "project_kinds"]
