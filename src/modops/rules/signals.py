"""The signal registry: every fact the system knows about an item, named, typed, with a unit.

A *signal* is a named value a rule condition can test (``policy.illegal_goods.gambling >= 0.8``,
``reported``, ``dup_cluster_size >= 5``). It is computed from an item's **facts**: one plain
dict per item that routing (and the backtest) fill before rules run. The routing core always
puts these facts in (see ``CORE_FACTS``); any other module adds its own with
``register_facts`` (a set-wise loader: one query per chunk of item ids), then declares
signals over them with ``register_signal`` or, for a name family such as ``policy.<key>``,
``register_family``. Nothing else has to change: the engine, the YAML checker, the backtest,
``modops rules signals`` and ``docs/rules.md`` read this registry.

    from modops.rules.signals import SignalType, register_facts, register_signal

    register_facts("author", load_authors, doc="the item's author account")   # set-wise
    register_signal("account_age_days", SignalType.NUMBER, "days",
                    "Days since the author's account was created.",
                    lambda f: (f.get("author") or {}).get("age_days"),
                    source="account", facts=("author",))

An extractor takes the facts dict and returns the value, or None when it is unknown (a
condition over an unknown value is false, except ``exists: false``). Extractors must be
cheap and pure: they run once per item per routed chunk (the engine's 20,000 items/s goal).

A signal may also give ``sql``: an SQL expression over ``items i`` joined with
``products p`` (PostgreSQL and SQLite alike), or a ``JsonPath`` into a JSON column, that yields
the same value. The backtest reads such signals as columns, set-wise, instead of loading facts
item by item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Facts = Mapping[str, Any]
Extractor = Callable[[Facts], Any]
#: ``loader(conn, item_ids) -> {item_id: value}``: one set-wise read for a chunk of items
FactLoader = Callable[[Any, Sequence[int]], dict[int, Any]]


class SignalType(StrEnum):
    """What a signal's values are, and so which operators a condition may use on it."""

    NUMBER = "number"  # a float: probabilities, hours, days
    INT = "int"  # a count
    BOOL = "bool"
    STR = "str"  # one code (product, region, route)
    STRS = "strs"  # a set of codes (banks that fired, hash banks matched)
    TEXT = "text"  # normalised free text (``pattern`` conditions)


