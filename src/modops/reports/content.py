"""What a report says: sections, tables and charts built from :class:`ReportData`.

One function per section; each returns blocks for one project, and a several-project pack
stacks the projects' blocks in the same section (one Excel sheet per section either way).
Order is fixed (metrics in a declared order, teams/labels/products sorted by key) so the same
data gives the same document.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from modops.analytics import METHODOLOGY_VERSION, Metric
from modops.analytics.catalogue import direction
from modops.analytics.significance import sample_size
from modops.i18n import pair
from modops.i18n.formats import short_time

from .data import Incident, ProjectData, ReportData, Target
from .i18n import RULES, SEVERITY, Lang, fmt, metric_name, pick, t, term, unit_kind
from .model import Block, Chart, Col, Document, Para, Section, Status, Table, Tone
from .narrative import narrative, prev_phrase

KPIS = (
    "items_finalized", "tasks_finalized", "throughput_per_hour", "backlog_open",
    "backlog_forecast_clear_h", "sla_attainment", "time_to_action_median_h",
    "handle_time_median_s", "productivity", "gold_accuracy", "krippendorff_alpha",
    "audit_error_rate", "prevalence", "prevalence_views", "proactive_rate", "automated_share",
    "machine_f1", "auto_action_precision", "appeal_overturn_rate", "cost_per_item",
)
KPI_RATES = ("sla_attainment", "gold_accuracy", "audit_error_rate", "proactive_rate",
             "automated_share", "auto_action_precision", "appeal_overturn_rate")
THROUGHPUT = ("tasks_finalized", "throughput_per_hour", "throughput_per_day",
              "arrivals_per_hour", "backlog_open", "backlog_oldest_age_h",
              "backlog_forecast_clear_h", "annotations", "handle_time_median_s",
              "handle_time_p90_s", "handle_time_mean_s", "labeler_hours", "productivity",
              "utilization", "labor_cost", "cost_per_item")
BACKLOG_BUCKETS = ("backlog_age_lt_1h", "backlog_age_1_4h", "backlog_age_4_24h",
                   "backlog_age_1_3d", "backlog_age_gt_3d")
SLA = ("items_finalized", "sla_attainment", "time_to_action_median_h", "time_to_action_p90_h",
       "removal_within_24h", "zero_view_removal_rate", "views_before_action", "escalation_rate",
       "appeal_rate", "appeal_overturn_rate")
SLA_RATES = ("sla_attainment", "removal_within_24h", "zero_view_removal_rate",
             "escalation_rate", "appeal_overturn_rate")
QUALITY = ("gold_accuracy", "krippendorff_alpha", "fleiss_kappa", "percent_agreement",
           "audit_error_rate", "audit_error_rate_machine", "audit_error_rate_human")
PREVALENCE = ("prevalence", "prevalence_views", "prevalence_sample_needed")
MACHINE = ("machine_precision", "machine_recall", "machine_f1", "auto_action_precision",
           "audit_error_rate_machine", "automated_share", "proactive_rate")
MACHINE_RATES = ("machine_precision", "machine_recall", "auto_action_precision",
                 "automated_share", "proactive_rate")
TOP_LABELS = 6  # labels drawn in the daily chart (the table has them all)
EMPTY_LABEL = pair("report.empty_label")  # an answer with an empty label list


def change_of(pd: ProjectData, name: str) -> tuple[float | None, str]:
    """The change shown for a metric: points for shares (×100, "pp"), absolute for
    coefficients, relative otherwise — the same convention as the narrative."""
    if pd.comparison is None or name not in pd.comparison.deltas:
        return None, "text"
    d = pd.comparison.deltas[name]
    kind = unit_kind(d.current.unit)
    if kind == "pct":
        return (d.delta * 100 if d.delta is not None else None), "pp"
    if kind == "float3":
        return d.delta, "signed_float"
    return d.relative, "signed_pct"


def tone_of(name: str, change: float | None) -> Tone | None:
    """Good or bad news by the metric's direction in the catalogue."""
    way = direction(name)
    if change is None or change == 0 or way == "none":
        return None
    return "good" if (change > 0) == (way == "up") else "bad"


