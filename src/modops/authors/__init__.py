"""Authors: the platform accounts that post items — strikes with decay windows, enforcement
on accounts (warn, restrict, suspend, ban) sent as signed webhooks and appealable, the author
panel's read model, campaigns of coordinated accounts (MinHash LSH) decided as one, and the
account signals rules read (docs/rules.md)."""

from modops.authors.enforcement import (
    ACTIONS,
    DEFAULT_STRIKES,
    StrikeReport,
    appeal_enforcement,
    apply_strikes,
    enforce,
    enforcements_for,
    live_strikes,
    resolve_enforcement_appeal,
    strike_settings,
    suspensions_between,
)
from modops.authors.panel import AuthorPanel, author_panel

__all__ = ["ACTIONS", "DEFAULT_STRIKES", "AuthorPanel", "StrikeReport", "appeal_enforcement",
           "apply_strikes", "author_panel", "enforce", "enforcements_for", "live_strikes",
           "resolve_enforcement_appeal", "strike_settings", "suspensions_between"]
