"""Period reports for global sync: Excel (native charts), Word, PDF and HTML, Korean and English.

    build_report(engine, ["kr-comments"], "2026-W47", lang="ko",
                 formats=["xlsx", "docx", "pdf", "html"], out_dir=Path("out"))

Numbers come only from ``modops.analytics`` / ``modops.quality`` (gathered once by
:func:`modops.reports.data.collect`); :mod:`modops.reports.content` decides what the report
says, and one renderer per format writes it. Several projects at once make a "global sync"
pack: one file per format with a cross-project table and each project's sections. Nothing here
imports the web, API or CLI layers, so they can all call it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from modops.domain import ModOpsError

from .data import ReportData, collect
from .i18n import LANGS, Lang

FORMATS: tuple[str, ...] = ("xlsx", "docx", "pdf", "html")

__all__ = ["FORMATS", "LANGS", "ReportData", "build_report", "build_reports", "collect",
           "render", "report_filename"]


def _check(formats: Iterable[str], langs: Iterable[str]) -> tuple[list[str], list[Lang]]:
    fs = [f.strip().lower() for f in formats if f.strip()]
    bad = [f for f in fs if f not in FORMATS]
    if bad or not fs:
        raise ModOpsError(f"unknown report format {', '.join(bad) or '(none)'}: "
                          f"choose from {', '.join(FORMATS)}")
    ls = [x.strip().lower() for x in langs if x.strip()]
    badl = [x for x in ls if x not in LANGS]
    if badl or not ls:
        raise ModOpsError(f"unknown report language {', '.join(badl) or '(none)'}: "
                          "use ko or en")
    return list(dict.fromkeys(fs)), list(dict.fromkeys(ls))  # type: ignore[arg-type]


def report_filename(data: ReportData, lang: str, fmt: str) -> str:
    """``kr-comments_2026-W47_ko.xlsx``; a pack is ``global-sync_2026-W47_ko.xlsx``."""
    who = "global-sync" if data.is_pack else data.projects[0].key
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{who}_{data.period.label}_{lang}")
    return f"{safe}.{fmt}"


def render(data: ReportData, lang: Lang, formats: Sequence[str], out_dir: Path,
           timings: dict[str, float] | None = None) -> dict[str, Path]:
    """Write the report in one language; charts are drawn once and shared by the formats."""
    from .charts import render_all
    from .content import build_document

    timings = timings if timings is not None else {}
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    doc = build_document(data, lang)
    pictures: dict[str, bytes] = {}
    if any(f in formats for f in ("docx", "pdf", "html")):
        pictures = render_all(doc.all_charts(), lang)
    timings[f"{lang}:document+charts"] = time.perf_counter() - t0
    out: dict[str, Path] = {}
    for fmt in formats:
        t1 = time.perf_counter()
        path = out_dir / report_filename(data, lang, fmt)
        if fmt == "xlsx":
            from .excel import write_xlsx

            write_xlsx(doc, path, data.generated_at)
        elif fmt == "docx":
            from .word import write_docx

            write_docx(doc, path, pictures, data.generated_at)
        elif fmt == "pdf":
            from .pdf import write_pdf

            write_pdf(doc, path, pictures, data.generated_at)
        else:
            from .html_report import write_html

            write_html(doc, path, pictures)
        timings[f"{lang}:{fmt}"] = time.perf_counter() - t1
        out[fmt] = path
    return out


def build_reports(engine: Engine, projects: list[str], period: str, *,
                  langs: Sequence[str] = LANGS, formats: Sequence[str] = FORMATS,
                  out_dir: Path | str = ".", compare: str | None = "previous",
                  now: datetime | None = None,
                  timings: dict[str, float] | None = None) -> dict[tuple[str, str], Path]:
    """Every (language, format) of one report from a single pass over the data."""
    fs, ls = _check(formats, langs)
    data = collect(engine, projects, period, compare=compare, now=now)
    if timings is not None:
        timings.update(data.timings)
    out: dict[tuple[str, str], Path] = {}
    for lang in ls:
        for fmt, path in render(data, lang, fs, Path(out_dir), timings).items():
            out[(lang, fmt)] = path
    return out


def build_report(engine: Engine, projects: list[str], period: str, *, lang: str = "ko",
                 formats: Sequence[str] = FORMATS, out_dir: Path | str = ".",
                 compare: str | None = "previous",
                 now: datetime | None = None) -> dict[str, Path]:
    """One report in one language: ``{format: path}``. Several projects = a global sync pack.

    ``period``: ``2026-W47``, ``2026-11``, ``2026-11-20`` or ``2026-11-20T09``; ``compare``:
    ``"previous"`` (the period before), ``"none"``, or a period to compare with. ``now`` caps a
    running period and is the generated-at time (pass it for reproducible files).
    """
    done = build_reports(engine, projects, period, langs=[lang], formats=formats,
                         out_dir=out_dir, compare=compare, now=now)
    return {fmt: path for (_, fmt), path in done.items()}
