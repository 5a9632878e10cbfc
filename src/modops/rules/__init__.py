"""Signals, rules and backtests: the automation layer operators author, backtest and trust.

- ``signals``: the one registry of named, typed signals with units (``register_signal``,
  ``register_family``, ``register_facts``); ``builtin`` holds the built-in ones.
- ``spec``: rule files (YAML) checked into plain data, with FILE:LINE errors.
- ``engine``: rules compiled to closures (routing) and to column masks (backtests).

See docs/rules.md.
"""

from modops.rules.signals import (
    CORE_FACTS,
    Facts,
    JsonPath,
    Signal,
    SignalFamily,
    SignalType,
    UnknownSignal,
    all_families,
    all_signals,
    get_signal,
    load_facts,
    register_facts,
    register_family,
    register_signal,
)

__all__ = [
    "CORE_FACTS",
    "Facts",
    "JsonPath",
    "Signal",
    "SignalFamily",
    "SignalType",
    "UnknownSignal",
    "all_families",
    "all_signals",
    "get_signal",
    "load_facts",
    "register_facts",
    "register_family",
    "register_signal",
]
