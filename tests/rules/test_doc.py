"""docs/rules.md's signal table is generated from the registry."""

from __future__ import annotations

from pathlib import Path

from modops.rules.doc import BEGIN, END, signals_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_docs_rules_md_signal_table_is_generated() -> None:
    committed = DOC.read_text(encoding="utf-8").split(BEGIN, 1)[1].split(END, 1)[0]
    assert committed.strip() == signals_markdown().strip(), \
        "regenerate: python -m modops.rules.doc --write"
