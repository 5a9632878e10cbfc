"""The rule engine: rules compiled to column masks, evaluated a batch of items at a time.

Routing hands the engine a chunk of items (their facts); the backtest hands it columns it read
set-wise from the database. Either way each signal a rule reads is extracted **once per item**
into a column (numbers and flags as float arrays with NaN for unknown, codes and sets as
object arrays), and every condition is a NumPy mask over the batch. ``all`` evaluates its
cheap tests first and runs the expensive ones (patterns on text, set membership) only on the
items still alive, so a regex never reads an item a threshold already ruled out.

Evaluation order and conflict resolution (docs/rules.md):
1. Every rule that is not expired is evaluated on every item, live and shadow alike, and each
   match is recorded (shadow matches are only recorded: they act on nothing).
2. Among the **live** rules that match, the routing actions compete: the most severe wins
   (``auto_action`` > ``escalate`` > ``hold`` > ``route``); ties go to the higher rule
   priority, then to the rule id in alphabetical order. One item gets one routing action.
3. ``label_hint`` and ``notify`` of every matching live rule all apply.
4. A value a signal does not know (no score, no report) fails every test on it except
   ``exists: false``; ``not`` negates a test's result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modops.rules.signals import CORE_FACTS, SignalType, get_signal
from modops.rules.spec import ROUTING_KINDS, ActionSpec, Cond, RuleSpec

Mask = NDArray[np.bool_]
MaskFn = Callable[["Batch", Mask], Mask]

SHADOW, LIVE, DISABLED = "shadow", "live", "disabled"
MODES = (SHADOW, LIVE, DISABLED)
_NUMERIC = (SignalType.NUMBER, SignalType.INT, SignalType.BOOL)
#: test cost classes for ordering inside ``all``: cheap vector tests first
_COST = {SignalType.NUMBER: 0, SignalType.INT: 0, SignalType.BOOL: 0, SignalType.STR: 1,
         SignalType.STRS: 2, SignalType.TEXT: 3}


class Batch:
    """The signal columns of ``n`` items, built on first use from their facts (routing) or
    given directly (``Batch.from_columns``: the backtest's set-wise reads)."""

    def __init__(self, facts: Sequence[Mapping[str, Any]] | None = None, n: int = 0) -> None:
        self.facts = facts
        self.n = len(facts) if facts is not None else n
        self._cols: dict[str, NDArray[Any]] = {}
        self._codes: dict[str, tuple[NDArray[np.int64], dict[Any, int]]] = {}

    @classmethod
    def from_columns(cls, n: int, columns: Mapping[str, NDArray[Any]]) -> Batch:
        batch = cls(None, n)
        batch._cols.update(columns)
        return batch

    def column(self, name: str) -> NDArray[Any]:
        col = self._cols.get(name)
        if col is None:
            col = self._cols[name] = self._extract(name)
        return col

    def codes(self, name: str) -> tuple[NDArray[np.int64], dict[Any, int]]:
        """A code column as integers (and its vocabulary), built once per batch: equality and
        membership tests on codes are then vector operations."""
        key = "\0codes:" + name
        cached = self._codes.get(key)
        if cached is None:
            vocab: dict[Any, int] = {None: -1}
            col = self.column(name)
            codes = np.fromiter((vocab.setdefault(x, len(vocab)) for x in col), np.int64,
                                col.size)
            cached = self._codes[key] = (codes, vocab)
        return cached

    def _extract(self, name: str) -> NDArray[Any]:
        if self.facts is None:
            raise KeyError(f"no column for signal {name!r}")
        sig = get_signal(name)
        fn = sig.extract
        if sig.type in _NUMERIC:  # None becomes NaN
            return np.array([fn(f) for f in self.facts], dtype=np.float64)
        out = np.empty(self.n, dtype=object)
        out[:] = [fn(f) for f in self.facts]
        return out


def _numeric_test(op: str, value: Any) -> Callable[[NDArray[Any]], Mask]:
    tests: dict[str, Callable[[NDArray[Any]], Mask]] = {
        "eq": lambda x: x == value, "gt": lambda x: x > value, "gte": lambda x: x >= value,
        "lt": lambda x: x < value, "lte": lambda x: x <= value,
        "ne": lambda x: ~np.isnan(x) & (x != value),
        "between": lambda x: (x >= value[0]) & (x <= value[1]),
        "in": lambda x: np.isin(x, np.asarray(value, dtype=np.float64)),
        "exists": lambda x: ~np.isnan(x) if value else np.isnan(x),
    }
    return tests[op]


def _object_test(op: str, value: Any) -> Callable[[Any], bool]:
    """A per-value test for codes, sets and text (run only on the items still alive)."""
    if op == "pattern":
        rx = re.compile(value)
        return lambda x: x is not None and rx.search(str(x)) is not None
    values = frozenset(value) if isinstance(value, tuple) else value
    tests: dict[str, Callable[[Any], bool]] = {
        "eq": lambda x: x is not None and x == value,
        "ne": lambda x: x is not None and x != value,
        "in": lambda x: x in values,
        "not_in": lambda x: x is not None and x not in values,
        "contains": lambda x: x is not None and value in x,
        "any_of": lambda x: bool(x) and not values.isdisjoint(x),
        "all_of": lambda x: x is not None and values <= set(x),
        "none_of": lambda x: x is not None and values.isdisjoint(x),
        "exists": lambda x: (x is not None and x != frozenset()) == value,
    }
    return tests[op]


def _code_test(name: str, op: str, value: Any) -> MaskFn:
    wanted = value if isinstance(value, tuple) else (value,)
    negate = op in ("ne", "not_in")

    def codes(batch: Batch, alive: Mask) -> Mask:
        col, vocab = batch.codes(name)
        ids = [vocab[v] for v in wanted if v in vocab]
        hit = np.isin(col, ids) if ids else np.zeros(batch.n, dtype=bool)
        return alive & ((~hit & (col >= 0)) if negate else hit)
    return codes


def _leaf(c: Cond) -> tuple[int, MaskFn]:
    sig = get_signal(c.signal)
    name = sig.name
    value = c.value
    if sig.type is SignalType.BOOL and c.op in ("eq", "ne"):
        value = 1.0 if value else 0.0
    if sig.type in _NUMERIC:
        vec = _numeric_test(c.op, value)

        def numeric(batch: Batch, alive: Mask) -> Mask:
            with np.errstate(invalid="ignore"):
                return alive & vec(batch.column(name))
        return _COST[sig.type], numeric
    if sig.type is SignalType.STR and c.op in ("eq", "ne", "in", "not_in"):
        return _COST[sig.type], _code_test(name, c.op, value)
    test = _object_test(c.op, value)

    def each(batch: Batch, alive: Mask) -> Mask:
        idx = np.flatnonzero(alive)
        out = np.zeros(batch.n, dtype=bool)
        if idx.size:
            col = batch.column(name)
            out[idx] = np.fromiter((test(v) for v in col[idx]), bool, idx.size)
        return out
    return _COST[sig.type], each


def compile_cond(c: Cond) -> tuple[int, MaskFn]:
    """(cost, mask function); the mask is exact where ``alive`` and False elsewhere."""
    if c.kind == "test":
        return _leaf(c)
    parts = sorted((compile_cond(x) for x in c.children), key=lambda p: p[0])
    fns = [fn for _cost, fn in parts]
    cost = max((p[0] for p in parts), default=0)
    if c.kind == "not":
        inner = fns[0]
        return cost, lambda batch, alive: alive & ~inner(batch, alive)
    if c.kind == "any":
        def any_of(batch: Batch, alive: Mask) -> Mask:
            hit = np.zeros(batch.n, dtype=bool)
            rest = alive.copy()
            for fn in fns:
                if not rest.any():
                    break
                m = fn(batch, rest)
                hit |= m
                rest &= ~m
            return hit
        return cost, any_of

    def all_of(batch: Batch, alive: Mask) -> Mask:
        cur = alive
        for fn in fns:
            if not cur.any():
                return cur
            cur = fn(batch, cur)
        return cur
    return cost, all_of


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule as routing sees it: its spec, its stored version and its mode."""

    spec: RuleSpec
    version: int = 1
    mode: str = SHADOW
    id: int | None = None  # the stored row's id


@dataclass(slots=True)
class _Compiled:
    ref: RuleRef
    mask: MaskFn
    routing: ActionSpec | None
    extras: tuple[ActionSpec, ...]


@dataclass(slots=True)
class ItemOutcome:
    """What the rules did for one item."""

    action: ActionSpec | None = None  # the winning live routing action
    rule: RuleRef | None = None  # the rule it came from
    hints: list[str] = field(default_factory=list)  # label hints of live rules
    notify: list[str] = field(default_factory=list)
    hits: list[RuleRef] = field(default_factory=list)  # every match, live and shadow


class Evaluation:
    """The rules' masks over one batch and, per item, the winning live routing action."""

    def __init__(self, rules: Sequence[_Compiled], masks: NDArray[np.bool_],
                 winner: NDArray[np.int64]) -> None:
        self.rules = rules
        self.masks = masks  # rules x items
        self.winner = winner  # index into rules, -1: no live routing action
        extra = np.array([r.ref.mode == LIVE and bool(r.extras) for r in rules], dtype=bool)
        self._extra_rules = np.flatnonzero(extra)
        self._has_extra = masks[extra].any(axis=0) if extra.any() else None

    def outcome(self, i: int, *, hits: bool = True) -> ItemOutcome:
        out = ItemOutcome()
        w = int(self.winner[i])
        if w >= 0:
            out.action, out.rule = self.rules[w].routing, self.rules[w].ref
        if self._has_extra is not None and self._has_extra[i]:
            for r in self._extra_rules:
                if self.masks[r, i]:
                    extras = self.rules[int(r)].extras
                    out.hints += [a.label for a in extras if a.kind == "label_hint" and a.label]
                    out.notify += [a.channel for a in extras
                                   if a.kind == "notify" and a.channel]
        if hits:
            out.hits = [self.rules[int(r)].ref for r in np.flatnonzero(self.masks[:, i])]
        return out

    def hit_pairs(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(rule index, item index) of every match, live and shadow: the match log."""
        rules, items = np.nonzero(self.masks)
        return rules, items

    def any_hits(self) -> bool:
        return bool(self.masks.any())


class RuleSet:
    """Rules compiled for evaluation: live and shadow rules that are not expired at ``now``.

    Plain data until first use, so a planner holding one pickles (the import's parse
    process); the compiled closures are rebuilt there on first use.
    """

    def __init__(self, refs: Sequence[RuleRef], now: datetime | None = None) -> None:
        self.refs = [r for r in refs if r.mode in (LIVE, SHADOW)
                     and (r.spec.expires is None or now is None or r.spec.expires > now)]
        self._compiled: list[_Compiled] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"refs": self.refs, "_compiled": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.refs, self._compiled = state["refs"], None

    def __bool__(self) -> bool:
        return bool(self.refs)

    @property
    def compiled(self) -> list[_Compiled]:
        if self._compiled is None:
            order = sorted(self.refs, key=_conflict_order)
            self._compiled = [_compile(r) for r in order]
        return self._compiled

    def facts_needed(self) -> list[str]:
        """Fact keys beyond the core ones that the rules' signals read."""
        names = {get_signal(s).name: get_signal(s) for r in self.refs for s in r.spec.signals}
        return sorted({f for s in names.values() for f in s.facts if f not in CORE_FACTS})

    def signals_needed(self) -> list[str]:
        return sorted({s for r in self.refs for s in r.spec.signals})

    def evaluate(self, batch: Batch) -> Evaluation:
        rules = self.compiled
        everyone = np.ones(batch.n, dtype=bool)
        masks = np.zeros((len(rules), batch.n), dtype=bool)
        winner = np.full(batch.n, -1, dtype=np.int64)
        for i, rule in enumerate(rules):
            masks[i] = rule.mask(batch, everyone)
            if rule.routing is not None and rule.ref.mode == LIVE:
                winner = np.where((winner < 0) & masks[i], i, winner)
        return Evaluation(rules, masks, winner)

    def evaluate_facts(self, facts: Sequence[Mapping[str, Any]]) -> Evaluation:
        return self.evaluate(Batch(facts))


def _conflict_order(ref: RuleRef) -> tuple[int, int, str]:
    routing = [a for a in ref.spec.then if a.kind in ROUTING_KINDS]
    severity = routing[0].severity if routing else -1
    return (-severity, -ref.spec.priority, ref.spec.key)


def _compile(ref: RuleRef) -> _Compiled:
    _cost, mask = compile_cond(ref.spec.when)
    routing = next((a for a in ref.spec.then if a.kind in ROUTING_KINDS), None)
    extras = tuple(a for a in ref.spec.then if a.kind not in ROUTING_KINDS)
    return _Compiled(ref, mask, routing, extras)