def target_text(tg: Target | None, kind: str, lang: Lang) -> str:
    if tg is None:
        return t("no_target", lang)
    return f"{'≥' if tg.direction == 'min' else '≤'} {fmt(tg.green, kind, lang)}"


def currency_suffix(m: Metric) -> str:
    """" (KRW)" after a cost, or each currency's total when teams are paid in several (costs
    are never converted)."""
    if not m.unit.startswith("currency"):
        return ""
    if m.detail.get("currency"):
        return f" ({m.detail['currency']})"
    by = m.detail.get("by_currency") or {}
    return f" ({', '.join(f'{v:,.0f} {c}' for c, v in sorted(by.items()))})" if by else ""


def withheld_reason(m: Metric, tg: Target | None, min_n: int, lang: Lang) -> str:
    """Why a metric with a target has no status: too few observations, or its interval
    holds the target; "—" without a value or a target."""
    if tg is None or m.value is None:
        return "—"
    n = sample_size(m)
    if n is not None and n < min_n:
        return t("status_small_n", lang, n=f"{n:,.0f}", min=min_n)
    return t("status_overlap", lang)


def metric_table(pd: ProjectData, key: str, title: str, names: tuple[str, ...], lang: Lang,
                 *, targets: bool = False, ci: bool = True, parts: bool = False) -> Table:
    """Metric | current | previous | change [| target | status] [| CI] [| num | den]."""
    tb = Table(key, title, _metric_columns(lang, targets=targets, ci=ci, parts=parts), [])
    if targets:
        tb.status_col = 5
    for r, name in enumerate(n for n in names if n in pd.current.metrics):
        tb.rows.append(_metric_row(tb, r, pd, name, lang, targets=targets, ci=ci, parts=parts))
    return tb


def _metric_columns(lang: Lang, *, targets: bool, ci: bool, parts: bool) -> list[Col]:
    cols = [Col(t("metric", lang), "text", 34), Col(t("current", lang), "float2", 13),
            Col(t("previous", lang), "float2", 13), Col(t("delta", lang), "signed_pct", 11)]
    if targets:
        cols += [Col(t("target", lang), "text", 13), Col(t("status", lang), "text", 8)]
    if ci:
        cols += [Col(t("ci_low", lang), "float2", 10), Col(t("ci_high", lang), "float2", 10)]
    if parts:
        cols += [Col(t("numerator", lang), "float2", 12),
                 Col(t("denominator", lang), "float2", 12)]
    return cols


def _metric_row(tb: Table, r: int, pd: ProjectData, name: str, lang: Lang, *, targets: bool,
                ci: bool, parts: bool) -> list[Any]:
    """Row ``r`` of a metric table; its cells' kinds, tones and status go onto ``tb``."""
    m: Metric = pd.current[name]
    kind = unit_kind(m.unit)
    change, ckind = change_of(pd, name)
    row: list[Any] = [metric_name(name, lang) + currency_suffix(m), m.value,
                      pd.prev_value(name), change]
    for c in (1, 2):
        tb.kinds[(r, c)] = kind
    tb.kinds[(r, 3)] = ckind
    shown_zero = not any(ch in "123456789" for ch in fmt(change, ckind, "en"))
    if not shown_zero and (tone := tone_of(name, change)) is not None:
        tb.tones[(r, 3)] = tone
    status: Status | None = None
    if targets:
        tg = pd.targets.get(name)
        status = tg.status_of(m, pd.min_n) if tg else None  # type: ignore[assignment]
        row += [target_text(tg, kind, lang), t(status, lang) if status else
                withheld_reason(m, tg, pd.min_n, lang)]
    tb.status.append(status)
    if ci:
        _add_interval(tb, r, row, m, kind)
    if parts:
        _add_parts(tb, r, row, m)
    return row


def _add_interval(tb: Table, r: int, row: list[Any], m: Metric, kind: str) -> None:
    lo, hi = m.interval if m.interval else (None, None)
    c0 = len(row)
    row += [lo, hi]
    tb.kinds[(r, c0)] = tb.kinds[(r, c0 + 1)] = kind if m.interval else "text"


