"""The metric catalogue: one spec per metric, one formatter per unit, docs generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from modops.analytics.catalogue import SPECS, format_value, metric_name, unit_kind
from modops.analytics.metrics_doc import docs_markdown
from modops.reports.data import DEFAULT_TARGETS, targets_for
from modops.reports.i18n import excel_format, fmt
from modops.web.dashboards import fmt as web_fmt

ROOT = Path(__file__).resolve().parents[2]


def test_docs_metrics_md_is_generated_from_the_catalogue() -> None:
    committed = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert committed == docs_markdown(), \
        "regenerate: python -m modops.analytics.metrics_doc > docs/metrics.md"
    for name in SPECS:
        assert f"| `{name}` |" in committed


@pytest.mark.parametrize(("value", "unit", "ko", "en"), [
    (0.9166, "share", "91.7%", "91.7%"),
    (0.01234, "share of views", "1.2%", "1.2%"),
    (0.81234, "coefficient", "0.812", "0.812"),
    (12345.0, "tasks", "12,345", "12,345"),
    (1.25, "hours", "1.2시간", "1.2 h"),  # half to even, as Python formats
    (12.34, "seconds", "12.3초", "12.3 s"),
    (1234567.5, "currency", "₩1,234,568", "KRW 1,234,568"),  # won: no decimals
    (350.4, "currency/item", "₩350", "KRW 350"),
    (2.345, "tasks/hour", "2.35", "2.35"),
    (None, "share", "—", "—"),
    (float("nan"), "hours", "—", "—"),
])
def test_one_formatter_per_unit_for_web_and_reports(value, unit, ko, en) -> None:
    """Hand-written expectations; the web pages and the reports' text formats print the same."""
    assert format_value(value, unit, "ko") == ko
    assert format_value(value, unit, "en") == en
    assert web_fmt(value, unit, "ko") == ko
    assert fmt(value, unit_kind(unit), "ko") == ko
    assert fmt(value, unit_kind(unit), "en") == en


def test_excel_shows_the_same_units() -> None:
    assert excel_format(unit_kind("currency"), "ko") == '"₩"#,##0'
    assert excel_format(unit_kind("currency"), "en") == '"KRW "#,##0'
    assert excel_format(unit_kind("hours"), "ko") == '#,##0.0"시간"'
    assert excel_format(unit_kind("seconds"), "en") == '#,##0.0" s"'
    assert excel_format("pct", "ko") == "0.0%"


def test_targets_and_directions_come_from_the_catalogue() -> None:
    assert DEFAULT_TARGETS["sla_attainment"] == ("min", 0.95, 0.90)
    assert DEFAULT_TARGETS["appeal_overturn_rate"] == ("max", 0.10, 0.20)
    assert DEFAULT_TARGETS["krippendorff_alpha"] == ("min", 0.80, 0.667)
    t = targets_for({}, sla_minutes=90)["backlog_forecast_clear_h"]
    assert (t.direction, t.green, t.amber) == ("max", 1.5, 3.0)
    for name, (way, _, _) in DEFAULT_TARGETS.items():
        assert SPECS[name].direction == ("up" if way == "min" else "down"), name


def test_glossary_terms_in_metric_names() -> None:
    assert metric_name("prevalence", "ko") == "유병률"
    assert metric_name("appeal_rate", "ko") == "이의신청률"
    assert metric_name("no_such_metric", "ko") == "no_such_metric"
