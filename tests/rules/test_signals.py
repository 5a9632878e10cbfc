"""The signal registry: built-ins are typed, documented and read the facts routing gives them;
other modules add signals and fact loaders without touching the engine."""

from __future__ import annotations

from datetime import datetime

import pytest

from modops.rules import signals as reg
from modops.rules.signals import SignalType, get_signal, register_family, register_signal

NOW = datetime(2026, 12, 1, 12, 0)
FACTS = {
    "id": 1, "product": "comment", "score": 0.91, "views": 1200, "reported": True,
    "reported_at": datetime(2026, 12, 1, 9, 0), "created_at": datetime(2026, 12, 1, 6, 0),
    "ingested_at": NOW, "now": NOW, "metadata": {"author_region": "KR", "report_count": 4},
    "language": "ko", "route": "auto_action",
    "detail": {"severity": {"hate": 0.2, "offensive": 0.7}, "profanity": 0.4,
               "policies": {"illegal_goods.gambling": 0.8, "profanity": 0.4},
               "evidence": {"illegal_goods.gambling": {"source": "bank", "name": "toto"},
                            "profanity": {"source": "head", "name": "profanity"}}},
    "clusters": {"text": 12, "media": 3}, "hash_banks": frozenset({"csam-ref"}),
}


@pytest.mark.parametrize(("name", "value"), [
    ("score", 0.91), ("head.offensive", 0.7), ("head.profanity", 0.4),
    ("policy.illegal_goods.gambling", 0.8), ("policy.sexual", None),
    ("banks_fired", frozenset({"illegal_goods.gambling"})),
    ("bank_patterns", frozenset({"toto"})), ("bank_score", 0.8),
    ("reported", True), ("report_count", 4), ("report_age_hours", 3.0),
    ("product", "comment"), ("region", "KR"), ("views", 1200), ("age_hours", 6.0),
    ("meta.author_region", "KR"), ("machine_route", "auto_action"),
    ("dup_cluster_size", 12), ("text_cluster_size", 12), ("media_cluster_size", 3),
    ("hash_match", True), ("hash_banks", frozenset({"csam-ref"})), ("trivial", False),
])
def test_builtin_signals_read_the_facts(name: str, value: object) -> None:
    assert get_signal(name).extract(FACTS) == value


def test_every_signal_is_typed_and_documented() -> None:
    sigs = reg.all_signals()
    assert len(sigs) >= 20
    for s in sigs + [f.signal("x") for f in reg.all_families()]:
        assert isinstance(s.type, SignalType)
        assert s.unit and len(s.doc) > 15, s.name
        for fact in s.facts:
            assert fact in reg.CORE_FACTS or fact in reg.fact_sources(), (s.name, fact)


def test_unknown_signal() -> None:
    with pytest.raises(reg.UnknownSignal):
        get_signal("no_such_signal")


def test_another_module_registers_signals_and_families() -> None:
    register_signal("test_account_age_days", SignalType.NUMBER, "days",
                    "Days since the author's account was created (test).",
                    lambda f: (f.get("author") or {}).get("age"), source="account",
                    facts=("author",))
    register_family("test_acct.", SignalType.INT, "count", "A test family of counts.",
                    lambda key: lambda f: (f.get("author") or {}).get(key), source="account")
    try:
        assert get_signal("test_account_age_days").extract({"author": {"age": 3}}) == 3
        assert get_signal("test_acct.strikes").extract({"author": {"strikes": 2}}) == 2
        with pytest.raises(ValueError, match="already registered"):
            register_signal("test_account_age_days", SignalType.NUMBER, "days", "other doc",
                            lambda f: None)
    finally:
        reg._SIGNALS.pop("test_account_age_days")
        reg._FAMILIES.pop("test_acct.")
