"""Projects, products and versioned taxonomies (the use cases managers drive)."""

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
