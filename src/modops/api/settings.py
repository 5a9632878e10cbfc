"""Web settings: the environment's (``modops.settings``) plus web-only constants; tests pass
their own."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from modops.settings import settings


def _secret_key() -> str:
    key = settings().secret_key
    return key.get_secret_value() if key is not None else secrets.token_urlsafe(32)


@dataclass(slots=True)
class Settings:
    # Signs session cookies. Without MODOPS_SECRET_KEY a random key is used, so sessions do
    # not survive a restart (fine for a demo, set it in production and share it across workers).
    secret_key: str = field(default_factory=_secret_key)
    cookie_secure: bool = field(default_factory=lambda: settings().cookie_secure)
    session_hours: int = 12
    default_locale: str = "ko"
    # Webhook delivery: attempts before a delivery is marked failed, and the backoff base.
    webhook_dispatch: bool = field(default_factory=lambda: settings().webhooks)
    webhook_max_attempts: int = 5
    webhook_backoff_s: float = 2.0
    webhook_timeout_s: float = 5.0
    webhook_poll_s: float = 0.5
    # Outbound requests (webhooks, media fetches) reach public addresses only; this re-opens
    # networks, e.g. "loopback" for development and tests (modops.net.outbound, security.md).
    outbound_allow: str = field(default_factory=lambda: settings().outbound_allow)
    # Upload limit for /import (bytes).
    max_upload_bytes: int = 512 * 2**20
    # Any other request body (bytes), and the per-caller rate limit (requests/s, burst).
    max_body_bytes: int = 16 * 2**20
    rate_limit_rps: float = field(default_factory=lambda: settings().rate_limit_rps)
    rate_limit_burst: float = field(default_factory=lambda: settings().rate_limit_burst)
    # Sign-in throttling (modops.accounts.throttle): failures allowed per account and per client
    # address before the back-off starts, its first step and its cap (seconds).
    signin_free_per_account: int = field(default_factory=lambda: settings().signin_free_attempts)
    signin_free_per_address: int = field(
        default_factory=lambda: settings().signin_free_per_address)
    signin_backoff_s: float = 1.0
    signin_max_delay_s: float = field(default_factory=lambda: settings().signin_max_delay_s)
    # Start this process's side of the job system (False: a test app that runs none). Where
    # jobs run is MODOPS_JOBS, read only by ``modops.jobs.backend``; ``off`` also means False.
    jobs: bool = field(default_factory=lambda: settings().jobs_mode != "off")
