"""The one translation catalogue: both languages for every key, the same fields in both, every
key the code uses present, and one word per concept (the glossary)."""

from __future__ import annotations

import re
import string
from pathlib import Path

from modops.analytics.catalogue import METRICS
from modops.i18n import GLOSSARY, TEXT, Msg, tr

SRC = Path(__file__).resolve().parents[2] / "src" / "modops"


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


KOREAN_ONLY = {"josa"}  # the particle after a word (이/가, 은/는): Korean grammar only


def test_every_key_in_both_languages_with_the_same_fields() -> None:
    for key, texts in TEXT.items():
        assert len(texts) == 2, key
        ko, en = texts
        assert ko and en, key
        assert _fields(ko) - KOREAN_ONLY == _fields(en), key


def test_korean_is_korean() -> None:
    """A Korean entry that is not Hangul is an untranslated copy, except names, codes and
    symbols that read the same in both languages."""
    same = {k for k, (ko, en) in TEXT.items() if ko == en}
    assert same <= {"app", "webhooks.url", "dash.json", "report.no_target",
                    "report.prev.named", "manage.sla_detail"} | {
        k for k in same if not re.search("[A-Za-z]{3}", TEXT[k][1])}, same
    hangul = sum(bool(re.search("[가-힣]", ko)) for ko, _ in TEXT.values())
    assert hangul >= 0.95 * len(TEXT)


def _used_keys() -> set[str]:
    """Every literal key the code and templates ask for."""
    used: set[str] = set()
    for path in SRC.rglob("*.html"):
        used |= set(re.findall(r'\bt\("([a-z_0-9.]+)"', path.read_text()))
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r'\b(?:tr\([a-z_"]+, |msg\(|both\(|pair\(|Msg\()"([a-z_0-9.]+)"',
                               text))
        used |= set(re.findall(r'\btranslate\([a-z_]+, "([a-z_0-9.]+)"', text))
        if path.parent.name == "reports":
            used |= {f"report.{k}" for k in re.findall(r'\bt\("([a-z_0-9]+)", ', text)}
    return {k for k in used if not k.endswith(".")}


def test_every_key_the_code_uses_exists() -> None:
    used = _used_keys()
    assert len(used) > 150  # the scan finds the templates, reports and alerts
    assert {"alert.msg.label_spike", "report.sec_alerts", "dash.alerts_evaluate"} <= used
    missing = used - set(TEXT)
    assert not missing, missing


def test_one_word_per_concept() -> None:
    """The glossary's words, never their variants, in the UI, the reports, the alerts and the
    metric names and definitions."""
    korean = [ko for ko, _ in TEXT.values()]
    korean += [m.name_ko for m in METRICS] + [m.definition_ko for m in METRICS]
    for english, word, variants in GLOSSARY:
        assert any(word in k for k in korean), (english, word)
        for v in variants:
            bad = [k for k in korean if v in k]
            assert not bad, (english, v, bad)


def test_messages_render_nested_parts_in_the_same_language() -> None:
    m = Msg("alert.msg.backlog_forecast_breach",
            {"open": 12, "shown": Msg("alert.part.never", {}), "recent_h": 24, "rate": 0.0,
             "limit": 2.0})
    assert m.render("ko") == ("대기 작업 12건: 최근 24시간 처리량(0.0건/시간) 기준 소진까지 "
                              "불가 (최근 처리량 없음), SLA 2.0시간 초과 예상.")
    assert m.render("en") == ("Backlog of 12 tasks clears in never (no recent throughput) at "
                              "the last 24 h throughput (0.0/h), beyond the 2.0 h SLA.")
    assert tr("ko", "no.such.key") == "no.such.key"
