"""Rule files: YAML checked into plain, picklable data, every mistake a ``FILE:LINE`` error.

    rules:
      - id: gambling-reported            # unique in the project; a new text = a new version
        name: 신고된 도박 광고 삭제
        owner: minji
        priority: 10                      # ties between equally severe actions: higher wins
        expires: 2027-03-01               # optional: after it, the rule is not evaluated
        when:
          all:
            - reported: true              # shorthand for {eq: true}
            - policy.illegal_goods.gambling: {gte: 0.6}
            - any:
                - banks_fired: {contains: illegal_goods.gambling}
                - text: {pattern: "토토|먹튀"}
            - not: {product: {in: [ad]}}
        then:
          - auto_action: {label: illegal_goods.gambling, enforcement: remove}
          - notify: {channel: ops}

Conditions: ``all`` / ``any`` (lists), ``not`` (one condition), or one ``signal: test``
where the test is a value (equality) or a mapping of operators (several are ANDed). The
operators a signal accepts depend on its type (``modops.rules.signals.OPERATORS``).

Actions (``then``, one mapping or a list): ``auto_action`` {label, enforcement?},
``route`` {skill?, team?, queue?, priority?}, ``escalate`` {skill?, priority?},
``label_hint`` {label}, ``hold`` {reason?}, ``notify`` {channel}.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import yaml

from modops.domain import Action, ValidationError
from modops.rules.signals import OPERATORS, SignalType, UnknownSignal, get_signal

RULE_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
RULE_KEYS = frozenset({"id", "name", "owner", "priority", "expires", "when", "then",
                       "description"})
#: action kind -> (allowed keys, required keys)
ACTION_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "auto_action": (frozenset({"label", "enforcement"}), frozenset({"label"})),
    "route": (frozenset({"skill", "team", "queue", "priority"}), frozenset()),
    "escalate": (frozenset({"skill", "priority"}), frozenset()),
    "label_hint": (frozenset({"label"}), frozenset({"label"})),
    "hold": (frozenset({"reason"}), frozenset()),
    "notify": (frozenset({"channel"}), frozenset({"channel"})),
}
#: conflict resolution: among the actions that decide an item's route, the most severe wins
#: (ties: higher rule priority, then the rule id); label hints and notifications all apply
SEVERITY = {"auto_action": 50, "escalate": 40, "hold": 30, "route": 20, "label_hint": 10,
            "notify": 0}
ROUTING_KINDS = ("auto_action", "escalate", "hold", "route")
DEFAULT_ESCALATION_SKILL = "specialist"


class RuleFileError(ValidationError):
    """A rule file was refused; nothing changed. ``errors`` are ``FILE:LINE: message``."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass(frozen=True, slots=True)
class Cond:
    kind: str  # all, any, not, test
    children: tuple[Cond, ...] = ()
    signal: str = ""
    op: str = ""
    value: Any = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class ActionSpec:
    kind: str
    label: str | None = None
    enforcement: str | None = None
    skill: str | None = None
    team: str | None = None
    queue: str | None = None
    priority: float = 0.0
    channel: str | None = None
    reason: str | None = None

    @property
    def severity(self) -> int:
        return SEVERITY[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ActionSpec.__slots__
                if getattr(self, k) not in (None, 0.0) or k == "kind"}


@dataclass(frozen=True, slots=True)
class RuleSpec:
    key: str
    name: str
    owner: str
    priority: int
    when: Cond
    then: tuple[ActionSpec, ...]
    expires: datetime | None = None
    description: str = ""
    line: int = 0
    source: str = ""  # this rule's YAML, as written (stored, versioned, shown)
    signals: tuple[str, ...] = field(default=())  # every signal its condition reads

    def label(self) -> str | None:
        for act in self.then:
            if act.label and act.kind == "auto_action":
                return act.label
        return None


# -- YAML with line numbers -------------------------------------------------------------------

class _LineDict(dict[Any, Any]):
    line = 0


class _LineList(list[Any]):
    line = 0


class _Loader(yaml.SafeLoader):
    pass


