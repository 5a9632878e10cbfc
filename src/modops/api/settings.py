"""Web settings: read once from the environment, overridable in tests."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


@dataclass(slots=True)
class Settings:
    # Signs session cookies. Without MODOPS_SECRET_KEY a random key is used, so sessions do
    # not survive a restart (fine for a demo, set it in production and share it across workers).
    secret_key: str = field(
        default_factory=lambda: os.environ.get("MODOPS_SECRET_KEY") or secrets.token_urlsafe(32)
    )
    cookie_secure: bool = field(default_factory=lambda: _env_bool("MODOPS_COOKIE_SECURE", False))
    session_hours: int = 12
    default_locale: str = "ko"
    # Webhook delivery: attempts before a delivery is marked failed, and the backoff base.
    webhook_dispatch: bool = field(default_factory=lambda: _env_bool("MODOPS_WEBHOOKS", True))
    webhook_max_attempts: int = 5
    webhook_backoff_s: float = 2.0
    webhook_timeout_s: float = 5.0
    webhook_poll_s: float = 0.5
    # Outbound requests (webhooks, media fetches) reach public addresses only; this re-opens
    # networks, e.g. "loopback" for development and tests (modops.net.outbound, security.md).
    outbound_allow: str = field(default_factory=lambda: os.environ.get("MODOPS_OUTBOUND_ALLOW",
                                                                       ""))
    # Upload limit for /import (bytes).
    max_upload_bytes: int = 512 * 2**20
    # Any other request body (bytes), and the per-caller rate limit (requests/s, burst).
    max_body_bytes: int = 16 * 2**20
    rate_limit_rps: float = field(
        default_factory=lambda: float(os.environ.get("MODOPS_RATE_LIMIT_RPS", "100")))
    rate_limit_burst: float = field(
        default_factory=lambda: float(os.environ.get("MODOPS_RATE_LIMIT_BURST", "300")))
    # Run background jobs in this process (MODOPS_JOBS=thread|dramatiq|off, see modops.jobs).
    jobs: bool = field(default_factory=lambda: os.environ.get("MODOPS_JOBS", "") != "off")
