"""The item record every import format is read into, and its row-by-row validation.

One schema for all formats (JSONL, CSV, Parquet, Label Studio JSON), so a file exported in one
format imports back identically through any other; its fields are ``modops.domain.fields``.
Documented in ``docs/import-format.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from modops.domain import ValidationError
from modops.domain.fields import (
    EXPORT_ONLY_FIELDS,
    IMPORT_FIELDS,
    MAX_EXTERNAL_ID,
    MAX_LANGUAGE,
    MAX_REGION,
    MAX_TEXT_CHARS,
    TEXT_FIELDS,
)
from modops.projects.taxonomy import TaxonomyRules

MAX_METADATA_BYTES = 64 * 1024
# Integers are stored as 64-bit (BIGINT on PostgreSQL, INTEGER on SQLite): larger ones are a
# FILE:LINE error, not an overflow in the writer (issue 23: 2**70 gave a traceback, exit 1).
MAX_INT = 2**63 - 1
ANNOTATION_FIELDS = frozenset({"labeler", "labels", "submitted_at", "started_at", "note", "kind"})

KNOWN_FIELDS = frozenset(IMPORT_FIELDS)
_NEEDS_CONTENT = (f"an item needs text ({', '.join(TEXT_FIELDS)}) or a media_url")


_ALL_FIELDS = KNOWN_FIELDS | EXPORT_ONLY_FIELDS
_LABEL_FIELDS = frozenset({"final_labels", "is_gold", "gold_labels", "annotations"})
_AUTHOR_FIELDS = frozenset({"author_id", "author_created_at", "author_region",
                            "author_followers", "author_verified"})


@dataclass(slots=True)
class AnnotationRecord:
    labeler: str
    labels: list[str]
    submitted_at: datetime
    started_at: datetime | None = None
    note: str | None = None
    kind: str = "label"


@dataclass(slots=True)
class ItemRecord:
    """One imported item: ``line``, then the import fields of ``modops.domain.fields`` in
    their order (``metadata_json`` beside ``metadata``)."""

    line: int
    external_id: str
    product: str
    title: str | None = None
    caption: str | None = None
    comment: str | None = None
    transcript: str | None = None
    text: str | None = None
    media_url: str | None = None
    metadata: dict[str, Any] | None = None
    metadata_json: bytes | None = None  # serialized once, reused by the writer
    language: str = "ko"
    created_at: datetime | None = None
    view_count: int = 0
    user_reported: bool = False
    reported_at: datetime | None = None
    machine_score: float | None = None
    author_id: str | None = None
    author_created_at: datetime | None = None
    author_region: str | None = None
    author_followers: int | None = None
    author_verified: bool | None = None
    is_gold: bool = False
    gold_labels: list[str] | None = None
    final_labels: list[str] | None = None
    annotations: list[AnnotationRecord] = field(default_factory=list)


def parse_time(value: Any, name: str) -> datetime | None:
    """ISO 8601 (with or without offset; naive means UTC) or epoch seconds → naive UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        dt = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        if value.endswith("Z"):  # the common case: UTC already, skip the time-zone maths
            try:
                return datetime.fromisoformat(value[:-1])
            except ValueError:
                pass
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(f"{name} {value[:40]!r} is not an ISO 8601 time") from None
    else:
        raise ValidationError(f"{name} must be an ISO 8601 time, got {type(value).__name__}")
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text, got {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        raise ValidationError(
            f"{name} has {len(value):,} characters; the limit is {MAX_TEXT_CHARS:,} per field"
        )
    if "\x00" in value:
        raise ValidationError(f"{name} contains a NUL character")
    return value


def _int(value: Any, name: str, *, lenient: bool) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be an integer, got a boolean")
    if isinstance(value, int):
        out = value
    elif (isinstance(value, float) and value.is_integer()) or (
        lenient and isinstance(value, str) and value.isascii()
        and value.strip().lstrip("-").isdigit()  # ascii: int() refuses "¹", isdigit not
    ):
        out = int(value)
    else:
        shown = repr(value)[:40]
        raise ValidationError(f"{name} must be an integer, got {type(value).__name__} {shown}")
    if out < 0:
        raise ValidationError(f"{name} must not be negative, got {out}")
    if out > MAX_INT:
        raise ValidationError(f"{name} must be at most {MAX_INT:,} (64-bit), got "
                              f"{str(out)[:30]}{'…' if len(str(out)) > 30 else ''}")
    return out


def _bool(value: Any, name: str, *, lenient: bool) -> bool:
    if isinstance(value, bool):
        return value
    if (
        lenient
        and isinstance(value, str)
        and value.strip().lower()
        in {
            "true",
            "false",
            "1",
            "0",
            "yes",
            "no",
            "",
        }
    ):
        return value.strip().lower() in {"true", "1", "yes"}
    if lenient and value in (0, 1):
        return bool(value)
    raise ValidationError(f"{name} must be true or false, got {value!r}"[:120])


def _float01(value: Any, name: str, *, lenient: bool) -> float | None:
    if value is None or (lenient and value == ""):
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be a number between 0 and 1")
    try:
        f = float(value) if (lenient or isinstance(value, int | float)) else None
    except ValueError:
        f = None
    if f is None or not 0.0 <= f <= 1.0:
        raise ValidationError(f"{name} must be a number between 0 and 1, got {value!r}"[:120])
    return f


def _json_field(value: Any, name: str, *, lenient: bool) -> Any:
    """Nested values may come as JSON text (CSV cells, Parquet text columns) or as they are."""
    if isinstance(value, str):
        if value.strip() == "":
            return None
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            raise ValidationError(f"{name} is not valid JSON") from None
    return value


def _labels(value: Any, name: str, rules: TaxonomyRules) -> list[str]:
    try:
        return rules.validate(value)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc}") from None


