"""The item field spec (``modops.domain.fields``) is the one list of an item's fields: every
class that declares the fields for type checkers must match it, and every derived list must
come out as the formats have always written it (``docs/import-format.md``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from modops.api.schemas import ItemDetailOut, ItemOut
from modops.domain import fields
from modops.io import exporter, importer
from modops.io.parsing import _RowBuilder
from modops.io.records import ItemRecord
from modops.projects.taxonomy import TaxonomyRules
from modops.queue.views import ItemView
from modops.store.models import Item


def test_derived_lists_are_the_documented_schema() -> None:
    # hand-copied from docs/import-format.md: the order every format writes
    assert fields.TEXT_FIELDS == ("title", "caption", "comment", "transcript", "text")
    assert fields.IMPORT_FIELDS == (
        "external_id", "product", "title", "caption", "comment", "transcript", "text",
        "media_url", "metadata", "language", "created_at", "view_count", "user_reported",
        "reported_at", "machine_score", "author_id", "author_created_at", "author_region",
        "author_followers", "author_verified", "is_gold", "gold_labels", "final_labels",
        "annotations")
    exported = (*fields.IMPORT_FIELDS, "state", "route", "final_action", "decided_at",
                "model_version")
    assert exported == fields.EXPORT_FIELDS
    # the order the committed model was trained on
    assert fields.SCORED_TEXT_FIELDS == ("title", "caption", "comment", "text", "transcript")
    assert fields.select_list(("external_id", "product", "metadata")) == \
        "i.external_id, p.key AS product, i.metadata"


def test_declared_classes_match_the_spec() -> None:
    record = [f.name for f in dataclasses.fields(ItemRecord)]
    assert [n for n in record if n not in ("line", "metadata_json")] == \
        [n for n in fields.IMPORT_FIELDS]
    assert tuple(f.name for f in dataclasses.fields(ItemView)) == ("id", *fields.SHOWN_FIELDS)
    assert tuple(ItemOut.model_fields) == ("id", *fields.SHOWN_FIELDS)
    assert set(ItemDetailOut.model_fields) - set(ItemOut.model_fields) <= \
        {f.name for f in fields.ITEM_FIELDS} | {"machine_score"}
    columns = set(Item.__table__.columns.keys())
    for f in fields.ITEM_FIELDS:
        if f.column is not None and f.column.startswith("i."):
            assert f.column[2:] in columns, f.name
        if f.max_chars is not None and f.column and f.column.startswith("i."):
            length = getattr(Item.__table__.columns[f.column[2:]].type, "length", None)
            assert length in (None, f.max_chars), f.name  # the store holds what is accepted


def test_import_row_matches_its_columns() -> None:
    """The row builder spells the row out (a hot path): it must line up with ITEM_COLUMNS."""
    now = datetime(2026, 12, 1)
    build = _RowBuilder(7, {"comment": 3}, TaxonomyRules.__new__(TaxonomyRules), "b1", now,
                        sqlite=False)
    rec = ItemRecord(1, "x-1", "comment", title="t", caption="c", comment="m",
                     transcript="s", text="b", media_url="https://e.x/1", language="ko",
                     view_count=5, user_reported=True, reported_at=now, machine_score=0.5)
    row, plan = build(rec)
    assert plan is None and len(row) == len(importer.ITEM_COLUMNS)
    by_column = dict(zip(importer.ITEM_COLUMNS, row, strict=True))
    assert by_column["product_id"] == 3 and by_column["project_id"] == 7
    for name in fields.CONTENT_FIELDS:
        if name not in ("product", "metadata", "created_at"):
            assert by_column[name] == getattr(rec, name), name
    assert by_column["ingested_at"] == now and by_column["state"] == "new"


def test_export_shapes_follow_the_spec() -> None:
    assert exporter.CSV_COLUMNS == fields.EXPORT_FIELDS
    assert [k for k, _, _ in exporter._ITEM_JSON_FIELDS] == \
        [n for n in fields.EXPORT_FIELDS if n not in ("machine_score", "annotations")]
    assert exporter._parquet_schema().names == list(fields.EXPORT_FIELDS)
