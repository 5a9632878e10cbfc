"""Alerts: a spike day raises exactly the label spike and the keyword burst; a quiet day none."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from modops.analytics.alerts import (
    DEFAULT_RULES,
    evaluate_alerts,
    ewma_baseline,
    korean_nouns,
    rules_for,
)
from modops.quality import wilson_interval
from modops.store import session_scope
from modops.store.models import Annotation, Decision, Item, Product, Project, Task, User

NOW = datetime(2026, 11, 20, 12)
BACKGROUND = ["오늘 경기 진짜 최고였다", "이 영상 너무 웃기다", "배우 연기 정말 좋네요",
              "노래 가사가 마음에 든다", "댓글 보러 왔습니다", "편집 실력 좋다"]
DAILY = {"harassment": 10, "profanity": 8, "none": 30}  # 48 items a day


def seed(engine: Engine, spike: bool) -> None:
    """15 trailing 24 h windows of identical traffic; on a spike day window 0 gets 20 more
    harassment comments, 15 of them about the same actress (설인아)."""
    with session_scope(engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == "kr-comments"))
        product = s.scalar(select(Product.id).where(Product.key == "comment"))
        n = 0

        def add(at: datetime, label: str, text: str) -> None:
            nonlocal n
            n += 1
            it = Item(project_id=pid, external_id=f"x{n}", product_id=product, comment=text,
                      created_at=at, ingested_at=at, due_at=at + timedelta(hours=24),
                      state="decided", route="human", machine_score=0.9 if label != "none"
                      else 0.1, final_labels=[label],
                      final_action="no_action" if label == "none" else "remove",
                      decided_at=at + timedelta(minutes=1))
            s.add(it)
            s.flush()
            s.add(Decision(project_id=pid, item_id=it.id, labels=[label],
                           action=it.final_action, source="labelers",
                           decided_at=it.decided_at, current=True, views_at_decision=0))

        for k in range(15):
            start = NOW - timedelta(days=k + 1)
            i = 0
            for label, count in DAILY.items():
                for _ in range(count):
                    add(start + timedelta(minutes=20 * i + 5), label,
                        BACKGROUND[i % len(BACKGROUND)])
                    i += 1
        if spike:
            start = NOW - timedelta(days=1)
            texts = (["설인아 경찰 파면 위기 충격"] * 8 + ["설인아 드라마 하차 소식"] * 7
                     + BACKGROUND[:5])
            for j, t in enumerate(texts):
                add(start + timedelta(minutes=30 * j + 7), "harassment", t)


def test_quiet_day_raises_nothing(engine: Engine, project: str) -> None:
    seed(engine, spike=False)
    assert evaluate_alerts(engine, project, NOW) == []


def test_spike_day_raises_exactly_the_spike_and_the_burst(engine: Engine, project: str) -> None:
    seed(engine, spike=True)
    alerts = evaluate_alerts(engine, project, NOW)
    assert sorted((a.rule, a.subject) for a in alerts) == [("keyword_burst", "설인아"),
                                                           ("label_spike", "harassment")]
    spike = next(a for a in alerts if a.rule == "label_spike")
    # 10 a day for 14 days: EWMA 10, sd floored at √10 (Poisson);
    # threshold = max(10 + 3·√10, 2 × 10, 10) = 20; today 10 + 20 = 30
    assert spike.observed == 30
    assert spike.expected == pytest.approx(10)
    assert spike.threshold == pytest.approx(max(10 + 3 * math.sqrt(10), 20))
    assert spike.stats["z"] == pytest.approx((30 - 10) / math.sqrt(10))
    # rendered from the translation catalogue in both languages (z = 20/√10 = 6.32)
    assert spike.message_ko == ("'harassment' 판정 급증: 최근 24시간 30건, 예상 10.0건 "
                                "(14일 EWMA, z = 6.3, 임계값 20.0).")
    assert spike.message_en == ("'harassment' decisions spiked: 30 in the last 24 h vs 10.0 "
                                "expected (EWMA of 14 days, z = 6.3; threshold 20.0).")
    burst = next(a for a in alerts if a.rule == "keyword_burst")
    # 68 texts today (48 + 20), 15 name the actress; baseline 7 days × 48 = 336 texts,
    # none with the name: add-one rate 1/337, expected 68/337, lift 15/68 ÷ 1/337 = 74.3.
    # The bound: Wilson 95% low of 15/68 (0.1386) over Wilson high of 0/336 (0.01130)
    assert burst.observed == 15
    assert burst.expected == pytest.approx(68 / 337)
    assert burst.stats["lift"] == pytest.approx((15 / 68) * 337)
    assert burst.stats["lift_low"] == pytest.approx(
        wilson_interval(15, 68)[0] / wilson_interval(0, 336)[1])
    assert 12.2 < burst.stats["lift_low"] < 12.3
    # the threshold is in texts: 6 of 68 is the fewest whose low bound (0.041) reaches
    # 3 × 0.01130 = 0.0339 (5 of 68 gives 0.0318)
    assert burst.threshold == 6
    assert burst.stats["texts"] == 68 and burst.stats["baseline_texts"] == 7 * 48
    # the story's other new nouns are folded into the same alert, not raised separately
    assert {"경찰", "파면", "드라마"} <= set(burst.stats["related"])
    assert burst.message_ko.startswith("키워드 '설인아' (함께: ")  # the nested part in Korean
    assert burst.message_en.startswith("Keyword '설인아' (with ")
    assert "alert." not in burst.message_ko + burst.message_en  # no raw catalogue key


def test_backlog_alerts(engine: Engine, project: str) -> None:
    with session_scope(engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == project))
        product = s.scalar(select(Product.id).where(Product.key == "comment"))
        at = NOW - timedelta(hours=30)
        it = Item(project_id=pid, external_id="late", product_id=product, created_at=at,
                  ingested_at=at, due_at=at + timedelta(hours=24), state="queued",
                  route="human")
        s.add(it)
        s.flush()
        for slot in range(3):
            s.add(Task(project_id=pid, item_id=it.id, kind="label", state="open", slot=slot,
                       created_at=at))
    alerts = {a.rule: a for a in evaluate_alerts(engine, project, NOW)}
    assert set(alerts) == {"backlog_past_sla", "backlog_forecast_breach"}
    past = alerts["backlog_past_sla"]
    assert (past.observed, past.threshold) == (1, 0)
    assert past.stats["worst_overdue_h"] == pytest.approx(6)
    forecast = alerts["backlog_forecast_breach"]
    assert math.isinf(forecast.observed)  # nothing done in the last 24 h
    assert forecast.threshold == 24


def test_gold_drop_and_drift(engine: Engine, project: str) -> None:
    with session_scope(engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == project))
        product = s.scalar(select(Product.id).where(Product.key == "comment"))
        u = User(username="g1", role="labeler", created_at=NOW)
        s.add(u)
        s.flush()
        n = 0
        for k, (gold_ok, disagree) in enumerate([(12, 15)] + [(38, 3)] * 7):
            start = NOW - timedelta(days=k + 1)
            for j in range(40):  # 40 gold answers and 40 human decisions a day
                n += 1
                at = start + timedelta(minutes=30 * j + 1)
                wrong = j < disagree
                it = Item(project_id=pid, external_id=f"d{n}", product_id=product,
                          created_at=at, ingested_at=at, state="decided", route="human",
                          machine_score=0.9 if wrong else 0.1, final_labels=["none"],
                          final_action="no_action", decided_at=at, is_gold=True)
                s.add(it)
                s.flush()
                s.add(Decision(project_id=pid, item_id=it.id, labels=["none"],
                               action="no_action", source="labelers", decided_at=at))
                s.add(Annotation(project_id=pid, item_id=it.id, labeler_id=u.id,
                                 kind="gold", labels=["none"], submitted_at=at,
                                 correct=j < gold_ok))
    rules = rules_for({"alerts": {"label_spike": {"enabled": False},
                                  "keyword_burst": {"enabled": False}}})
    alerts = {a.rule: a for a in evaluate_alerts(engine, project, NOW, rules)}
    assert set(alerts) == {"gold_accuracy_drop", "model_drift"}
    gold = alerts["gold_accuracy_drop"]
    # today 12/40 = 30% vs 7 × 38 / (7 × 40) = 95%; threshold 95% − 5 points
    assert gold.observed == pytest.approx(12 / 40)
    assert gold.expected == pytest.approx(38 / 40)
    assert gold.threshold == pytest.approx(0.95 - 0.05)
    drift = alerts["model_drift"]
    # disagreement today 15/40 vs 3/40 before; threshold + 10 points
    assert drift.observed == pytest.approx(15 / 40)
    assert drift.expected == pytest.approx(3 / 40)
    assert drift.threshold == pytest.approx(3 / 40 + 0.10)


def test_rule_overrides_and_ewma() -> None:
    r = rules_for({"alerts": {"label_spike": {"z": 5}}})
    assert r["label_spike"]["z"] == 5
    assert r["label_spike"]["ratio"] == DEFAULT_RULES["label_spike"]["ratio"]
    mean, sd = ewma_baseline([10, 10, 10], 0.3)
    assert (mean, sd) == (10, math.sqrt(10))


def test_korean_nouns_analyses_repeated_texts_once_with_the_same_result() -> None:
    """Deduplicating texts before Kiwi must not change any text's noun set."""
    texts = ["서울 지하철 파업 소식", "오늘 경기 진짜 최고였다", "서울 지하철 파업 소식"]
    each = [korean_nouns([t])[0] for t in texts]
    together = korean_nouns(texts)
    assert together == each
    together[0].add("mutated")  # callers get their own sets
    assert "mutated" not in together[2]


def test_window_texts_sample_every_window_as_its_own_query_would(engine: Engine,
                                                                 project: str) -> None:
    """The one-pass sampler keeps, per 24 h window, the ids divisible by ceil(n / cap)."""
    from modops.analytics._sql import Scope
    from modops.analytics.alerts import _Ctx, _windows_texts
    from modops.analytics.period import Filters

    seed(engine, spike=True)
    cap, windows = 10, 8
    with engine.connect() as conn:
        ctx = _Ctx(conn, Scope.resolve(conn, Filters(project=project)), project, NOW, 1440)
        got = _windows_texts(ctx, windows, cap)
    with session_scope(engine) as s:
        for k in range(windows):
            start, end = NOW - timedelta(days=k + 1), NOW - timedelta(days=k)
            rows = s.execute(select(Item.id, Item.comment).where(
                Item.ingested_at >= start, Item.ingested_at < end)).all()
            step = math.ceil(len(rows) / cap)
            want = sorted(f"  {c}  " for i, c in rows if i % step == 0)
            assert sorted(got[k]) == want, k
            assert 0 < len(got[k]) <= cap