#: operators each type accepts in a rule condition
OPERATORS: dict[SignalType, frozenset[str]] = {
    SignalType.NUMBER: frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "between", "exists"}),
    SignalType.INT: frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "between", "in",
                               "exists"}),
    SignalType.BOOL: frozenset({"eq", "ne", "exists"}),
    SignalType.STR: frozenset({"eq", "ne", "in", "not_in", "pattern", "exists"}),
    SignalType.STRS: frozenset({"contains", "any_of", "all_of", "none_of", "exists"}),
    SignalType.TEXT: frozenset({"pattern", "contains", "exists"}),
}


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A value inside a JSON column, e.g. ``JsonPath("i.machine_scores", ("policies", key))``;
    ``cast`` is ``number``, ``text`` or ``bool``. Rendered per dialect by the backtest."""

    column: str
    path: tuple[str, ...]
    cast: str = "number"


SqlSpec = str | JsonPath | None


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    type: SignalType
    unit: str  # "probability", "count", "hours", "days", "views", "code", "text", …
    doc: str
    extract: Extractor = field(repr=False, compare=False)
    #: who defines it: model, bank, media, reports, item, routing, account, campaign, …
    source: str = "item"
    #: the fact keys it reads beyond ``CORE_FACTS`` (routing loads only what rules need)
    facts: tuple[str, ...] = ()
    #: an SQL expression over ``items i`` / ``products p`` giving the same value (backtest)
    sql: SqlSpec = None


@dataclass(frozen=True, slots=True)
class SignalFamily:
    """Signals named ``prefix + key`` (``policy.illegal_goods.gambling``): one definition, a
    key per taxonomy policy, bank or head."""

    prefix: str
    type: SignalType
    unit: str
    doc: str
    factory: Callable[[str], Extractor] = field(repr=False, compare=False)
    source: str = "item"
    facts: tuple[str, ...] = ()
    sql: Callable[[str], SqlSpec] | None = field(default=None, repr=False, compare=False)
    #: keys known in advance (documented and offered in the UI); others are accepted too
    examples: tuple[str, ...] = ()

    def signal(self, key: str) -> Signal:
        return Signal(self.prefix + key, self.type, self.unit, self.doc, self.factory(key),
                      self.source, self.facts, self.sql(key) if self.sql else None)


@dataclass(frozen=True, slots=True)
class FactSource:
    name: str
    loader: FactLoader = field(repr=False, compare=False)
    doc: str = ""


#: facts the routing core puts in for every item (no loader needed)
CORE_FACTS: dict[str, str] = {
    "id": "the item's id",
    "product": "product key",
    "score": "the model's harm probability, or None",
    "detail": "the model's detail (machine_scores: severity, policies, evidence …)",
    "views": "view count",
    "reported": "user-reported flag",
    "reported_at": "first user report time (naive UTC) or None",
    "created_at": "when the platform created it (naive UTC) or None",
    "ingested_at": "when ModOps received it (naive UTC)",
    "metadata": "the item's metadata object (dict) or None",
    "language": "language code",
    "route": "the machine's route before rules (auto_action, auto_clear, human, unscored)",
    "now": "the evaluation time (naive UTC)",
}

_SIGNALS: dict[str, Signal] = {}
_FAMILIES: dict[str, SignalFamily] = {}
_FACTS: dict[str, FactSource] = {}


class UnknownSignal(KeyError):
    pass


def register_signal(name: str, type: SignalType, unit: str, doc: str, extractor: Extractor, *,
                    source: str = "item", facts: Sequence[str] = (), sql: SqlSpec = None,
                    replace: bool = False) -> Signal:
    """Add a signal. A second registration of the same name is an error unless ``replace``
    (re-importing a module in tests re-registers the same definition)."""
    if not replace and name in _SIGNALS and _SIGNALS[name].doc != doc:
        raise ValueError(f"signal {name!r} is already registered")
    sig = Signal(name, SignalType(type), unit, doc, extractor, source, tuple(facts), sql)
    _SIGNALS[name] = sig
    return sig


def register_family(prefix: str, type: SignalType, unit: str, doc: str,
                    factory: Callable[[str], Extractor], *, source: str = "item",
                    facts: Sequence[str] = (), sql: Callable[[str], SqlSpec] | None = None,
                    examples: Sequence[str] = ()) -> SignalFamily:
    if not prefix.endswith("."):
        raise ValueError("a family prefix ends with '.'")
    family = SignalFamily(prefix, SignalType(type), unit, doc, factory, source, tuple(facts),
                          sql, tuple(examples))
    _FAMILIES[prefix] = family
    return family


def register_facts(name: str, loader: FactLoader, doc: str = "") -> FactSource:
    """A set-wise loader of one fact for a chunk of items (``{item_id: value}``; items it
    has nothing for are simply absent: their fact is None)."""
    if name in CORE_FACTS:
        raise ValueError(f"{name!r} is a core fact")
    src = FactSource(name, loader, doc)
    _FACTS[name] = src
    return src


def get_signal(name: str) -> Signal:
    _load_builtins()
    sig = _SIGNALS.get(name)
    if sig is not None:
        return sig
    for prefix, family in _FAMILIES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return family.signal(name[len(prefix):])
    raise UnknownSignal(name)


def all_signals() -> list[Signal]:
    """Every named signal, by source then name."""
    _load_builtins()
    return sorted(_SIGNALS.values(), key=lambda s: (s.source, s.name))


def all_families() -> list[SignalFamily]:
    _load_builtins()
    return sorted(_FAMILIES.values(), key=lambda f: (f.source, f.prefix))


def fact_sources() -> dict[str, FactSource]:
    _load_builtins()
    return dict(_FACTS)


def load_facts(conn: Any, names: Sequence[str], item_ids: Sequence[int]) \
        -> dict[str, dict[int, Any]]:
    """Run the loaders of ``names`` (core facts need none) for a chunk of items."""
    _load_builtins()
    out: dict[str, dict[int, Any]] = {}
    for name in names:
        if name in CORE_FACTS:
            continue
        src = _FACTS.get(name)
        if src is None:
            raise UnknownSignal(f"fact {name!r} has no loader")
        out[name] = src.loader(conn, item_ids) if item_ids else {}
    return out


_BUILTINS_LOADED = False


def _load_builtins() -> None:
    """The built-in signals (``modops.rules.builtin``) and every module that declares
    signals, imported on first use so registering never depends on import order."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    import importlib

    for module in SIGNAL_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a module listed before it landed
            if exc.name != module:
                raise


#: modules whose import registers signals (add yours here)
SIGNAL_MODULES: list[str] = ["modops.rules.builtin", "modops.authors.signals"]
