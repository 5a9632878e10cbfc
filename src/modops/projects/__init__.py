"""Projects, products and versioned taxonomies (the use cases managers drive).

Names load on first use (PEP 562): the import's parse process imports a light
submodule of this package without loading the rest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modops.projects.service import (
        KNOWN_PRODUCTS,
        create_project,
        ensure_product,
        ensure_taxonomy,
        ensure_team,
        get_project,
        list_projects,
        load_spec,
        parse_duration_minutes,
        project_settings,
        rules_for,
        update_project,
    )
    from modops.projects.taxonomy import TaxonomyRules

_HOME = {
    "KNOWN_PRODUCTS": "modops.projects.service",
    "create_project": "modops.projects.service",
    "ensure_product": "modops.projects.service",
    "ensure_taxonomy": "modops.projects.service",
    "ensure_team": "modops.projects.service",
    "get_project": "modops.projects.service",
    "list_projects": "modops.projects.service",
    "load_spec": "modops.projects.service",
    "parse_duration_minutes": "modops.projects.service",
    "project_settings": "modops.projects.service",
    "rules_for": "modops.projects.service",
    "update_project": "modops.projects.service",
    "TaxonomyRules": "modops.projects.taxonomy",
}

__all__ = [
    "KNOWN_PRODUCTS",
    "TaxonomyRules",
    "create_project",
    "ensure_product",
    "ensure_taxonomy",
    "ensure_team",
    "get_project",
    "list_projects",
    "load_spec",
    "parse_duration_minutes",
    "project_settings",
    "rules_for",
    "update_project",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
