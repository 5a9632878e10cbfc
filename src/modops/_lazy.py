"""Package namespaces that load their names on first use (PEP 562)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, homes: dict[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each public name is imported from its home
    module (``homes``: module → names) when first asked for, then kept in the package.

    Why: the import's parse process imports one light submodule (``modops.io.parsing``,
    ``modops.queue.planning``); eager package ``__init__`` files would drag in the database
    layer and cost it a second of start-up.
    """
    home_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        home = home_of.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
