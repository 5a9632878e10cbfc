"""Narrative, targets, staffing reuse, determinism, global pack, escaping, the CLI, and one
content check on both stores (the shared ``engine`` fixture: SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document as open_docx
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from modops.analytics import Filters, compare_periods, staffing_plan
from modops.reports import build_report
from modops.reports.content import KPIS, build_document, currency_suffix
from modops.reports.data import collect, targets_for
from modops.reports.i18n import josa, metric_name
from modops.reports.model import Para
from tests.conftest import make_project

from .conftest import NOW, PERIOD, approx_equal, make_world

pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")


def _bullets(engine: Engine, lang: str, period: str = PERIOD, **kw) -> list[str]:
    doc = build_document(collect(engine, ["kr-comments"], period, now=NOW, **kw), lang)
    return [b.text for b in doc.sections[0].blocks if isinstance(b, Para) and
            b.style == "bullet"]


def test_narrative_is_the_numbers_in_templates(world_engine: Engine) -> None:
    ko = _bullets(world_engine, "ko")
    en = _bullets(world_engine, "en")
    # 11 items decided on 11-20 vs 1 on 11-19 (hand-checked fixture). Equal exposure, so
    # given 12, X ~ Bin(12, ½): p = 2 · (C(12,11) + C(12,12)) / 2¹² = 26/4096 = 0.006
    assert "최종 결정 콘텐츠 수가 전일 대비 1000.0% 증가했습니다 (1 → 11, p = 0.006)." in ko
    assert "Items finalized increased 1000.0% day over day (1 → 11, p = 0.006)." in en
    # SLA 10/11 vs 1/1 and gold 2/3 rest on fewer than 30: no sentence, no target miss
    assert not any("SLA" in b or "골드" in b for b in ko), ko
    assert not any("SLA" in b or "Gold" in b for b in en), en
    assert len(ko) == len(en)


def _pd(cur, prev):  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    from modops.analytics import Delta
    from modops.analytics.significance import change_test

    d = Delta("prevalence", cur, prev, cur.value - prev.value,
              (cur.value - prev.value) / prev.value)
    return SimpleNamespace(comparison=SimpleNamespace(deltas={"prevalence": d}), min_n=30,
                           change=lambda name: change_test(cur, prev, 168, 168))


def test_narrative_prevalence_sentence() -> None:
    """The brief's example sentence, once the samples are large enough to say it: 1.2% → 1.6%
    on 10,000 each is z = 0.004 / √(0.014 · 0.986 · 2/10⁴) = 2.41, p = 0.016."""
    from modops.analytics import Metric
    from modops.reports.narrative import _metric_change

    cur = Metric("prevalence", 0.016, 160, 10_000, (0.0137, 0.0187), "share")
    prev = Metric("prevalence", 0.012, 120, 10_000, (0.0101, 0.0143), "share")
    ch = _metric_change("prevalence", _pd(cur, prev), ("전주", "week over week"))
    assert ch is not None
    assert ch.sentence_ko == ("유병률이 전주 대비 0.4%p 상승했습니다 "
                              "(1.2% → 1.6%, n = 10,000 → 10,000, p = 0.016).")
    assert ch.sentence_en == ("Prevalence rose 0.4 pt week over week "
                              "(1.2% → 1.6%, n = 10,000 → 10,000, p = 0.016).")
    # the same shares on 1,000 items each: p = 0.45, noise, no sentence
    small_c = Metric("prevalence", 0.016, 16, 1000, None, "share")
    small_p = Metric("prevalence", 0.012, 12, 1000, None, "share")
    assert _metric_change("prevalence", _pd(small_c, small_p), ("전주", "w")) is None
    # significant but on 19 items: below the minimum n, no sentence
    tiny_c = Metric("prevalence", 0.0, 0, 19, None, "share")
    tiny_p = Metric("prevalence", 0.8, 16, 20, None, "share")
    assert _metric_change("prevalence", _pd(tiny_c, tiny_p), ("전주", "w")) is None


def test_no_comparison(world_engine: Engine) -> None:
    data = collect(world_engine, ["kr-comments"], PERIOD, now=NOW, compare="none")
    assert data.previous_period is None and data.projects[0].comparison is None
    doc = build_document(data, "en")
    assert any(isinstance(b, Para) and b.text == "No comparison period was requested."
               for b in doc.sections[0].blocks)


def test_targets_from_project_settings() -> None:
    tg = targets_for({"report": {"targets": {"sla_attainment": {"green": 0.99, "amber": 0.98},
                                             "escalation_rate": {"direction": "max",
                                                                 "green": 0.1}}}}, 60)
    assert tg["sla_attainment"].status(0.985) == "amber"
    assert tg["sla_attainment"].status(0.95) == "red"
    assert tg["gold_accuracy"].status(0.91) == "green"  # default kept
    assert tg["backlog_forecast_clear_h"].green == 1.0  # the project's SLA (60 min)
    assert tg["escalation_rate"].status(0.2) == "red"
    assert tg["audit_error_rate"].status(None) is None


def test_korean_particles() -> None:
    assert josa("프리밸런스", "이", "가") == "가"
    assert josa("SLA 준수율", "이", "가") == "이"
    assert josa("66.7%", "은", "는") == "는"
    assert josa("0.801", "은", "는") == "은"


def test_report_staffing_is_the_staffing_plan(world_engine: Engine) -> None:
    """The report shows modops.analytics.staffing_plan as of its end, as dashboard and API."""
    data = collect(world_engine, ["kr-comments"], "2026-W47", now=NOW)  # NOW is in the week
    assert data.projects[0].staffing == staffing_plan(world_engine, "kr-comments", NOW)


def test_comparison_equals_compare_periods(world_engine: Engine) -> None:
    """collect() runs both periods concurrently; the result is compare_periods'."""
    pd = collect(world_engine, ["kr-comments"], PERIOD, now=NOW).projects[0]
    ref = compare_periods(world_engine, PERIOD, Filters(project="kr-comments"), now=NOW)
    assert pd.comparison is not None
    assert pd.comparison.current.as_of == ref.current.as_of
    assert pd.comparison.previous.as_of == ref.previous.as_of
    assert pd.comparison.deltas == ref.deltas


