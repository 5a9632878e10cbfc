"""Rule files and the engine: FILE:LINE errors, conditions, shadow mode, conflict resolution."""

from __future__ import annotations

from datetime import datetime

import pytest

from modops.rules.engine import LIVE, SHADOW, RuleRef, RuleSet
from modops.rules.spec import RuleFileError, parse_rules

NOW = datetime(2026, 12, 1, 12, 0)


def facts(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"id": 1, "product": "comment", "score": 0.5, "views": 10,
                               "reported": False, "now": NOW, "ingested_at": NOW,
                               "metadata": None, "route": "human", "detail": {}}
    base.update(kw)
    return base


RULES = """\
rules:
  - id: gambling-remove
    owner: minji
    priority: 5
    when:
      all:
        - reported: true
        - policy.illegal_goods.gambling: {gte: 0.6}
        - any:
            - banks_fired: {contains: illegal_goods.gambling}
            - text: {pattern: "토토|먹튀"}
        - not: {product: {in: [ad]}}
    then:
      - auto_action: {label: illegal_goods.gambling, enforcement: remove}
      - notify: {channel: ops}
  - id: viral-escalate
    owner: jisu
    priority: 9
    when: {views: {gte: 100000}}
    then: {escalate: {skill: senior, priority: 2}}
  - id: reported-hold
    owner: jisu
    priority: 1
    when: {reported: true}
    then: [{hold: {reason: reported}}, {label_hint: {label: spam}}]
"""


def ruleset(mode: str = LIVE, **modes: str) -> RuleSet:
    specs = parse_rules(RULES, "r.yaml")
    return RuleSet([RuleRef(s, 1, modes.get(s.key.replace("-", "_"), mode)) for s in specs],
                   NOW)


GAMBLING = {"policies": {"illegal_goods.gambling": 0.8},
            "evidence": {"illegal_goods.gambling": {"source": "bank", "name": "toto"}}}


def test_conditions_all_any_not_threshold_in_and_pattern() -> None:
    rs = ruleset()
    items = [
        facts(reported=True, detail=GAMBLING),  # bank fired
        facts(reported=True, detail={"policies": {"illegal_goods.gambling": 0.8}},
              text="사설 토토 가입"),  # pattern on text
        facts(reported=True, detail={"policies": {"illegal_goods.gambling": 0.8}},
              text="안녕하세요"),  # neither
        facts(reported=True, detail=GAMBLING, product="ad"),  # not in [ad]
        facts(reported=False, detail=GAMBLING),  # not reported
        facts(reported=True, detail={"policies": {"illegal_goods.gambling": 0.5},
                                     "evidence": GAMBLING["evidence"]}),  # below threshold
    ]
    ev = rs.evaluate_facts(items)
    assert [o.rule.spec.key if o.rule else None for o in map(ev.outcome, range(6))] == [
        "gambling-remove", "gambling-remove", "reported-hold", "reported-hold", None,
        "reported-hold"]


def test_conflicts_most_severe_wins_then_priority_then_id() -> None:
    rs = ruleset()
    # matches all three: auto_action (severity 50) beats escalate (40) despite priority 9
    o = rs.evaluate_facts([facts(reported=True, detail=GAMBLING, views=500_000)]).outcome(0)
    assert o.action is not None and o.action.kind == "auto_action"
    assert {h.spec.key for h in o.hits} == {"gambling-remove", "viral-escalate",
                                            "reported-hold"}
    assert o.notify == ["ops"] and o.hints == ["spam"]
    # escalate beats hold
    o = rs.evaluate_facts([facts(reported=True, views=500_000)]).outcome(0)
    assert o.action is not None and (o.action.kind, o.action.skill) == ("escalate", "senior")
    # equal severity: the higher priority wins, then the id
    two = parse_rules("""
rules:
  - {id: b-low, owner: a, priority: 1, when: {reported: true}, then: {route: {skill: x}}}
  - {id: a-high, owner: a, priority: 7, when: {reported: true}, then: {route: {skill: y}}}
  - {id: a-tie, owner: a, priority: 1, when: {reported: true}, then: {route: {skill: z}}}
""")
    o = RuleSet([RuleRef(s, 1, LIVE) for s in two]).evaluate_facts(
        [facts(reported=True)]).outcome(0)
    assert o.rule is not None and o.rule.spec.key == "a-high"
    o = RuleSet([RuleRef(s, 1, LIVE) for s in two if s.key != "a-high"]).evaluate_facts(
        [facts(reported=True)]).outcome(0)
    assert o.rule is not None and o.rule.spec.key == "a-tie"


