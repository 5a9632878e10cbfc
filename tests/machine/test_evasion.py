"""The shipped evasion and look-alike set: regenerable, complete, and what each trick does."""

from __future__ import annotations

from modops.machine import evasion
from modops.machine.normalise import normalise

# tricks the normaliser undoes exactly (the others are left to the model's jamo and initials
# views, or to the banks' patterns)
UNDONE = {"digit", "latin", "symbol", "compat_jamo", "nfd", "elongation", "zero_width",
          "emoji", "half_width", "full_width", "qwerty", "romanised"}


def test_shipped_file_is_what_the_generator_builds() -> None:
    assert evasion.load() == evasion.build()


def test_every_trick_and_lookalike_is_there() -> None:
    rows = evasion.load()
    ev = [r for r in rows if r["kind"] == "evasion"]
    assert {r["trick"] for r in ev} == set(evasion.TRICKS)
    assert len({r["original"] for r in ev}) >= 50
    assert all(r["text"] != r["original"] for r in ev)
    lk = [r for r in rows if r["kind"] == "lookalike"]
    assert {r["lookalike"] for r in lk} >= {"시발점", "시발역", "병신년", "새끼손가락",
                                            "새끼 고양이", "한남대교", "수박씨 발라먹기",
                                            "죽어라 공부", "십팔번"}
    assert all(r["control"] and r["control"] != r["text"] for r in lk)


def test_the_normaliser_undoes_its_tricks_on_the_set() -> None:
    for r in evasion.load():
        if r["kind"] == "evasion" and r["trick"] in UNDONE:
            assert r["word"] in normalise(r["text"]), r


def test_detector_scoring() -> None:
    rows = [{"kind": "evasion", "trick": t, "word": "씨발", "original": "씨발 진짜",
             "text": "x"} for t in evasion.TRICKS]
    rows.append({"kind": "lookalike", "lookalike": "시발점", "text": "a", "control": "b"})
    rep = evasion.evaluate(lambda texts: [t in ("씨발 진짜", "a") for t in texts], rows)
    assert rep.retention == dict.fromkeys(evasion.TRICKS, 0.0)
    assert (rep.lookalike_fp_rate, rep.control_fp_rate) == (1.0, 0.0)
