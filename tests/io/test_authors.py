"""Items carry their author (issue 19): the ``authors`` table is upserted on import, a
re-import refreshes an account's facts without duplicating it, and a bad author field is a
FILE:LINE error that writes nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from modops.io import import_file
from modops.io.importer import ImportFailed
from modops.store.db import session_scope
from modops.store.models_authors import Author
from tests.conftest import snapshot


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def _authors(engine: Engine) -> dict[str, tuple[object, ...]]:
    with session_scope(engine) as s:
        return {a.platform_id: (a.region, a.follower_count, a.verified, a.status)
                for a in s.scalars(select(Author))}


def test_import_upserts_each_author_once(engine: Engine, project: str, tmp_path: Path) -> None:
    rows = [{"external_id": f"a-{i}", "product": "comment", "comment": f"댓글 {i}",
             "author_id": f"u{i % 3}", "author_followers": i, "author_region": "KR"}
            for i in range(9)]
    report = import_file(engine, project, _write(tmp_path / "a.jsonl", rows), after_insert=None)
    assert (report.inserted, report.authors) == (9, 3)
    # the last row of each author wins; verified was not given: unknown
    assert _authors(engine) == {"u0": ("KR", 6, None, "active"), "u1": ("KR", 7, None, "active"),
                                "u2": ("KR", 8, None, "active")}
    more = [{"external_id": "b-1", "product": "comment", "comment": "또 왔다",
             "author_id": "u0", "author_followers": 100, "author_verified": True}]
    import_file(engine, project, _write(tmp_path / "b.jsonl", more), after_insert=None)
    # followers and verified refreshed, the region the new file did not give kept
    assert _authors(engine)["u0"] == ("KR", 100, True, "active")
    assert len(_authors(engine)) == 3


def test_csv_author_fields(engine: Engine, project: str, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("external_id,product,comment,author_id,author_followers,author_verified,"
                    "author_created_at\n"
                    "c1,comment,안녕,acct-9,42,true,2026-01-02T03:04:05Z\n"
                    "c2,comment,익명 글,,,,\n", encoding="utf-8")
    report = import_file(engine, project, path, after_insert=None)
    assert (report.inserted, report.authors) == (2, 1)
    assert _authors(engine) == {"acct-9": (None, 42, True, "active")}


@pytest.mark.parametrize("row, message", [
    ({"author_followers": -1, "author_id": "u"}, "author_followers must not be negative"),
    ({"author_region": "KR"}, "author_id is required when other author_* fields are given"),
    ({"author_id": "x" * 201}, "author_id must be at most 200 characters"),
    ({"author_id": "u", "author_verified": "maybe"}, "author_verified must be true or false"),
    ({"author_id": "u", "author_created_at": "어제"}, "author_created_at '어제' is not an ISO"),
])
def test_bad_author_fields_are_file_line_errors(engine: Engine, project: str, tmp_path: Path,
                                                row: dict[str, object], message: str) -> None:
    good = {"external_id": "ok", "product": "comment", "comment": "좋아요"}
    path = _write(tmp_path / "bad.jsonl",
                  [good, {"external_id": "bad", "product": "comment", "comment": "x", **row}])
    before = snapshot(engine)
    with pytest.raises(ImportFailed) as err:
        import_file(engine, project, path, after_insert=None)
    assert err.value.errors[0].startswith(f"{path}:2: {message}")
    assert snapshot(engine) == before and _authors(engine) == {}