def _with_unknown_fields(raw: Mapping[str, Any], meta: dict[str, Any] | None,
                         lenient: bool) -> dict[str, Any] | None:
    """Unknown fields are kept in metadata (docs/security.md), never over a different value
    metadata already has."""
    extra = {k: v for k, v in raw.items()
             if k not in _ALL_FIELDS and v is not None and not (lenient and v == "")}
    if not extra:
        return meta
    clash = next((k for k in extra if meta and k in meta and meta[k] != extra[k]), None)
    if clash is not None:
        raise ValidationError(f"unknown field {clash!r} is kept in metadata, which "
                              f"already has a different {clash!r}")
    return {**(meta or {}), **extra}


def _short(value: Any, name: str, limit: int) -> str:
    """A short identifier or code (an integer id is taken as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string")
    if len(value) > limit or "\x00" in value:
        raise ValidationError(f"{name} must be at most {limit} characters, without NUL")
    return value


def _external_id(ext: Any) -> str:
    if isinstance(ext, int) and not isinstance(ext, bool):
        ext = str(ext)
    if not isinstance(ext, str) or not ext.strip():
        raise ValidationError("external_id is required (a non-empty string)")
    if len(ext) > MAX_EXTERNAL_ID:
        raise ValidationError(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    return ext


@dataclass(slots=True)
class RowValidator:
    """Validates one raw row (a mapping) into an ``ItemRecord``.

    ``lenient`` is for CSV, where every cell is text: numbers, booleans and nested JSON are
    parsed from strings. Typed formats (JSONL, Parquet, Label Studio) must carry real types.
    """

    products: frozenset[str]
    rules: TaxonomyRules
    lenient: bool = False

    def __call__(self, raw: Mapping[str, Any], line: int) -> ItemRecord:
        # The per-row hot path of every import: the identity inline, then one step per
        # group of fields, each calling a helper only for values present. Split from one
        # function of cyclomatic complexity 55; skipping the label step for rows without
        # labels paid for the calls: 477k rows/s before, 494k after (CPU time, best of 15
        # runs over 50,000 rows shaped as bench/ingest.py writes them, 3 runs each).
        get = raw.get
        ext = get("external_id")
        if type(ext) is not str or not ext.strip() or len(ext) > MAX_EXTERNAL_ID:
            ext = _external_id(ext)  # converts an integer id, or raises with the reason
        product = get("product")
        if product not in self.products:
            raise ValidationError(
                f"unknown product {product!r} (project covers: {', '.join(sorted(self.products))})"
                if product
                else "product is required"
            )
        rec = ItemRecord(line, ext, product)
        self._read_content(rec, get)
        self._read_metadata(rec, raw)
        self._read_facts(rec, get)
        if not _AUTHOR_FIELDS.isdisjoint(raw):  # most rows of old files carry no author
            self._read_author(rec, get)
        if not _LABEL_FIELDS.isdisjoint(raw):  # most rows carry no labels
            self._read_labels(rec, get)
        return rec

    def _read_content(self, rec: ItemRecord, get: Callable[[str], Any]) -> None:
        """The text fields and the media URL: an item needs at least one."""
        has_content = False
        for name in TEXT_FIELDS:
            value = get(name)
            if value is None:
                continue
            if type(value) is not str or len(value) > MAX_TEXT_CHARS or "\x00" in value:
                value = _text(value, name)  # raises with the reason
            if self.lenient and value == "":
                continue
            has_content = True
            setattr(rec, name, value)
        media = get("media_url")
        if media is not None:
            rec.media_url = _text(media, "media_url") or None
        if not has_content and not rec.media_url:
            raise ValidationError(_NEEDS_CONTENT)

    def _read_metadata(self, rec: ItemRecord, raw: Mapping[str, Any]) -> None:
        """``metadata``, plus any field the schema does not know (kept, not dropped)."""
        lenient = self.lenient
        meta = raw.get("metadata")
        if meta is not None and type(meta) is not dict:
            meta = _json_field(meta, "metadata", lenient=lenient)
            if meta is not None and not isinstance(meta, dict):
                raise ValidationError("metadata must be a JSON object")
        if not _ALL_FIELDS.issuperset(raw):  # a row with only known fields skips the search
            meta = _with_unknown_fields(raw, meta, lenient)
        if meta is not None:
            rec.metadata_json = orjson.dumps(meta)
            if len(rec.metadata_json) > MAX_METADATA_BYTES:
                raise ValidationError(f"metadata is larger than {MAX_METADATA_BYTES // 1024} KiB")
        rec.metadata = meta

    def _read_facts(self, rec: ItemRecord, get: Callable[[str], Any]) -> None:
        """Language, times, reach, user reports and a score the platform already has."""
        lenient = self.lenient
        lang = get("language")
        if lang is not None and lang != "":
            if not isinstance(lang, str) or len(lang) > MAX_LANGUAGE:
                raise ValidationError("language must be a short language code such as ko")
            rec.language = lang
        created = get("created_at")
        if created is not None:
            rec.created_at = parse_time(created, "created_at")
        views = get("view_count")
        if views is not None and views != "":
            rec.view_count = (views if type(views) is int and 0 <= views <= MAX_INT
                              else _int(views, "view_count", lenient=lenient))
        reported = get("user_reported")
        if reported is not None and reported != "":
            rec.user_reported = _bool(reported, "user_reported", lenient=lenient)
        reported_at = get("reported_at")
        if reported_at is not None:
            rec.reported_at = parse_time(reported_at, "reported_at")
            if rec.reported_at is not None:
                rec.user_reported = True
        score = get("machine_score")
        if score is not None:
            rec.machine_score = _float01(score, "machine_score", lenient=lenient)

    def _read_author(self, rec: ItemRecord, get: Callable[[str], Any]) -> None:
        """The account that posted the item: its platform id, then what the platform says
        about it (an author's facts without its id are refused: they would belong to nobody)."""
        lenient = self.lenient
        author = get("author_id")
        if author is not None and author != "":
            rec.author_id = _short(author, "author_id", MAX_EXTERNAL_ID)
        rec.author_created_at = parse_time(get("author_created_at"), "author_created_at")
        region = get("author_region")
        if region is not None and region != "":
            rec.author_region = _short(region, "author_region", MAX_REGION)
        followers = get("author_followers")
        if followers is not None and followers != "":
            rec.author_followers = _int(followers, "author_followers", lenient=lenient)
        verified = get("author_verified")
        if verified is not None and verified != "":
            rec.author_verified = _bool(verified, "author_verified", lenient=lenient)
        if rec.author_id is None and (
                rec.author_created_at is not None or rec.author_region is not None
                or rec.author_followers is not None or rec.author_verified is not None):
            raise ValidationError("author_id is required when other author_* fields are given")

    def _read_labels(self, rec: ItemRecord, get: Callable[[str], Any]) -> None:
        """Labels the item already carries: a final decision, gold answers, annotations."""
        lenient = self.lenient
        final = get("final_labels")
        if final is not None:
            final = _json_field(final, "final_labels", lenient=lenient)
        if final is not None:
            rec.final_labels = _labels(final, "final_labels", self.rules)
        gold = get("is_gold")
        if gold not in (None, ""):
            rec.is_gold = _bool(gold, "is_gold", lenient=lenient)
        gold_labels = _json_field(get("gold_labels"), "gold_labels", lenient=lenient)
        if gold_labels is not None:
            rec.gold_labels = _labels(gold_labels, "gold_labels", self.rules)
            rec.is_gold = True
        elif rec.is_gold:
            raise ValidationError("is_gold items need gold_labels")
        anns = _json_field(get("annotations"), "annotations", lenient=lenient)
        if anns is not None:
            if not isinstance(anns, list):
                raise ValidationError("annotations must be a list")
            rec.annotations = [self._annotation(a, i) for i, a in enumerate(anns, 1)]

    def _annotation(self, raw: Any, n: int) -> AnnotationRecord:
        where = f"annotation {n}"
        if not isinstance(raw, dict):
            raise ValidationError(f"{where} must be an object")
        unknown = next((k for k in raw if k not in ANNOTATION_FIELDS), None)
        if unknown is not None:
            raise ValidationError(f"{where}: unknown field {str(unknown)[:40]!r} (known: "
                                  f"{', '.join(sorted(ANNOTATION_FIELDS))})")
        labeler = raw.get("labeler")
        if not isinstance(labeler, str) or not labeler:
            raise ValidationError(f"{where}: labeler (a username) is required")
        labels = _labels(raw.get("labels"), where, self.rules)
        submitted = parse_time(raw.get("submitted_at"), f"{where} submitted_at")
        if submitted is None:
            raise ValidationError(f"{where}: submitted_at is required")
        note = raw.get("note")
        if note is not None and not isinstance(note, str):
            raise ValidationError(f"{where}: note must be text")
        kind = raw.get("kind", "label")
        if kind not in {"label", "gold", "audit", "review", "appeal"}:
            raise ValidationError(f"{where}: unknown kind {kind!r}")
        return AnnotationRecord(
            labeler=labeler,
            labels=labels,
            submitted_at=submitted,
            started_at=parse_time(raw.get("started_at"), f"{where} started_at"),
            note=_text(note, f"{where} note"),
            kind=kind,
        )