def _add_parts(tb: Table, r: int, row: list[Any], m: Metric) -> None:
    c0 = len(row)
    row += [m.numerator, m.denominator]
    for c, v in ((c0, m.numerator), (c0 + 1, m.denominator)):
        tb.kinds[(r, c)] = "int" if v is not None and float(v).is_integer() else "float2"


def compare_chart_table(pd: ProjectData, key: str, title: str, names: tuple[str, ...],
                        lang: Lang) -> Table:
    """Metric | current | previous for share metrics (the data of a clustered column chart)."""
    cols = [Col(t("metric", lang), "text", 30), Col(t("current", lang), "pct", 12)]
    if pd.previous is not None:
        cols.append(Col(t("previous", lang), "pct", 12))
    rows = []
    for name in names:
        if name not in pd.current.metrics:
            continue
        row: list[Any] = [metric_name(name, lang), pd.current[name].value]
        if pd.previous is not None:
            row.append(pd.prev_value(name))
        rows.append(row)
    return Table(key, title, cols, rows)


def _chart(key: str, kind: Any, tb: Table, y_kind: str, title: str | None = None,
           err: tuple[int, int] | None = None, vals: list[int] | None = None) -> Chart:
    return Chart(key, kind, title or tb.title, tb, 0,
                 vals or list(range(1, len(tb.columns))), err, y_kind)