def test_shadow_rules_are_recorded_and_act_on_nothing() -> None:
    rs = ruleset(SHADOW)
    o = rs.evaluate_facts([facts(reported=True, detail=GAMBLING, views=500_000)]).outcome(0)
    assert o.action is None and o.rule is None and o.hints == [] and o.notify == []
    assert len(o.hits) == 3 and {h.mode for h in o.hits} == {SHADOW}
    # a shadow rule never beats a live one, however severe
    rs = ruleset(LIVE, gambling_remove=SHADOW)
    o = rs.evaluate_facts([facts(reported=True, detail=GAMBLING)]).outcome(0)
    assert o.action is not None and o.action.kind == "hold"


def test_unknown_values_fail_tests_and_expired_rules_are_skipped() -> None:
    rs = RuleSet([RuleRef(s, 1, LIVE) for s in parse_rules("""
rules:
  - {id: s, owner: a, when: {score: {gte: 0.2}}, then: {hold: {}}}
  - {id: nos, owner: a, when: {score: {exists: false}}, then: {route: {skill: x}}}
  - {id: old, owner: a, expires: 2020-01-01, when: {views: {gte: 0}}, then: {hold: {}}}
""")], NOW)
    ev = rs.evaluate_facts([facts(score=None), facts(score=0.3)])
    assert [[h.spec.key for h in ev.outcome(i).hits] for i in range(2)] == [["nos"], ["s"]]


def test_ruleset_pickles_without_its_closures() -> None:
    import pickle

    rs = ruleset()
    rs.evaluate_facts([facts()])
    again = pickle.loads(pickle.dumps(rs))
    assert again.evaluate_facts([facts(reported=True)]).outcome(0).action is not None


BAD = """\
rules:
  - id: ok-rule
    owner: a
    when: {reported: true}
    then: {hold: {}}
  - id: Bad Id
    owner: a
    when:
      all:
        - no_such_signal: 1
        - score: {gte: high}
        - product: {gt: 3}
        - text: {pattern: "(unclosed"}
    then:
      - auto_action: {label: nope, enforcement: explode}
      - frobnicate: {}
  - id: ok-rule
    when: {reported: true}
    then: {hold: {}}
"""


def test_bad_rule_files_give_file_line_errors() -> None:
    with pytest.raises(RuleFileError) as exc:
        parse_rules(BAD, "rules/bad.yaml", labels=["spam", "illegal_goods.gambling"])
    errors = exc.value.errors
    text = "\n".join(errors)
    assert all(e.startswith("rules/bad.yaml:") for e in errors), text
    expect = {
        6: "'id' is required", 10: "unknown signal 'no_such_signal'",
        11: "score gte: a number", 12: "operator 'gt' not allowed",
        13: "bad regular expression", 15: "label 'nope' is not in the project's taxonomy",
        16: "unknown action 'frobnicate'", 17: "used twice",
    }
    for line, fragment in expect.items():
        assert any(e.startswith(f"rules/bad.yaml:{line}:") and fragment in e
                   for e in errors), (line, fragment, text)
    assert any("'owner' is required" in e for e in errors)
    with pytest.raises(RuleFileError, match=r"^x.yaml:3: not valid YAML"):
        parse_rules("rules:\n  - {id: a\n", "x.yaml")


def test_each_rule_keeps_its_own_yaml() -> None:
    specs = parse_rules(RULES, "r.yaml")
    assert specs[1].source.startswith("id: viral-escalate\n")
    again = parse_rules(specs[1].source)[0]
    assert (again.key, again.then, again.priority, again.signals) == \
        (specs[1].key, specs[1].then, specs[1].priority, specs[1].signals)
