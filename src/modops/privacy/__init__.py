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
import unicodedata
from collections.abc import Iterable
from typing import Any

from modops.domain.fields import PII_STRING_FIELDS, PII_TEXT_FIELDS

KINDS = ("rrn", "phone", "email", "handle")
DEFAULT_KINDS: tuple[str, ...] = KINDS

_D = r"(?<![\d])"  # not glued to a longer digit run
# Between the groups of a number: a hyphen or dot with up to three spaces either side, or up to
# three spaces alone ("900101 - 1234567", "010 1111 2222"). Dashes and full-width forms are
# folded to ASCII before matching (``_fold``), so "–", "—", "－" and "９" count too.
_SEP = r"(?:[ \t]{0,3}[-.][ \t]{0,3}|[ \t]{1,3})?"
_PATTERNS = {
    # 주민등록번호 / 외국인등록번호: YYMMDD-GNNNNNN (hyphen or space optional), G is 1-8.
    "rrn": rf"{_D}\d{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]){_SEP}[1-8]\d{{6}}(?!\d)",
    "email": r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}",
    # Mobile 010/011/016-019, Seoul 02, regional 0NN, 070 VoIP; or +82 with the 0 dropped.
    "phone": (rf"(?:\+82{_SEP}(?:\(0\))?|{_D}0)"
              rf"(?:1[016789]|2|[3-6][1-5]|70)(?:\){_SEP}|{_SEP})\d{{3,4}}{_SEP}\d{{4}}(?!\d)"),
    # @handle: a mention of an account (latin, digits, _ . and Hangul), not an email's domain.
    "handle": r"(?<![\w.@*])@[\w](?:[\w.]{0,28}[\w])?",
}

# Characters folded before matching, one for one (so match positions are positions in the
# original): every dash and minus to "-", and whatever NFKC turns into one ASCII character
# (full-width digits, letters, "＠", "＋", "．", ideographic space).
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_FOLD_CACHE: dict[str, str] = {}


def _fold_char(c: str) -> str:
    hit = _FOLD_CACHE.get(c)
    if hit is None:
        if c in _DASHES:
            hit = "-"
        elif c.isascii():
            hit = c
        else:
            n = unicodedata.normalize("NFKC", c)
            hit = n if len(n) == 1 and n.isascii() else c
        if len(_FOLD_CACHE) < 65_536:
            _FOLD_CACHE[c] = hit
    return hit


def _fold(text: str) -> str:
    return text if text.isascii() else "".join(map(_fold_char, text))


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


def _mask(kind: str | None, s: str) -> str:
    """The masked form of ``s`` (the original text of a match of ``kind``)."""
    f = _fold(s)  # decide on the folded form, keep the original characters that stay
    if kind == "email":
        at = f.index("@")
        return "*" * at + s[at:]
    if kind == "handle":
        return s[0] + "*" * (len(s) - 1)
    if kind == "phone" and f.startswith("+82"):
        return s[:3] + re.sub(r"\d", "*", s[3:])
    if kind == "phone":  # keep the area/carrier prefix: "010-****-****" still reads as a phone
        head = 3 if f[:2] in {"01", "07"} or f[1] in "3456" else 2
        return s[:head] + re.sub(r"\d", "*", s[head:])
    return re.sub(r"\d", "*", s)


def _sub(rx: re.Pattern[str], text: str) -> str:
    folded = _fold(text)
    if folded is text:
        return rx.sub(lambda m: _mask(m.lastgroup, m.group(0)), text)
    out: list[str] = []
    last = 0
    for m in rx.finditer(folded):  # same length as text: spans carry over
        out.append(text[last:m.start()])
        out.append(_mask(m.lastgroup, text[m.start():m.end()]))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def mask_pii(text: str | None, kinds: Iterable[str] | None = None) -> str | None:
    """``text`` with every match of ``kinds`` (default: all) masked; None stays None."""
    if not text:
        return text
    key = normalize_kinds(kinds)
    if key not in _CACHE:
        _CACHE[key] = _compile(key)
    rx = _CACHE[key]
    return _sub(rx, text) if rx is not None else text


def find_pii(text: str, kinds: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(kind, matched text) pairs: for tests and for flagging items that contain PII."""
    rx = _compile(normalize_kinds(kinds))
    if rx is None:
        return []
    return [(m.lastgroup or "", text[m.start():m.end()]) for m in rx.finditer(_fold(text))]


def mask_value(value: Any, kinds: Iterable[str] | None = None) -> Any:
    """Mask every string inside JSON-like ``value`` (item metadata may hold author details)."""
    if isinstance(value, str):
        return mask_pii(value, kinds)
    if isinstance(value, dict):  # keys too: {"010-1234-5678": "mom"} is a phone book
        return {mask_pii(k, kinds) if isinstance(k, str) else k: mask_value(v, kinds)
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v, kinds) for v in value]
    return value


TEXT_FIELDS = PII_TEXT_FIELDS  # ocr_text too: text read off an image is content
# Masked like the text: a media URL can carry a phone number or a handle in its path or query.
MASKED_FIELDS = PII_STRING_FIELDS


def mask_item_fields(item: Any, kinds: Iterable[str] | None = None) -> None:
    """Mask an item view's text fields and metadata in place (``modops.queue.ItemView``)."""
    ks = normalize_kinds(kinds)
    if not ks:
        return
    for name in MASKED_FIELDS:
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


__all__ = ["DEFAULT_KINDS", "KINDS", "MASKED_FIELDS", "TEXT_FIELDS", "find_pii",
           "mask_item_fields", "mask_pii", "mask_value", "normalize_kinds", "project_kinds"]
