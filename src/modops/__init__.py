"""ModOps: content-labeling and moderation operations for Trust & Safety teams."""

__version__ = "0.1.0"
