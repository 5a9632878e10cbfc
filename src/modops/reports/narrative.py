"""The "notable changes" paragraph, written from the numbers by fixed templates.

It leads with the period's incidents (stored alert episodes). A change gets a sentence only
when its test (``analytics.significance``: two-proportion or Poisson rate) calls it
significant at the report's level and both values rest on at least ``min_n`` observations;
the sentence states n and p. Every sentence fills a template with values from the analytics
module (metric values, deltas, label volumes, alert counts); nothing is paraphrased or
invented. Changes are ranked by how far they exceed a per-unit threshold (percentage points
for shares, relative change for counts and rates, absolute change for coefficients), ties
broken by metric name, so the paragraph is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from modops.analytics import Delta
from modops.analytics.significance import ChangeTest, poisson_rate_p, sample_size
from modops.i18n import tr

from .data import Incident, ProjectData
from .i18n import RULES, Lang, fmt, josa, metric_name, prev_phrases, t, term, unit_kind

# metrics the narrative may mention, in the executive-summary order
NARRATIVE_METRICS = (
    "items_finalized", "throughput_per_hour", "backlog_open", "backlog_forecast_clear_h",
    "sla_attainment", "time_to_action_median_h", "handle_time_median_s", "productivity",
    "gold_accuracy", "krippendorff_alpha", "audit_error_rate", "prevalence",
    "prevalence_views", "proactive_rate", "automated_share", "machine_f1",
    "auto_action_precision", "appeal_overturn_rate", "cost_per_item",
)
SHARE_PP = 1.0  # percentage points that make a share change notable
PREVALENCE_PP = 0.1  # prevalence is small: a tenth of a point matters
COEFF_ABS = 0.05
REL = 0.10
LABEL_REL = 0.20
LABEL_MIN = 20  # decisions in either period before a label's change is worth a sentence
MAX_CHANGES = 6
BIG = 3.0  # changes at least this many thresholds large rank first, in the declared order


@dataclass(frozen=True)
class Change:
    metric: str
    score: float
    sentence_ko: str
    sentence_en: str

    def rank(self) -> tuple[int, int, float, str]:
        """Big changes first in the executive-summary order of metrics, then the rest by
        size: a 1800% jump in a tiny count does not push an SLA drop out of the summary."""
        order = (NARRATIVE_METRICS.index(self.metric) if self.metric in NARRATIVE_METRICS
                 else len(NARRATIVE_METRICS))
        big = self.score >= BIG
        return (0 if big else 1, order if big else 0, -self.score, self.metric)


def _short(name: str) -> str:
    """The metric name without its parenthesised unit ("처리 시간 중앙값 (초)" → "처리 시간
    중앙값"); the unit moves next to the numbers."""
    return name.split(" (")[0] if name.endswith(")") and " (" in name else name


def prev_phrase(pd_kind: str, compare_label: str | None, explicit: bool) -> tuple[str, str]:
    """"전주" / "week over week", or the named period when one was given explicitly."""
    if explicit and compare_label:
        return tr("ko", "report.prev.named", label=compare_label), \
            tr("en", "report.prev.named", label=compare_label)
    return prev_phrases(pd_kind)


def _evidence(test: ChangeTest, lang: Lang) -> str:
    """", n = 480 → 470, p = 0.012" for shares (their n), ", p = 0.012" for counts."""
    p = f"p = {test.p_value:.3f}" if test.p_value >= 0.001 else "p < 0.001"
    if test.test == "two_proportion":
        return f", n = {test.n_previous:,.0f} → {test.n_current:,.0f}, {p}"
    return f", {p}"


def _significant_delta(name: str, pd: ProjectData) -> tuple[Delta, ChangeTest] | None:
    """The metric's change and its test, if the test calls it significant at the report's
    level with at least ``min_n`` observations behind both values (analytics.significance)."""
    if pd.comparison is None or name not in pd.comparison.deltas:
        return None
    d = pd.comparison.deltas[name]
    if d.current.value is None or d.previous.value is None or d.delta is None or d.delta == 0:
        return None
    test = pd.change(name)
    if test is None or not test.significant:
        return None
    if any(n is not None and n < pd.min_n
           for n in (sample_size(d.current), sample_size(d.previous))):
        return None
    return d, test


def _notable(name: str, kind: str, delta: float, relative: float | None
             ) -> tuple[str, float, dict[str, float]] | None:
    """A change's sentence shape, its score (how many thresholds large) and its numbers, if it
    passes its unit's threshold: points for shares, absolute for coefficients, relative for
    the rest."""
    if kind == "pct":
        pp = abs(delta) * 100
        thr = PREVALENCE_PP if name.startswith("prevalence") else SHARE_PP
        return None if pp < thr else ("share", pp / thr, {"pp": pp})
    if kind == "float3":
        a = abs(delta)
        return None if a < COEFF_ABS else ("coef", a / COEFF_ABS, {"a": a})
    if relative is None or abs(relative) < REL:
        return None
    return "rel", abs(relative) / REL, {"r": abs(relative) * 100}


def _metric_change(name: str, pd: ProjectData, phrase: tuple[str, str]) -> Change | None:
    """A sentence only for a change its test calls significant at the report's level, with
    at least ``min_n`` observations behind both values, and large enough to be notable."""
    found = _significant_delta(name, pd)
    if found is None:
        return None
    d, test = found
    assert d.delta is not None
    kind = unit_kind(d.current.unit)
    notable = _notable(name, kind, d.delta, d.relative)
    if notable is None:
        return None
    shape, score, fields = notable
    cur, prev = d.current.value, d.previous.value
    ko_n, en_n = _short(metric_name(name, "ko")), _short(metric_name(name, "en"))
    vals_ko = f"({fmt(prev, kind, 'ko')} → {fmt(cur, kind, 'ko')}{_evidence(test, 'ko')})"
    vals_en = f"({fmt(prev, kind, 'en')} → {fmt(cur, kind, 'en')}{_evidence(test, 'en')})"
    key = f"report.narr.{shape}_{'up' if d.delta > 0 else 'down'}"
    return Change(name, score,
                  tr("ko", key, name=ko_n, josa=josa(ko_n, "이", "가"), prev=phrase[0],
                     vals=vals_ko, **fields),
                  tr("en", key, name=en_n, prev=phrase[1], vals=vals_en, **fields))


def _label_changes(pd: ProjectData, phrase: tuple[str, str]) -> list[Change]:
    if pd.previous_series is None:
        return []
    hours = (pd.hours(pd.current), pd.hours(pd.previous)) if pd.previous else (0.0, 0.0)
    cur = {k: sum(v) for k, v in pd.series.counts.items()}
    prev = {k: sum(v) for k, v in pd.previous_series.counts.items()}
    out = []
    for label in sorted(set(cur) | set(prev)):
        if label == "none":
            continue
        a, b = cur.get(label, 0), prev.get(label, 0)
        if max(a, b) < LABEL_MIN or b == 0 or a == b:
            continue
        rel = (a - b) / b
        if abs(rel) < LABEL_REL:
            continue
        # decisions per label are counts over the two periods' elapsed hours
        p = poisson_rate_p(a, hours[0], b, hours[1]) if min(hours) > 0 else 1.0
        if p >= pd.level:
            continue
        ptxt = f"p = {p:.3f}" if p >= 0.001 else "p < 0.001"
        ko_n, en_n = pd.label_names.get(label, (label, label))
        key = f"report.narr.label_{'up' if rel > 0 else 'down'}"
        nums = {"r": abs(rel) * 100, "a": a, "b": b, "p": ptxt}
        out.append(Change(f"label:{label}", abs(rel) / LABEL_REL,
                          tr("ko", key, label=ko_n, prev=phrase[0], **nums),
                          tr("en", key, label=en_n, prev=phrase[1], **nums)))
    return sorted(out, key=lambda c: (-c.score, c.metric))[:2]


def _target_misses(pd: ProjectData, lang: Lang) -> list[str]:
    out = []
    for name in NARRATIVE_METRICS:
        tg = pd.targets.get(name)
        m = pd.current.metrics.get(name)
        if tg is None or m is None or tg.status_of(m, pd.min_n) != "red":
            continue
        kind = unit_kind(m.unit)
        sign = "≥" if tg.direction == "min" else "≤"
        goal = f"{sign} {fmt(tg.green, kind, lang)}"
        v = fmt(m.value, kind, lang)
        out.append(tr(lang, "report.narr.target_miss", name=_short(metric_name(name, lang)),
                      value=v, josa=josa(v, "은", "는"), goal=goal))
    return out


def _alerts(pd: ProjectData, lang: Lang) -> list[str]:
    if not pd.alerts:
        return []
    crit = sum(a.severity == "critical" for a in pd.alerts)
    n = len(pd.alerts)
    extra = tr(lang, "report.narr.alerts_critical", n=crit) if crit else ""
    key = "report.narr.alerts_one" if n == 1 else "report.narr.alerts_many"
    return [tr(lang, key, n=n, kinds=", ".join(_alert_kinds(pd, lang)), extra=extra)]


def _alert_kinds(pd: ProjectData, lang: Lang) -> list[str]:
    counts: dict[str, int] = {}
    for a in pd.alerts:
        counts[a.rule] = counts.get(a.rule, 0) + 1
    return [tr(lang, "report.narr.kind_count", rule=term(RULES, r, lang), n=c)
            for r, c in sorted(counts.items())]


MAX_INCIDENTS = 3


def _incident_numbers(i: Incident, lang: Lang) -> str:
    """", 최고 40 (예상 8.5), 영향 항목 120건, 확인: minji": the parts an incident has."""
    ko = lang == "ko"
    peak = ""
    if i.peak is not None:
        peak = f", 최고 {i.peak:,.0f}" if ko else f", peak {i.peak:,.0f}"
        if i.expected:
            peak += f" (예상 {i.expected:,.1f})" if ko else f" (expected {i.expected:,.1f})"
    hit = "" if i.affected_items is None else (
        f", 영향 항목 {i.affected_items:,}건" if ko else f", {i.affected_items:,} items affected")
    ack = "" if not i.acknowledged_by else (
        f", 확인: {i.acknowledged_by}" if ko else f", acknowledged by {i.acknowledged_by}")
    return peak + hit + ack


def _incident_sentence(i: Incident, lang: Lang, pd: ProjectData) -> str:
    from .content import incident_name, kst

    name = incident_name(i, lang, pd)
    end = kst(i.end) if i.end else ("진행 중" if lang == "ko" else "ongoing")
    lead = "인시던트" if lang == "ko" else "Incident"
    return f"{lead}: {name} — {kst(i.start)}–{end} KST{_incident_numbers(i, lang)}."


def _incidents(pd: ProjectData, lang: Lang) -> list[str]:
    """One sentence per incident of the period (critical first): what, when (KST), its peak
    against the expected value, the items it touched, who took it."""
    out = [_incident_sentence(i, lang, pd) for i in pd.incidents[:MAX_INCIDENTS]]
    if len(pd.incidents) > MAX_INCIDENTS:
        more = len(pd.incidents) - MAX_INCIDENTS
        out.append(f"그 밖의 인시던트 {more}건은 인시던트 절을 보십시오." if lang == "ko"
                   else f"{more} more incident{'s' if more != 1 else ''}: see Incidents.")
    return out


def narrative(pd: ProjectData, lang: Lang, phrase: tuple[str, str]) -> list[str]:
    """Sentences for one project: incidents first, then the changes a test calls significant,
    target misses (only where n and the interval allow a status), labels, alerts."""
    changes = [c for n in NARRATIVE_METRICS if (c := _metric_change(n, pd, phrase))]
    changes = sorted(changes, key=Change.rank)[:MAX_CHANGES]
    out = _incidents(pd, lang)
    out += [c.sentence_ko if lang == "ko" else c.sentence_en for c in changes]
    out += [c.sentence_ko if lang == "ko" else c.sentence_en
            for c in _label_changes(pd, phrase)]
    out += _target_misses(pd, lang)
    out += _alerts(pd, lang)
    if not out and pd.comparison is not None:
        out.append(t("no_changes", lang, prev=phrase[0] if lang == "ko" else phrase[1]))
    return out
