"""One term per concept on every screen and in every report (issue 20, "Everywhere").

The catalogue test (``test_catalogue.py``) checks the catalogue's own strings; this one reads
everything else people see — templates, static scripts, Python sources (report builders,
alert texts, CLI output) and the docs — for a variant the glossary refuses, and checks that
the web UI and the reports read their words from the one catalogue.
"""

from __future__ import annotations

from pathlib import Path

from modops.i18n import GLOSSARY, TEXT

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "src" / "modops").rglob("*.py")),
           *sorted((ROOT / "src" / "modops" / "web").rglob("*.html")),
           *sorted((ROOT / "src" / "modops" / "web" / "static").glob("*.js")),
           *sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]


def test_no_screen_report_or_doc_uses_a_refused_variant() -> None:
    catalogue = ROOT / "src" / "modops" / "i18n" / "catalogue.py"
    bad = []
    for path in SOURCES:
        if path == catalogue:  # the glossary itself names the variants it refuses
            continue
        text = path.read_text(encoding="utf-8")
        for concept, word, variants in GLOSSARY:
            bad += [f"{path.relative_to(ROOT)}: {v!r} (say {word!r}: {concept})"
                    for v in variants if v in text]
    assert bad == []


def test_the_ui_and_the_reports_read_the_one_catalogue() -> None:
    from modops.reports import i18n as report_words
    from modops.web.i18n import MESSAGES

    assert MESSAGES["ko"] == {k: ko for k, (ko, _en) in TEXT.items()}
    assert MESSAGES["en"] == {k: en for k, (_ko, en) in TEXT.items()}
    assert report_words.t("title", "ko") == TEXT["report.title"][0]


def test_the_usual_korean_trust_and_safety_terms() -> None:
    words = {concept: word for concept, word, _ in GLOSSARY}
    assert words["prevalence"] == "유병률"
    assert words["alert"] == "알림"
    assert words["appeal"] == "이의신청"