def _map(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    out = _LineDict(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


def _seq(loader: _Loader, node: yaml.SequenceNode) -> _LineList:
    out = _LineList(loader.construct_sequence(node, deep=True))
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _seq)


def _line(obj: Any, default: int) -> int:
    return int(getattr(obj, "line", 0) or default)


# -- checking -------------------------------------------------------------------------------

class _Checker:
    def __init__(self, name: str, labels: Sequence[str] | None) -> None:
        self.name = name
        self.labels = set(labels) if labels is not None else None
        self.errors: list[str] = []

    def err(self, line: int, message: str) -> None:
        self.errors.append(f"{self.name}:{line}: {message}")

    # conditions
    def cond(self, node: Any, line: int, used: list[str]) -> Cond:
        line = _line(node, line)
        if not isinstance(node, dict) or not node:
            self.err(line, "a condition is a mapping: all, any, not, or one signal test")
            return Cond("all", line=line)
        if len(node) == 1 and next(iter(node)) in ("all", "any"):
            kind, items = next(iter(node.items()))
            if not isinstance(items, list) or not items:
                self.err(line, f"'{kind}' takes a non-empty list of conditions")
                return Cond(kind, line=line)
            return Cond(kind, tuple(self.cond(c, _line(items, line), used) for c in items),
                        line=line)
        if len(node) == 1 and "not" in node:
            return Cond("not", (self.cond(node["not"], line, used),), line=line)
        tests = [self.test(str(k), v, line, used) for k, v in node.items()]
        return tests[0] if len(tests) == 1 else Cond("all", tuple(tests), line=line)

    def test(self, name: str, spec: Any, line: int, used: list[str]) -> Cond:
        if name in ("all", "any", "not"):
            self.err(line, f"'{name}' must be the only key of its mapping")
            return Cond("all", line=line)
        try:
            sig = get_signal(name)
        except UnknownSignal:
            self.err(line, f"unknown signal {name!r} (modops rules signals lists them)")
            return Cond("all", line=line)
        used.append(name)
        ops = spec if isinstance(spec, dict) else {"eq": spec}
        out = [self.operator(sig.name, sig.type, str(op), value, _line(spec, line))
               for op, value in ops.items()]
        if not out:
            self.err(line, f"{name}: no test given")
        return out[0] if len(out) == 1 else Cond("all", tuple(out), line=line)

    def operator(self, name: str, type_: SignalType, op: str, value: Any, line: int) -> Cond:
        if op not in OPERATORS[type_]:
            self.err(line, f"{name} ({type_.value}): operator {op!r} not allowed; use one of "
                     + ", ".join(sorted(OPERATORS[type_])))
            return Cond("all", line=line)
        problem, value = _check_value(type_, op, value)
        if problem:
            self.err(line, f"{name} {op}: {problem}")
        return Cond("test", signal=name, op=op, value=value, line=line)

    # actions
    def actions(self, node: Any, line: int) -> tuple[ActionSpec, ...]:
        items = node if isinstance(node, list) else [node]
        out = [a for a in (self.action(x, _line(node, line)) for x in items) if a]
        if not out:
            self.err(line, "'then' needs at least one action: "
                     + ", ".join(ACTION_KEYS))
        kinds = [a.kind for a in out if a.kind in ROUTING_KINDS]
        if len(kinds) > 1:
            self.err(line, f"one rule takes one routing action, not {', '.join(kinds)}")
        return tuple(out)

    def action(self, node: Any, line: int) -> ActionSpec | None:
        line = _line(node, line)
        if not isinstance(node, dict) or len(node) != 1:
            self.err(line, "an action is a mapping with one key: " + ", ".join(ACTION_KEYS))
            return None
        kind, args = next(iter(node.items()))
        if kind not in ACTION_KEYS:
            self.err(line, f"unknown action {kind!r}; known: {', '.join(ACTION_KEYS)}")
            return None
        args = {} if args is None or args is True else args
        if not isinstance(args, dict):
            self.err(line, f"{kind}: takes a mapping of options")
            return None
        allowed, required = ACTION_KEYS[kind]
        for key in sorted(set(args) - allowed):
            self.err(line, f"{kind}: unknown option {key!r}")
        for key in sorted(required - set(args)):
            self.err(line, f"{kind}: needs {key!r}")
        return self.action_spec(kind, args, line)

    def action_spec(self, kind: str, args: dict[str, Any], line: int) -> ActionSpec:
        label = args.get("label")
        if label is not None and self.labels is not None and str(label) not in self.labels:
            self.err(line, f"{kind}: label {label!r} is not in the project's taxonomy")
        enforcement = args.get("enforcement")
        if enforcement is not None and enforcement not in {a.value for a in Action}:
            self.err(line, f"{kind}: enforcement {enforcement!r}; use one of "
                     + ", ".join(a.value for a in Action))
        priority = args.get("priority", 0.0)
        if not isinstance(priority, int | float) or isinstance(priority, bool):
            self.err(line, f"{kind}: priority must be a number")
            priority = 0.0
        skill = args.get("skill")
        if kind == "escalate" and skill is None:
            skill = DEFAULT_ESCALATION_SKILL
        return ActionSpec(kind, _s(label), _s(enforcement), _s(skill), _s(args.get("team")),
                          _s(args.get("queue")), float(priority), _s(args.get("channel")),
                          _s(args.get("reason")))

    def rule(self, node: Any, line: int, source: str) -> RuleSpec | None:
        line = _line(node, line)
        if not isinstance(node, dict):
            self.err(line, "a rule is a mapping with id, owner, when and then")
            return None
        for key in sorted(set(map(str, node)) - RULE_KEYS):
            self.err(line, f"unknown rule key {key!r}; known: {', '.join(sorted(RULE_KEYS))}")
        key = str(node.get("id", ""))
        if not RULE_KEY.match(key):
            self.err(line, "'id' is required: lowercase letters, digits, '-', '_' or '.'")
        for required in ("owner", "when", "then"):
            if node.get(required) in (None, ""):
                self.err(line, f"rule {key!r}: {required!r} is required")
        used: list[str] = []
        when = self.cond(node.get("when") or {"all": []}, line, used) \
            if node.get("when") else Cond("all", line=line)
        then = self.actions(node.get("then"), line) if node.get("then") else ()
        return RuleSpec(key, str(node.get("name") or key), str(node.get("owner") or ""),
                        self.priority(node.get("priority", 0), line), when, then,
                        self.expiry(node.get("expires"), line),
                        str(node.get("description") or ""), line, source,
                        tuple(dict.fromkeys(used)))

    def priority(self, value: Any, line: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            self.err(line, "'priority' must be an integer")
            return 0
        return value

    def expiry(self, value: Any, line: int) -> datetime | None:
        if value is None or isinstance(value, datetime):
            return value.replace(tzinfo=None) if value else None
        if isinstance(value, date):
            return datetime.combine(value, time())
        self.err(line, "'expires' must be a date (2027-03-01) or a UTC time")
        return None


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_value(type_: SignalType, op: str, value: Any) -> tuple[str | None, Any]:
    """(problem or None, the value in the form the engine uses)."""
    if op == "exists":
        return (None, value) if isinstance(value, bool) else ("true or false", value)
    if op == "pattern":
        return _check_pattern(value)
    if op in ("in", "not_in", "any_of", "all_of", "none_of"):
        if not isinstance(value, list) or not value:
            return "a non-empty list", value
        return None, tuple(_coerce(type_, v)[1] for v in value)
    if op == "between":
        return _check_between(value)
    if type_ is SignalType.TEXT or (type_ is SignalType.STRS and op == "contains"):
        return (None, str(value)) if isinstance(value, str | int) else ("a string", value)
    return _coerce(type_, value)


def _check_between(value: Any) -> tuple[str | None, Any]:
    ok = isinstance(value, list) and len(value) == 2 and all(_number(v) for v in value)
    return (None, (float(value[0]), float(value[1]))) if ok else ("[low, high]", value)


def _check_pattern(value: Any) -> tuple[str | None, Any]:
    try:
        re.compile(str(value))
    except re.error as exc:
        return f"bad regular expression: {exc}", value
    return None, str(value)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _coerce(type_: SignalType, value: Any) -> tuple[str | None, Any]:
    if type_ in (SignalType.NUMBER, SignalType.INT):
        return (None, float(value)) if _number(value) else ("a number", value)
    if type_ is SignalType.BOOL:
        return (None, value) if isinstance(value, bool) else ("true or false", value)
    if isinstance(value, str | int) and not isinstance(value, bool):
        return None, str(value)
    return "a string", value


# -- entry points ---------------------------------------------------------------------------

def _rule_sources(text: str, items: list[Any]) -> list[str]:
    """Each rule's own YAML lines (from its line to the next rule's), kept as its source."""
    lines = text.splitlines()
    starts = [_line(x, 1) - 1 for x in items] + [len(lines)]
    out = []
    for a, b in itertools.pairwise(starts):
        chunk = lines[a:b]
        indent = len(chunk[0]) - len(chunk[0].lstrip(" -")) if chunk else 0
        out.append("\n".join(ln[indent:] if len(ln) >= indent else ln.strip()
                             for ln in chunk).rstrip() + "\n")
    return out


def parse_rules(text: str, name: str = "<rules>", *,
                labels: Sequence[str] | None = None) -> list[RuleSpec]:
    """Every rule of a rule file, or ``RuleFileError`` listing every problem (FILE:LINE)."""
    check = _Checker(name, labels)
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RuleFileError([f"{name}:{line}: not valid YAML: "
                             f"{getattr(exc, 'problem', None) or exc}"]) from None
    items = doc.get("rules") if isinstance(doc, dict) else doc
    if isinstance(doc, dict) and "rules" not in doc and "id" in doc:
        items = _LineList([doc])
        items.line = _line(doc, 1)
    if not isinstance(items, list):
        raise RuleFileError([f"{name}:1: a rule file has 'rules:' with a list of rules"])
    sources = _rule_sources(text, items)
    rules = [r for r in (check.rule(node, 1, src) for node, src in zip(items, sources,
                                                                      strict=True)) if r]
    seen: dict[str, int] = {}
    for r in rules:
        if r.key in seen:
            check.err(r.line, f"rule id {r.key!r} used twice (first at line {seen[r.key]})")
        seen.setdefault(r.key, r.line)
    if check.errors:
        raise RuleFileError(check.errors)
    return rules


def parse_rule(text: str, name: str = "<rule>", *,
               labels: Sequence[str] | None = None) -> RuleSpec:
    rules = parse_rules(text, name, labels=labels)
    if len(rules) != 1:
        raise RuleFileError([f"{name}:1: expected one rule, found {len(rules)}"])
    return rules[0]


def cond_to_dict(c: Cond) -> Mapping[str, Any]:
    """The condition as plain data (shown in the UI, stored in the audit log)."""
    if c.kind in ("all", "any"):
        return {c.kind: [cond_to_dict(x) for x in c.children]}
    if c.kind == "not":
        return {"not": cond_to_dict(c.children[0])}
    value = list(c.value) if isinstance(c.value, tuple) else c.value
    return {c.signal: {c.op: value}}