def test_deterministic(world_engine: Engine, tmp_path: Path) -> None:
    a = build_report(world_engine, ["kr-comments"], PERIOD, lang="ko",
                     formats=["pdf", "html", "xlsx"], out_dir=tmp_path / "a", now=NOW)
    b = build_report(world_engine, ["kr-comments"], PERIOD, lang="ko",
                     formats=["pdf", "html", "xlsx"], out_dir=tmp_path / "b", now=NOW)
    assert a["html"].read_bytes() == b["html"].read_bytes()
    assert a["pdf"].read_bytes() == b["pdf"].read_bytes()
    wa, wb = load_workbook(a["xlsx"]), load_workbook(b["xlsx"])
    for name in wa.sheetnames:
        assert [[c.value for c in r] for r in wa[name].iter_rows()] == \
               [[c.value for c in r] for r in wb[name].iter_rows()]
    html = a["html"].read_text(encoding="utf-8")
    assert html.count("2026-11-22 09:30") == 1  # the one generated-at line


def test_global_sync_pack_and_escaping(store_name: str, fresh_engine, tmp_path: Path) -> None:
    engine = fresh_engine()
    make_world(engine)
    make_project(engine, "kr-live", name="<script>alert('x')</script> LIVE 모니터링")
    out = build_report(engine, ["kr-live", "kr-comments"], PERIOD, lang="en",
                       formats=["xlsx", "html", "docx"], out_dir=tmp_path, now=NOW)
    assert out["xlsx"].name == "global-sync_2026-11-20_en.xlsx"
    ws = load_workbook(out["xlsx"])["Summary"]
    rows = list(ws[ws.tables["T_projects"].ref])
    assert [r[0].value for r in rows[1:]] == ["kr-comments", "kr-live"]  # sorted keys
    assert rows[1][1].value == 11 and rows[2][1].value == 0
    html = out["html"].read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    headings = [p.text for p in open_docx(str(out["docx"])).paragraphs
                if p.style.name == "Heading 2"]
    assert headings.count("kr-comments — 한국어 댓글 모니터링 (Korean comments)") >= 8


@pytest.mark.parametrize("store_name", ["sqlite", "postgresql"])
def test_both_stores_excel_matches_analytics(engine: Engine, tmp_path: Path) -> None:
    make_world(engine)
    out = build_report(engine, ["kr-comments"], PERIOD, lang="ko", formats=["xlsx"],
                       out_dir=tmp_path, now=NOW)
    cmp = compare_periods(engine, PERIOD, Filters(project="kr-comments"), now=NOW)
    ws = load_workbook(out["xlsx"])["요약"]
    kpi = {r[0].value: r for r in list(ws[ws.tables["T_kpi"].ref])[1:]}
    for name in KPIS:
        row = kpi[metric_name(name, "ko") + currency_suffix(cmp.current[name])]
        assert approx_equal(row[1].value, cmp.current[name].value), name
        assert approx_equal(row[2].value, cmp.previous[name].value), name
    assert kpi["SLA 준수율"][1].value == pytest.approx(10 / 11)
    assert len(ws._charts) == 1


def test_cli_report_command(world_engine: Engine, tmp_path: Path, monkeypatch) -> None:
    import typer

    import modops.cli.common as common
    from modops.cli.report import report

    monkeypatch.setattr(common, "_engine", world_engine)
    app = typer.Typer()
    app.command("report")(report)
    app.command("noop")(lambda: None)  # keep "report" a sub-command, as in modops.cli.main
    res = CliRunner().invoke(app, ["report", "kr-comments", "--period", PERIOD, "--lang",
                                   "ko,en", "--format", "xlsx,html", "-o", str(tmp_path),
                                   "--now", "2026-11-22T09:30:00"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "kr-comments_2026-11-20_en.html", "kr-comments_2026-11-20_en.xlsx",
        "kr-comments_2026-11-20_ko.html", "kr-comments_2026-11-20_ko.xlsx"]
    bad = CliRunner().invoke(app, ["report", "kr-comments", "--period", PERIOD, "--format",
                                   "pptx", "-o", str(tmp_path)])
    assert bad.exit_code == 2 and "unknown report format" in bad.output
    missing = CliRunner().invoke(app, ["report", "nope", "--period", PERIOD, "-o",
                                       str(tmp_path)])
    assert missing.exit_code == 2


def test_engine_has_no_writes(world_engine: Engine, tmp_path: Path) -> None:
    """Reports only read: row counts are unchanged after building one."""
    with world_engine.connect() as conn:
        before = conn.execute(text("SELECT COUNT(*) FROM audit_log")).scalar()
    build_report(world_engine, ["kr-comments"], PERIOD, lang="en", formats=["html"],
                 out_dir=tmp_path, now=NOW)
    with world_engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log")).scalar() == before
