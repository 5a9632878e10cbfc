"""The item field spec: every field an item carries across a boundary, defined once.

The importer (its schema and column lists), the exporter's three shapes (rows for CSV and
Parquet, the JSON Lines the database writes, the Parquet schema), the dispense view
(``modops.queue.ItemView``), the API schemas (``ItemOut``), privacy masking and the routing
and scoring code read their field lists from ``ITEM_FIELDS`` below. Classes that type checkers
must see field by field (``ItemRecord``, ``ItemView``, ``ItemOut``, the ``Item`` ORM model)
still declare their attributes; ``tests/io/test_field_spec.py`` checks each against this spec,
so adding a field here without adding it there fails the suite, naming the place.

Per-row hot paths (the importer's row builder, the dispense row → view) keep their explicit
code: a loop over the spec per row cost the import about a tenth of its rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldKind(StrEnum):
    """How a field is stored, validated and rendered."""

    TEXT = "text"  # free text under moderation: hostile, PII-masked, scored
    STR = "str"  # a short identifier or code
    URL = "url"  # a link: shown only through the web layer's URL guard, never fetched here
    JSON = "json"  # a JSON object (item metadata)
    LABELS = "labels"  # a JSON list of label keys
    TIME = "time"  # naive UTC datetime; ISO 8601 with Z in exports
    INT = "int"
    BOOL = "bool"
    SCORE = "score"  # a probability in [0, 1]
    ANNOTATIONS = "annotations"  # the nested label history (import/export only)


@dataclass(frozen=True, slots=True)
class ItemField:
    name: str
    kind: FieldKind
    #: the SQL expression that reads it, ``items i`` joined with ``products p``; None when
    #: the field is not one column (annotations)
    column: str | None
    #: part of the item's content (what the platform sent), not of the moderation result
    content: bool = False
    imported: bool = True  # read by every import format
    exported: bool = True  # written by every export format
    shown: bool = False  # in what a labeler or reviewer is shown (ItemView, ItemOut)
    #: personal data is masked in it before it is shown (``modops.privacy``)
    pii: bool = False
    max_chars: int | None = None
    #: position in the one string the model reads (``machine.scoring.item_text``); the
    #: order predates this spec and the committed model was trained on it
    score_rank: int | None = None


# A documented limit, not an accident: one text field may hold up to 100,000 characters
# (a long ASR transcript fits; a 10 MB blob is refused with a clear message).
MAX_TEXT_CHARS = 100_000
MAX_EXTERNAL_ID = 200
MAX_LANGUAGE = 10
MAX_REGION = 16

_K = FieldKind


def _text(name: str, score_rank: int) -> ItemField:
    return ItemField(name, _K.TEXT, f"i.{name}", content=True, shown=True, pii=True,
                     max_chars=MAX_TEXT_CHARS, score_rank=score_rank)


# In the order every format writes them (and the JSON Lines export keys appear in).
ITEM_FIELDS: tuple[ItemField, ...] = (
    ItemField("external_id", _K.STR, "i.external_id", content=True, shown=True,
              max_chars=MAX_EXTERNAL_ID),
    ItemField("product", _K.STR, "p.key", content=True, shown=True),
    _text("title", 0),
    _text("caption", 1),
    _text("comment", 2),
    _text("transcript", 4),
    _text("text", 3),  # any other body text (e.g. Label Studio "text")
    # text the media pipeline reads off an item's images and video frames (modops.media):
    # stored and masked like the rest, never imported or exported (it is recomputed)
    ItemField("ocr_text", _K.TEXT, "i.ocr_text", imported=False, exported=False, pii=True,
              max_chars=None),
    # pii: a media URL can carry a phone number or a handle in its path or query
    ItemField("media_url", _K.URL, "i.media_url", content=True, shown=True, pii=True,
              max_chars=MAX_TEXT_CHARS),
    # metadata may hold author details: masked as a whole (``privacy.mask_value``)
    ItemField("metadata", _K.JSON, "i.metadata", content=True, shown=True, pii=True),
    ItemField("language", _K.STR, "i.language", content=True, shown=True,
              max_chars=MAX_LANGUAGE),
    ItemField("created_at", _K.TIME, "i.created_at", content=True, shown=True),
    ItemField("view_count", _K.INT, "i.view_count", content=True, shown=True),
    ItemField("user_reported", _K.BOOL, "i.user_reported", content=True, shown=True),
    ItemField("reported_at", _K.TIME, "i.reported_at", content=True),
    ItemField("machine_score", _K.SCORE, "i.machine_score", content=True),
    # the author: the platform's account that posted the item, as the platform saw it when the
    # item was posted (the ``authors`` table keeps the latest of each; ``modops.authors``)
    ItemField("author_id", _K.STR, "i.author_id", content=True, max_chars=MAX_EXTERNAL_ID),
    ItemField("author_created_at", _K.TIME, "i.author_created_at", content=True),
    ItemField("author_region", _K.STR, "i.author_region", content=True,
              max_chars=MAX_REGION),
    ItemField("author_followers", _K.INT, "i.author_followers", content=True),
    ItemField("author_verified", _K.BOOL, "i.author_verified", content=True),
    ItemField("is_gold", _K.BOOL, "i.is_gold"),
    ItemField("gold_labels", _K.LABELS, "i.gold_labels"),
    ItemField("final_labels", _K.LABELS, "i.final_labels"),
    ItemField("annotations", _K.ANNOTATIONS, None),
    # the moderation result: exported for people to read, recomputed on import
    ItemField("state", _K.STR, "i.state", imported=False),
    ItemField("route", _K.STR, "i.route", imported=False),
    ItemField("final_action", _K.STR, "i.final_action", imported=False),
    ItemField("decided_at", _K.TIME, "i.decided_at", imported=False),
    ItemField("model_version", _K.STR, "i.model_version", imported=False),
)
FIELDS_BY_NAME = {f.name: f for f in ITEM_FIELDS}


def names(fields: tuple[ItemField, ...] | list[ItemField]) -> tuple[str, ...]:
    return tuple(f.name for f in fields)


#: free-text fields a platform sends, in format order: an item needs one (or a media_url)
TEXT_FIELDS = names([f for f in ITEM_FIELDS if f.kind is FieldKind.TEXT and f.imported])
#: the item's content, in the order every format writes it
CONTENT_FIELDS = names([f for f in ITEM_FIELDS if f.content])
#: the import schema of every format: content plus the labels an item may carry
IMPORT_FIELDS = names([f for f in ITEM_FIELDS if f.imported])
#: the export schema of every format
EXPORT_FIELDS = names([f for f in ITEM_FIELDS if f.exported])
#: what a person working on the item is shown (after ``id``)
SHOWN_FIELDS = names([f for f in ITEM_FIELDS if f.shown])
#: text fields masked before they are shown (metadata is masked separately, as JSON)
PII_TEXT_FIELDS = names([f for f in ITEM_FIELDS if f.pii and f.kind is FieldKind.TEXT])
#: every string field masked before it is shown: the text and the media URL
PII_STRING_FIELDS = names([f for f in ITEM_FIELDS
                           if f.pii and f.kind in (FieldKind.TEXT, FieldKind.URL)])
#: the order the model reads the text fields in
SCORED_TEXT_FIELDS = names(sorted((f for f in ITEM_FIELDS if f.score_rank is not None),
                                  key=lambda f: f.score_rank or 0))
#: fields a format carries that the importer ignores: exported results (recomputed on import)
#: and the names other tools write for the same things (the API's item id, a project key)
EXPORT_ONLY_FIELDS = frozenset(
    {f.name for f in ITEM_FIELDS if f.exported and not f.imported}
    | {"id", "ingested_at", "machine_scores", "project", "decision_source"})


def select_list(fields: tuple[str, ...]) -> str:
    """``i.title, p.key AS product, …``: the fields read under their own names."""
    out = []
    for name in fields:
        column = FIELDS_BY_NAME[name].column
        assert column is not None, name
        out.append(column if column == f"i.{name}" else f"{column} AS {name}")
    return ", ".join(out)


__all__ = [
    "CONTENT_FIELDS", "EXPORT_FIELDS", "EXPORT_ONLY_FIELDS", "FIELDS_BY_NAME", "IMPORT_FIELDS",
    "ITEM_FIELDS", "MAX_EXTERNAL_ID", "MAX_LANGUAGE", "MAX_REGION", "MAX_TEXT_CHARS",
    "PII_STRING_FIELDS", "PII_TEXT_FIELDS",
    "SCORED_TEXT_FIELDS", "SHOWN_FIELDS", "TEXT_FIELDS", "FieldKind", "ItemField", "names",
    "select_list",
]
