"""Projects, products and versioned taxonomies (the use cases managers drive).

Names load on first use (PEP 562): the import's parse process imports a light
submodule of this package without loading the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modops._lazy import lazy_exports

if TYPE_CHECKING:
    from modops.projects.guidelines import LabelGuide, guidelines_for, set_guidelines
    from modops.projects.lifecycle import change_taxonomy, taxonomy_history
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
        setting_errors,
        update_project,
    )
    from modops.projects.taxonomy import TaxonomyRules

_HOMES = {
    "modops.projects.guidelines": ("LabelGuide", "guidelines_for", "set_guidelines"),
    "modops.projects.lifecycle": ("change_taxonomy", "taxonomy_history"),
    "modops.projects.service": (
        "KNOWN_PRODUCTS",
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
        "setting_errors",
        "update_project",
    ),
    "modops.projects.taxonomy": ("TaxonomyRules",),
}

__all__ = [
    "KNOWN_PRODUCTS",
    "LabelGuide",
    "TaxonomyRules",
    "change_taxonomy",
    "create_project",
    "ensure_product",
    "ensure_taxonomy",
    "ensure_team",
    "get_project",
    "guidelines_for",
    "list_projects",
    "load_spec",
    "parse_duration_minutes",
    "project_settings",
    "rules_for",
    "set_guidelines",
    "setting_errors",
    "taxonomy_history",
    "update_project",
]


__getattr__ = lazy_exports(__name__, _HOMES)
