"""Keyword bursts (issue 19): lift over a rolling baseline, with a confidence bound,
minimum-support and document-frequency guards. The planted spike fires; common words
("한국", "아들") whose share of the day rises do not — on a seeded project and on the demo
world's own stream of BEEP! comments."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import Engine, select
from tests.analytics.test_alerts import NOW, seed

from modops.analytics.alerts import DEFAULT_RULES, evaluate_alerts, find_bursts, korean_nouns
from modops.simulate.demo import beep_unlabeled
from modops.simulate.scenario import SPIKE_TERMS
from modops.store import session_scope
from modops.store.models import Item, Product, Project

RULE = DEFAULT_RULES["keyword_burst"]


def _add_common_words(engine: Engine) -> None:
    """Baseline: "한국" in 4 of each day's texts (8 %, above the 5 % document-frequency guard)
    and "아들" in 1; today: 14 and 8 of them — 아들's raw lift is 5×, but on 8 texts."""
    with session_scope(engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == "kr-comments"))
        product = s.scalar(select(Product.id).where(Product.key == "comment"))
        plan = [(k, "한국 경기 응원합니다", 4) for k in range(1, 8)] + \
               [(k, "아들 생일 축하해요", 1) for k in range(1, 8)] + \
               [(0, "한국 경기 응원합니다", 14), (0, "아들 생일 축하해요", 8)]
        n = 0
        for k, text, count in plan:
            for j in range(count):
                n += 1
                at = NOW - timedelta(days=k, hours=1, minutes=3 * j)
                s.add(Item(project_id=pid, external_id=f"w{n}", product_id=product,
                           comment=text, created_at=at, ingested_at=at, state="queued",
                           route="human", due_at=at + timedelta(hours=24)))


def test_spike_fires_and_common_words_do_not(engine: Engine, project: str) -> None:
    seed(engine, spike=True)
    _add_common_words(engine)
    bursts = [a for a in evaluate_alerts(engine, project, NOW) if a.rule == "keyword_burst"]
    assert [a.subject for a in bursts] == ["설인아"]
    assert not {"한국", "아들", "경기", "생일"} & set(bursts[0].stats["related"])


def test_guards_each_stop_a_common_word() -> None:
    """Each guard on its own: 30 % of the baseline is background (document frequency);
    4 texts are too little support; a 2× lift of a 1 % word fails the bound."""
    baseline = [{"한국"}] * 300 + [{"아들"}] * 10 + [set()] * 690
    today = [{"한국"}] * 90 + [{"아들"}] * 4 + [{"설인아"}] * 20 + [set()] * 86
    assert [b.term for b in find_bursts(today, baseline, RULE)] == ["설인아"]
    # without the document-frequency guard 한국 (30 % → 45 %) is still no burst (lift 1.5)
    assert [b.term for b in find_bursts(today, baseline, {**RULE, "max_baseline_df": 1.0})] \
        == ["설인아"]
    # and without minimum support 4 texts of 아들 still fail the bound
    loose = {**RULE, "min_docs": 1, "min_share": 0.0}
    assert [b.term for b in find_bursts(today, baseline, loose)] == ["설인아"]


def _demo_days(days: int, per_day: int, spike_day: int) -> list[list[str]]:
    """Days of the demo world's comment stream (simulate.stream): BEEP! comments with their
    news titles in a seeded shuffle, the scandal's comments held back for the spike day."""
    rng = random.Random(9)
    pairs = beep_unlabeled()
    spike = [p for p in pairs if any(t in p[1] for t in SPIKE_TERMS)]
    normal = [p for p in pairs if not any(t in p[1] for t in SPIKE_TERMS)]
    rng.shuffle(normal)
    out, cursor = [], 0
    for _ in range(days):
        n = round(per_day * rng.uniform(0.85, 1.15))
        out.append([f"{t} {c}" for c, t in normal[cursor:cursor + n]])
        cursor += n
    out[spike_day] += [f"{t} {c}" for c, t in spike[: round(per_day * 0.8)]]
    return out


def test_demo_stream_spike_fires_and_quiet_days_do_not() -> None:
    """15 days of the demo's stream at its 125 comments a day: each of the 8 days after a
    7-day baseline is evaluated; only the spike day raises, with the scandal's terms. (The
    former binomial-z rule raised 18 terms on 22 quiet days of a 30-day stream, "한국" among
    them.)"""
    days = _demo_days(15, 125, spike_day=11)
    tags, min_chars = tuple(RULE["tags"]), int(RULE["min_chars"])
    docs = [korean_nouns(texts, tags, min_chars) for texts in days]
    raised = {}
    for k in range(7, 15):
        baseline = [terms for day in docs[k - 7:k] for terms in day]
        raised[k] = [b.term for b in find_bursts(docs[k], baseline, RULE)]
    assert {k: terms for k, terms in raised.items() if terms}.keys() == {11}
    assert {"프로포폴", "투약"} <= set(raised[11][:5])
