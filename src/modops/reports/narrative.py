"""The "notable changes" paragraph, written from the numbers by fixed templates.

Every sentence fills a template with values from the analytics module (metric values, deltas,
label volumes, alert counts); nothing is paraphrased or invented. Changes are ranked by how far
they exceed a per-unit threshold (percentage points for shares, relative change for counts and
rates, absolute change for coefficients), ties broken by metric name, so the paragraph is
deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from .data import ProjectData
from .i18n import PREV_PHRASE, Lang, fmt, josa, metric_name, pick, unit_kind

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
        return compare_label, f"versus {compare_label}"
    return PREV_PHRASE.get(pd_kind, PREV_PHRASE["custom"])


def _metric_change(name: str, pd: ProjectData, phrase: tuple[str, str]) -> Change | None:
    if pd.comparison is None or name not in pd.comparison.deltas:
        return None
    d = pd.comparison.deltas[name]
    cur, prev = d.current.value, d.previous.value
    if cur is None or prev is None or d.delta is None or d.delta == 0:
        return None
    kind = unit_kind(d.current.unit)
    up = d.delta > 0
    ko_n, en_n = _short(metric_name(name, "ko")), _short(metric_name(name, "en"))
    subj = f"{ko_n}{josa(ko_n, '이', '가')}"
    vals_ko = f"({fmt(prev, kind, 'ko')} → {fmt(cur, kind, 'ko')})"
    vals_en = f"({fmt(prev, kind, 'en')} → {fmt(cur, kind, 'en')})"
    if kind == "pct":
        pp = abs(d.delta) * 100
        thr = PREVALENCE_PP if name.startswith("prevalence") else SHARE_PP
        if pp < thr:
            return None
        ko = (f"{subj} {phrase[0]} 대비 {pp:.1f}%p {'상승' if up else '하락'}했습니다 "
              f"{vals_ko}.")
        en = f"{en_n} {'rose' if up else 'fell'} {pp:.1f} pt {phrase[1]} {vals_en}."
        return Change(name, pp / thr, ko, en)
    if kind == "float3":
        a = abs(d.delta)
        if a < COEFF_ABS:
            return None
        ko = f"{subj} {phrase[0]} 대비 {a:.3f} {'상승' if up else '하락'}했습니다 {vals_ko}."
        en = f"{en_n} {'rose' if up else 'fell'} {a:.3f} {phrase[1]} {vals_en}."
        return Change(name, a / COEFF_ABS, ko, en)
    if d.relative is None or abs(d.relative) < REL:
        return None
    r = abs(d.relative) * 100
    ko = f"{subj} {phrase[0]} 대비 {r:.1f}% {'증가' if up else '감소'}했습니다 {vals_ko}."
    en = f"{en_n} {'increased' if up else 'decreased'} {r:.1f}% {phrase[1]} {vals_en}."
    return Change(name, abs(d.relative) / REL, ko, en)


def _label_changes(pd: ProjectData, phrase: tuple[str, str]) -> list[Change]:
    if pd.previous_series is None:
        return []
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
        ko_n, en_n = pd.label_names.get(label, (label, label))
        up = rel > 0
        ko = (f"'{ko_n}' 결정 건수가 {phrase[0]} 대비 {abs(rel) * 100:.1f}% "
              f"{'증가' if up else '감소'}했습니다 ({b:,}건 → {a:,}건).")
        en = (f"{en_n} decisions {'increased' if up else 'decreased'} {abs(rel) * 100:.1f}% "
              f"{phrase[1]} ({b:,} → {a:,}).")
        out.append(Change(f"label:{label}", abs(rel) / LABEL_REL, ko, en))
    return sorted(out, key=lambda c: (-c.score, c.metric))[:2]


def _target_misses(pd: ProjectData, lang: Lang) -> list[str]:
    out = []
    for name in NARRATIVE_METRICS:
        tg = pd.targets.get(name)
        m = pd.current.metrics.get(name)
        if tg is None or m is None or tg.status(m.value) != "red":
            continue
        kind = unit_kind(m.unit)
        sign = "≥" if tg.direction == "min" else "≤"
        goal = f"{sign} {fmt(tg.green, kind, lang)}"
        if lang == "ko":
            v = fmt(m.value, kind, lang)
            out.append(f"{_short(metric_name(name, 'ko'))} {v}{josa(v, '은', '는')} "
                       f"목표({goal})에 미달합니다.")
        else:
            out.append(f"{_short(metric_name(name, 'en'))} at {fmt(m.value, kind, lang)} "
                       f"misses its target ({goal}).")
    return out


def _alerts(pd: ProjectData, lang: Lang) -> list[str]:
    if not pd.alerts:
        return []
    crit = sum(a.severity == "critical" for a in pd.alerts)
    n = len(pd.alerts)
    if lang == "ko":
        extra = f", 심각 {crit}건" if crit else ""
        return [f"기준 시각에 경보 {n}건이 발생 중입니다 ({', '.join(_alert_kinds(pd, lang))}"
                f"{extra})."]
    extra = f"; {crit} critical" if crit else ""
    return [f"{n} alert{'s' if n != 1 else ''} standing at the as-of time "
            f"({', '.join(_alert_kinds(pd, lang))}{extra})."]


def _alert_kinds(pd: ProjectData, lang: Lang) -> list[str]:
    from .i18n import RULES

    counts: dict[str, int] = {}
    for a in pd.alerts:
        counts[a.rule] = counts.get(a.rule, 0) + 1
    unit = "건" if lang == "ko" else ""
    return [f"{pick(RULES.get(r, (r, r)), lang)} {c}{unit}" for r, c in sorted(counts.items())]


def narrative(pd: ProjectData, lang: Lang, phrase: tuple[str, str]) -> list[str]:
    """Sentences for one project: the biggest changes, target misses, labels, alerts."""
    changes = [c for n in NARRATIVE_METRICS if (c := _metric_change(n, pd, phrase))]
    changes = sorted(changes, key=Change.rank)[:MAX_CHANGES]
    out = [c.sentence_ko if lang == "ko" else c.sentence_en for c in changes]
    out += [c.sentence_ko if lang == "ko" else c.sentence_en
            for c in _label_changes(pd, phrase)]
    out += _target_misses(pd, lang)
    out += _alerts(pd, lang)
    if not out and pd.comparison is not None:
        out.append(f"{phrase[0]} 대비 주목할 만한 변화가 없습니다." if lang == "ko"
                   else f"No notable changes {phrase[1]}.")
    return out
