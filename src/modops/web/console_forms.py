"""Form parsing shared by the manager's project pages (create, settings): typed text in,
setting values out, and each refusal as a catalogue key shown next to its field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from modops.i18n import has
from modops.i18n.formats import local_time

# The settings a manager edits on the settings page (and sets when creating a project).
EDITABLE = ("overlap_k", "gold_rate", "audit_rate", "sla_minutes", "lease_seconds",
            "auto_action_threshold", "auto_clear_threshold", "escalation_threshold")
INTEGERS = ("overlap_k", "sla_minutes", "lease_seconds")
OPTIONAL = ("auto_action_threshold", "auto_clear_threshold")  # empty: no machine routing
KST = ZoneInfo("Asia/Seoul")


def when(value: datetime | None) -> str:
    """A stored (naive UTC) time as the console shows it: KST, to the second."""
    return "" if value is None else local_time(value, fmt="%Y-%m-%d %H:%M:%S")


def _number(name: str, value: str) -> Any:
    if name in OPTIONAL and value == "":
        return None
    if name in INTEGERS:
        return value  # the domain validator reads (and refuses) integers itself
    try:
        return float(value)
    except ValueError:
        return value  # refused by the validator, shown next to the field


def settings_changes(form: Mapping[str, Any], products: list[str],
                     current: dict[str, Any] | None = None) -> tuple[dict[str, Any],
                                                                      dict[str, str]]:
    """The changes a settings form asks for, and what was typed (to show it again).

    Per-product SLAs (``sla.<product>``, minutes; empty = the project's SLA) go into
    ``settings.sla_by_product``, next to the other free-form settings in ``current``."""
    raw = {name: str(form.get(name, "")).strip() for name in EDITABLE}
    changes: dict[str, Any] = {name: _number(name, value) for name, value in raw.items()}
    by_product: dict[str, Any] = {}
    for product in products:
        typed = str(form.get(f"sla.{product}", "")).strip()
        raw[f"sla.{product}"] = typed
        if typed:
            by_product[product] = typed
    settings = {k: v for k, v in (current or {}).items() if k != "sla_by_product"}
    if by_product:
        settings["sla_by_product"] = by_product
    changes["settings"] = settings
    return changes, raw


def error_keys(errors: Mapping[str, str]) -> dict[str, str]:
    """Setting → the catalogue key of its inline message (``console.err.<setting>``)."""
    out = {}
    for name in errors:
        base = name.split(".")[0]
        key = f"console.err.{base}"
        if base == "settings" and "sla_by_product" in errors[name]:
            key = "console.err.sla_product"
        out[base] = key if has(key) else "console.err.invalid"
    return out