# --------------------------------------------------------------------------- sections
def summary_blocks(data: ReportData, pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    explicit = data.previous_period is not None and (
        data.previous_period != data.period.previous())
    phrase = prev_phrase(data.period.kind, data.previous_period.label
                         if data.previous_period else None, explicit)
    blocks: list[Block] = [metric_table(pd, f"{k}kpi", t("kpis", lang), KPIS, lang,
                                        targets=True, ci=False)]
    blocks.append(Para(t("narrative", lang), "h3"))
    if data.previous_period is None:
        blocks.append(Para(t("no_compare", lang), "note"))
    blocks += [Para(s, "bullet") for s in narrative(pd, lang, phrase)]
    rates = compare_chart_table(pd, f"{k}kpirates", t("kpi_chart", lang), KPI_RATES, lang)
    blocks += [rates, _chart(f"{k}kpirates", "column", rates, "pct")]
    return blocks


def throughput_blocks(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    main = metric_table(pd, f"{k}thr", t("sec_throughput", lang), THROUGHPUT, lang,
                        ci=False, parts=False)
    buckets = Table(f"{k}backlog", t("backlog_by_age", lang),
                    [Col(t("age_bucket", lang), "text", 16), Col(t("open_tasks", lang), "int")],
                    [[metric_name(b, lang), pd.current[b].value] for b in BACKLOG_BUCKETS])
    total = sum((m.numerator or 0.0) for m in pd.by_product.values())
    prod = Table(f"{k}product", t("by_product", lang),
                 [Col(t("product", lang), "text", 18), Col(t("tasks_done", lang), "int"),
                  Col(t("per_hour", lang), "float2"), Col(t("share", lang), "pct")],
                 [[pick(pd.product_names.get(p, (p, p)), lang), m.numerator, m.value,
                   (m.numerator or 0.0) / total if total else None]
                  for p, m in sorted(pd.by_product.items())], bar_cols=[1])
    return [main, buckets, _chart(f"{k}backlog", "column", buckets, "int"),
            prod, _chart(f"{k}product", "bar", prod, "int", vals=[1])]


def sla_blocks(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    main = metric_table(pd, f"{k}sla", t("sec_sla", lang), SLA, lang, targets=True,
                        parts=True)
    rates = compare_chart_table(pd, f"{k}slarates", t("sec_sla", lang), SLA_RATES, lang)
    return [main, rates, _chart(f"{k}slarates", "column", rates, "pct")]


def quality_blocks(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    main = metric_table(pd, f"{k}quality", t("sec_quality", lang), QUALITY, lang,
                        targets=True, parts=True)
    teams = Table(f"{k}teams", t("team_scorecards", lang),
                  [Col(t("team", lang), "text", 18), Col(t("tasks_done", lang), "int"),
                   Col(t("per_hour", lang), "float2"), Col(t("share", lang), "pct"),
                   Col(t("labelers", lang), "int", 10), Col(t("gold_n", lang), "int", 11),
                   Col(t("gold_correct", lang), "int", 11),
                   Col(metric_name("gold_accuracy", lang), "pct", 12),
                   Col(t("ci_low", lang), "pct", 10), Col(t("ci_high", lang), "pct", 10),
                   Col(t("below_target", lang), "int", 12)],
                  [], scale_cols=[7], bar_cols=[1])
    for row in pd.teams:
        name = t("none_team", lang) if row.team == "(none)" else row.team
        lo, hi = row.gold_ci or (None, None)
        teams.rows.append([name, row.tasks_finalized, row.throughput_per_hour,
                           row.share_of_tasks, row.labelers, row.gold_n, row.gold_correct,
                           row.gold_accuracy, lo, hi, row.labelers_below_target])
    gold_chart = Table(f"{k}goldteam", t("gold_by_team", lang),
                       [Col(t("team", lang), "text", 18),
                        Col(metric_name("gold_accuracy", lang), "pct", 12),
                        Col(t("ci_low", lang), "pct", 10), Col(t("ci_high", lang), "pct", 10)],
                       [[r[0], r[7], r[8], r[9]] for r in teams.rows if r[7] is not None])
    alpha = pd.current["krippendorff_alpha"].detail.get("per_label") or {}
    agree = Table(f"{k}agree", t("agreement_by_label", lang),
                  [Col(t("label_key", lang), "text", 18), Col(t("label", lang), "text", 22),
                   Col(t("alpha", lang), "float3", 10)],
                  [[lab or "∅", pick(pd.label_names.get(lab, EMPTY_LABEL if not lab else
                                                        (lab, lab)), lang), alpha[lab]]
                   for lab in sorted(alpha)], scale_cols=[2])
    blocks: list[Block] = [main, teams]
    if gold_chart.rows:
        blocks += [gold_chart, _chart(f"{k}goldteam", "column", gold_chart, "pct",
                                      err=(2, 3), vals=[1])]
    blocks.append(agree)
    return blocks


def prevalence_blocks(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    main = metric_table(pd, f"{k}prev", t("sec_prevalence", lang), PREVALENCE, lang,
                        parts=True)
    rows = []
    for name in ("prevalence", "prevalence_views"):
        m = pd.current[name]
        lo, hi = m.interval or (None, None)
        rows.append([f"{metric_name(name, lang)} ({t('current', lang)})", m.value, lo, hi])
        if pd.previous is not None:
            pm = pd.previous[name]
            plo, phi = pm.interval or (None, None)
            rows.append([f"{metric_name(name, lang)} ({t('previous', lang)})", pm.value,
                         plo, phi])
    ci = Table(f"{k}prevci", t("prevalence_ci", lang),
               [Col(t("metric", lang), "text", 34), Col(t("value", lang), "pct2", 12),
                Col(t("ci_low", lang), "pct2", 10), Col(t("ci_high", lang), "pct2", 10)], rows)
    return [main, ci, _chart(f"{k}prevci", "column", ci, "pct", err=(2, 3), vals=[1])]


def machine_blocks(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    main = metric_table(pd, f"{k}machine", t("sec_machine", lang), MACHINE, lang,
                        targets=True, parts=True)
    rates = compare_chart_table(pd, f"{k}machrates", t("machine_vs_prev", lang),
                                MACHINE_RATES, lang)
    return [main, rates, _chart(f"{k}machrates", "column", rates, "pct")]


def _label_order(pd: ProjectData) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """Decisions per label this period and the one before, and the labels in taxonomy order
    (labels outside the taxonomy after them, sorted)."""
    cur = {lab: sum(v) for lab, v in pd.series.counts.items()}
    prev = ({lab: sum(v) for lab, v in pd.previous_series.counts.items()}
            if pd.previous_series is not None else {})
    order = [lab for lab in pd.label_names if lab in cur or lab in prev]
    order += sorted((set(cur) | set(prev)) - set(order))  # labels outside the taxonomy
    return cur, prev, order


def _label_totals(pd: ProjectData, lang: Lang, k: str, cur: dict[str, int],
                  prev: dict[str, int], order: list[str]) -> Table:
    totals = Table(f"{k}labels", t("by_label", lang),
                   [Col(t("label_key", lang), "text", 18), Col(t("label", lang), "text", 22),
                    Col(t("current", lang), "int", 12), Col(t("previous", lang), "int", 12),
                    Col(t("delta_pct", lang), "signed_pct", 11)], [], bar_cols=[2])
    for r, lab in enumerate(order):
        a, b = cur.get(lab, 0), prev.get(lab, 0)
        rel = (a - b) / b if b else None
        totals.rows.append([lab, pick(pd.label_names.get(lab, (lab, lab)), lang), a,
                            b if pd.previous_series is not None else None, rel])
        if rel and lab != "none":
            totals.tones[(r, 4)] = "bad" if rel > 0 else "good"
    return totals


def _label_daily(pd: ProjectData, lang: Lang, k: str, top: list[str]) -> Table:
    """Per day of the period, the decisions with each of the ``top`` labels."""
    return Table(f"{k}daily", t("daily_by_label", lang),
                 [Col(t("day", lang), "text", 12)]
                 + [Col(pick(pd.label_names.get(lab, (lab, lab)), lang), "int", 12)
                    for lab in top],
                 [[day] + [pd.series.counts[lab][i] for lab in top]
                  for i, day in enumerate(pd.series.days)])


def policy_blocks(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    cur, prev, order = _label_order(pd)
    totals = _label_totals(pd, lang, k, cur, prev, order)
    top = sorted((lab for lab in cur if lab != "none"), key=lambda x: (-cur[x], x))[:TOP_LABELS]
    top = [lab for lab in order if lab in top]
    daily = _label_daily(pd, lang, k, top)
    blocks: list[Block] = [totals]
    if order:
        blocks.append(_chart(f"{k}labels", "bar", totals, "int", vals=[2, 3] if
                             pd.previous_series is not None else [2]))
    blocks.append(daily)
    if top:
        blocks.append(_chart(f"{k}daily", "line", daily, "int"))
    return blocks


KST = timedelta(hours=9)
MAX_INCIDENT_SERIES = 4


def kst(at: datetime | None) -> str:
    """A stored time as the pages show it (``modops.i18n.formats``: KST, to the minute)."""
    return short_time(at)


def incident_name(i: Incident, lang: Lang, pd: ProjectData | None = None) -> str:
    """"판정 급증 '괴롭힘·모욕 (악플)'": the rule, and its subject (a label by its name)."""
    rule = term(RULES, i.rule, lang)
    if not i.subject:
        return rule
    subject = i.subject
    if i.rule == "label_spike" and pd is not None and subject in pd.label_names:
        subject = pick(pd.label_names[subject], lang)
    return f"{rule} '{subject}'"


def severity_status(severity: str) -> Status | None:
    """The status colour of an alert or incident: critical red, warning amber."""
    return "red" if severity == "critical" else "amber" if severity == "warning" else None


def incident_blocks(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    """Every alert episode open during the period: when it started, peaked and ended (KST),
    its peak against the expected value, the items it touched and who took it; then one
    timeline chart (per day: decisions with the label, items mentioning the term)."""
    if not pd.incidents:
        return [Para(t("no_incidents", lang))]
    blocks: list[Block] = [_incident_table(pd, lang, k)]
    blocks += _incident_timeline(pd, lang, k)
    blocks += [Para(i.message_ko if lang == "ko" else i.message_en, "bullet")
               for i in pd.incidents]
    return blocks


def _incident_table(pd: ProjectData, lang: Lang, k: str) -> Table:
    tb = Table(f"{k}incidents", t("sec_incidents", lang),
               [Col(t("severity", lang), "text", 9), Col(t("incident", lang), "text", 28),
                Col(t("inc_start", lang), "text", 13), Col(t("inc_peak_at", lang), "text", 13),
                Col(t("inc_end", lang), "text", 13), Col(t("inc_peak", lang), "float1", 10),
                Col(t("expected", lang), "float1", 10),
                Col(t("inc_affected", lang), "int", 10),
                Col(t("inc_ack", lang), "text", 14)], [])
    for i in pd.incidents:
        tb.rows.append([term(SEVERITY, i.severity, lang),
                        incident_name(i, lang, pd), kst(i.start), kst(i.peak_at),
                        kst(i.end) if i.end else t("inc_open", lang), i.peak, i.expected,
                        i.affected_items, i.acknowledged_by or "—"])
        tb.status.append(severity_status(i.severity))
    tb.status_col = 0
    return tb


def _incident_timeline(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    """A line chart (and its table) of the first incidents with a series, one line each."""
    charted = [i for i in pd.incidents if i.series and any(i.series)][:MAX_INCIDENT_SERIES]
    if not charted:
        return []
    timeline = Table(f"{k}inctimeline", t("inc_timeline", lang),
                     [Col(t("day", lang), "text", 12)]
                     + [Col(incident_name(i, lang, pd), "int", 16) for i in charted],
                     [[day] + [i.series[d] for i in charted]
                      for d, day in enumerate(pd.series.days)])
    return [_chart(f"{k}inctimeline", "line", timeline, "int"), timeline]


def alert_blocks(data: ReportData, pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    as_of = f"{data.as_of:%Y-%m-%d %H:%M} UTC"
    blocks: list[Block] = [Para(t("alerts_note", lang, as_of=as_of), "note")]
    if not pd.alerts:
        blocks.append(Para(t("no_alerts", lang)))
        return blocks
    tb = Table(f"{k}alerts", t("sec_alerts", lang),
               [Col(t("severity", lang), "text", 9), Col(t("rule", lang), "text", 20),
                Col(t("subject", lang), "text", 16), Col(t("message", lang), "text", 60),
                Col(t("observed", lang), "float2", 11), Col(t("expected", lang), "float2", 11),
                Col(t("threshold", lang), "float2", 11)], [])
    for a in pd.alerts:
        tb.rows.append([term(SEVERITY, a.severity, lang), term(RULES, a.rule, lang),
                        a.subject or "",
                        a.message_ko if lang == "ko" else a.message_en, a.observed,
                        a.expected, a.threshold])
        tb.status.append(severity_status(a.severity))
    tb.status_col = 0
    blocks.append(tb)
    return blocks


def staffing_blocks(pd: ProjectData, lang: Lang, k: str) -> list[Block]:
    """The project's staffing plan (``modops.analytics.StaffingPlan``): headline numbers,
    labelers per shift against the roster, and scheduled labelers per hour (KST)."""
    s = pd.staffing
    if s is None:
        return []
    cols = [Col(t("item", lang), "text", 40), Col(t("value", lang), "float2", 14)]
    yes = t("yes", lang) if s.occupancy_flag else t("no", lang)
    rows: list[tuple[str, Any, str]] = [
        ("plan_target", s.target_service_level, "pct"),
        ("plan_shrinkage", s.shrinkage, "pct"),
        ("plan_peak", s.peak_scheduled, "int"),
        ("plan_per_day", s.labeler_hours_per_day, "int"),
        ("plan_backlog", s.backlog_tasks, "int"),
        ("plan_hours_backlog", s.backlog_labeler_hours, "float1"),
        ("plan_flag", yes, "text")]
    summary = Table(f"{k}plan", t("staffing_plan", lang), list(cols),
                    [[t(key, lang), v] for key, v, _ in rows])
    summary.kinds = {(r, 1): kind for r, (_, _, kind) in enumerate(rows)}
    shifts = Table(f"{k}shifts", t("plan_shifts", lang), [
        Col(t("plan_shift", lang), "text", 16), Col(t("plan_teams", lang), "text", 24),
        Col(t("plan_required", lang), "int", 10), Col(t("plan_rostered", lang), "int", 10),
        Col(t("plan_gap", lang), "int", 10)],
        [[f"{(x.start_utc + 9) % 24:02d}–{(x.start_utc + x.hours + 9) % 24:02d} KST",
          ", ".join(x.teams) or "—", x.required, x.rostered, x.gap] for x in s.shifts])
    by_hour = s.scheduled_by_hour()
    hours = Table(f"{k}hours", t("plan_by_hour", lang), [
        Col(t("plan_hour", lang), "text", 10), Col(t("plan_scheduled", lang), "int", 12)],
        [[f"{(h + 9) % 24:02d}", by_hour[h]] for h in [(kst - 9) % 24 for kst in range(24)]])
    return [summary, shifts, Chart(f"{k}hourschart", "column", hours.title, hours, 0, [1])]


def projects_table(data: ReportData, lang: Lang) -> Table:
    """Global sync pack: one row per project, the headline KPIs side by side."""
    names = ("items_finalized", "backlog_open", "sla_attainment", "gold_accuracy",
             "audit_error_rate", "prevalence", "automated_share", "appeal_overturn_rate")
    cols = [Col(t("project", lang), "text", 22)] + [
        Col(metric_name(n, lang), "float2", 14) for n in names]
    tb = Table("projects", t("sec_projects", lang), cols, [])
    for r, pd in enumerate(data.projects):
        tb.rows.append([pd.key] + [pd.current[n].value for n in names])
        for c, n in enumerate(names, start=1):
            tb.kinds[(r, c)] = unit_kind(pd.current[n].unit)
        tb.status.append(None)
    return tb


# --------------------------------------------------------------------------- document
SECTIONS = ("sec_incidents", "sec_throughput", "sec_sla", "sec_quality", "sec_prevalence",
            "sec_machine", "sec_policy", "sec_alerts", "sec_staffing")


def build_document(data: ReportData, lang: Lang) -> Document:
    """The whole report in one language."""
    pack = data.is_pack
    keyed = [(f"p{i}_" if pack else "", pd) for i, pd in enumerate(data.projects)]

    def per_project(fn: Any) -> list[Block]:
        out: list[Block] = []
        for k, pd in keyed:
            if pack:
                out.append(Para(f"{pd.key} — {pd.name}", "h3"))
            out += fn(pd, k)
        return out

    summary: list[Block] = []
    if pack:
        summary.append(projects_table(data, lang))
    summary += per_project(lambda pd, k: summary_blocks(data, pd, lang, k))
    builders = {
        "sec_incidents": lambda pd, k: incident_blocks(pd, lang, k),
        "sec_throughput": lambda pd, k: throughput_blocks(pd, lang, k),
        "sec_sla": lambda pd, k: sla_blocks(pd, lang, k),
        "sec_quality": lambda pd, k: quality_blocks(pd, lang, k),
        "sec_prevalence": lambda pd, k: prevalence_blocks(pd, lang, k),
        "sec_machine": lambda pd, k: machine_blocks(pd, lang, k),
        "sec_policy": lambda pd, k: policy_blocks(pd, lang, k),
        "sec_alerts": lambda pd, k: alert_blocks(data, pd, lang, k),
        "sec_staffing": lambda pd, k: staffing_blocks(pd, lang, k),
    }
    sections = [Section("summary", t("exec_summary", lang), t("sheet_summary", lang), summary)]
    sections += [Section(key, t(key, lang), t(key, lang)[:31], per_project(builders[key]))
                 for key in SECTIONS]
    title = t("global_title", lang) if pack else t("title", lang)
    subtitle = (", ".join(pd.key for pd in data.projects) if pack
                else f"{data.projects[0].name} ({data.projects[0].key})")
    meta = [(t("projects" if pack else "project", lang), subtitle),
            (t("period", lang), f"{data.period.label} ({data.period.start:%Y-%m-%d %H:%M} – "
                                f"{data.period.end:%Y-%m-%d %H:%M} UTC)")]
    if data.previous_period is not None:
        pp = data.previous_period
        meta.append((t("compared_with", lang), f"{pp.label} ({pp.start:%Y-%m-%d %H:%M} – "
                                               f"{pp.end:%Y-%m-%d %H:%M} UTC)"))
    if data.partial:
        elapsed = (data.as_of - data.period.start).total_seconds() / 3600.0
        meta.append((t("partial", lang), t("partial_note", lang, h=f"{elapsed:g}",
                                            total=f"{data.period.hours:g}")))
    meta += [(t("as_of", lang), f"{data.as_of:%Y-%m-%d %H:%M} UTC"),
             (t("methodology", lang), METHODOLOGY_VERSION)]
    generated = f"{t('generated_at', lang)}: {data.generated_at:%Y-%m-%d %H:%M:%S} UTC"
    return Document(lang, f"{title} · {data.period.label}", subtitle, meta, generated,
                    sections, t("footer", lang, version=METHODOLOGY_VERSION))
