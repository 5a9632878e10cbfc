"""Open every report file and check what is in it against the analytics module.

Excel via openpyxl (sheets, real tables, number formats, native charts, frozen panes,
conditional formats); Word via python-docx (headings, tables, East Asian font, pictures); PDF
via poppler (``pdffonts``: an embedded Korean font; ``pdftotext``: Korean words and numbers);
HTML (self-contained, escaped). Data: tests/reports/conftest.py (SQLite).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from docx import Document as open_docx
from docx.oxml.ns import qn
from openpyxl import load_workbook
from sqlalchemy import Engine

from modops.analytics import Filters, compare_periods
from modops.reports.content import KPIS, currency_suffix
from modops.reports.i18n import fmt, metric_name, unit_kind

from .conftest import NOW, PERIOD, approx_equal

F = Filters(project="kr-comments")
# openpyxl does not read Excel 2010 data-bar extensions; XlsxWriter writes them on purpose
pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")
SECTIONS_KO = ["요약", "인시던트", "처리량 및 백로그", "SLA 및 조치 시간", "품질", "유병률",
               "모델 품질 및 자동화", "정책별 추이", "알림", "인력 예측"]


@pytest.fixture(scope="module")
def cmp(world_engine: Engine):
    return compare_periods(world_engine, PERIOD, F, now=NOW)


def _kpi_rows(ws) -> dict[str, tuple]:
    """Metric name -> (current, previous, change, target, status) from the KPI table."""
    table = ws.tables["T_kpi"]
    rows = list(ws[table.ref])
    assert [c.value for c in rows[0]][:3] == ["지표", "이번 기간", "이전 기간"]
    return {r[0].value: tuple(c for c in r[1:]) for r in rows[1:]}


def test_xlsx_summary_matches_analytics(reports, cmp) -> None:
    wb = load_workbook(reports[("ko", "xlsx")])
    assert wb.sheetnames == SECTIONS_KO
    ws = wb["요약"]
    kpi = _kpi_rows(ws)
    assert len(kpi) == len(KPIS)
    for name in KPIS:
        # costs carry their currency: "건당 비용 (KRW)"
        cur, prev, change, _target, _status = kpi[metric_name(name, "ko")
                                                  + currency_suffix(cmp.current[name])]
        assert approx_equal(cur.value, cmp.current[name].value), name
        assert approx_equal(prev.value, cmp.previous[name].value), name
        d = cmp.deltas[name]
        if unit_kind(d.current.unit) == "pct":
            assert cur.number_format == "0.0%"
            assert approx_equal(change.value, None if d.delta is None else d.delta * 100)
        elif unit_kind(d.current.unit) != "float3":
            assert approx_equal(change.value, d.relative), name
    # hand-checked against tests/analytics: 11 items decided on 11-20, 1 on 11-19
    assert kpi["최종 결정 콘텐츠 수"][0].value == 11
    assert kpi["최종 결정 콘텐츠 수"][1].value == 1
    # no RAG colour on 11 items (n < 30): the cell says why instead
    assert cmp.current["sla_attainment"].denominator == 11
    assert kpi["SLA 준수율"][4].value == "표본 부족 (n=11 < 30)"
    assert ws.freeze_panes is not None
    assert len(ws._charts) >= 1
    assert ws.conditional_formatting  # RAG colours


def test_xlsx_every_section_has_tables_and_native_charts(reports, cmp) -> None:
    wb = load_workbook(reports[("ko", "xlsx")])
    charts = {name: len(wb[name]._charts) for name in wb.sheetnames}
    for name in ("요약", "처리량 및 백로그", "SLA 및 조치 시간", "품질", "유병률",
                 "모델 품질 및 자동화", "정책별 추이"):
        assert charts[name] >= 1, name
        assert wb[name].tables, name
    # the chart reads the sheet's cells (a native chart, not a picture)
    chart = wb["처리량 및 백로그"]._charts[0]
    ref = chart.series[0].val.numRef.f
    assert "처리량 및 백로그" in ref
    assert not wb["처리량 및 백로그"]._images
    # backlog table: five age buckets that add up to the open backlog
    ws = wb["처리량 및 백로그"]
    rows = list(ws[ws.tables["T_backlog"].ref])[1:]
    assert sum(r[1].value for r in rows) == cmp.current["backlog_open"].value == 5
    # team scorecards: gold counts per team (kim 1/1 and lee 0/1 in Seoul A; park 1/1)
    ws = wb["품질"]
    teams = {r[0].value: [c.value for c in r] for r in list(ws[ws.tables["T_teams"].ref])[1:]}
    assert teams["Seoul A"][5:7] == [2, 1]
    assert teams["Seoul B"][5:7] == [1, 1]


def test_xlsx_english(reports) -> None:
    wb = load_workbook(reports[("en", "xlsx")])
    assert wb.sheetnames[0] == "Summary"
    assert "Throughput and backlog" in wb.sheetnames
    kpi = {r[0].value for r in list(wb["Summary"][wb["Summary"].tables["T_kpi"].ref])[1:]}
    assert "SLA attainment" in kpi and "Prevalence" in kpi


def test_docx_headings_tables_and_korean_font(reports, cmp) -> None:
    d = open_docx(str(reports[("ko", "docx")]))
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    for title in ("핵심 요약", "처리량 및 백로그", "품질", "유병률", "정책별 추이",
                  "인력 예측"):
        assert title in headings
    assert "주요 변화" in headings
    kpi = next(t for t in d.tables if t.rows[0].cells[0].text == "지표")
    cells = {r.cells[0].text: [c.text for c in r.cells] for r in kpi.rows[1:]}
    m = cmp.current["sla_attainment"]
    assert cells["SLA 준수율"][1] == fmt(m.value, "pct", "ko")
    assert cells["최종 결정 콘텐츠 수"][1:3] == ["11", "1"]
    rfonts = d.styles["Normal"].element.rPr.find(qn("w:rFonts"))
    assert rfonts.get(qn("w:eastAsia")) == "Malgun Gothic"
    assert len(d.inline_shapes) >= 7  # the charts, as pictures
    assert len(d.tables) >= 15


def test_pdf_embeds_korean_font_and_text(reports, cmp) -> None:
    path = reports[("ko", "pdf")]
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                           check=True).stdout
    nanum = [line for line in fonts.splitlines() if "Nanum" in line]
    assert nanum and all(line.split()[-5] == "yes" for line in nanum)  # emb = yes
    assert "Helvetica" not in fonts  # nothing drawn in a non-embedded base font
    first = subprocess.run(["pdftotext", "-l", "1", "-layout", str(path), "-"],
                           capture_output=True, text=True, check=True).stdout
    for words in ("운영 리포트", "핵심 요약", "SLA 준수율", "유병률", "주요 변화"):
        assert words in first, words
    assert fmt(cmp.current["sla_attainment"].value, "pct", "ko") in first
    everything = subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                                text=True, check=True).stdout
    assert "팀별 스코어카드" in everything and "인력 예측" in everything


def test_html_self_contained(reports) -> None:
    html = reports[("ko", "html")].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'lang="ko"' in html
    assert "유병률" in html and "data:image/png;base64," in html
    assert not re.search(r"""(src|href)=["']https?:""", html)  # no CDN, no remote fonts
    assert "<script" not in html


def test_files_are_named_by_project_period_and_language(reports) -> None:
    names = sorted(p.name for p in reports.values())
    assert names[0] == "kr-comments_2026-11-20_en.docx"
    assert len(names) == 8 and all(Path(p).stat().st_size > 1000 for p in reports.values())
