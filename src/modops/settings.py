"""Every ``MODOPS_*`` environment variable, in one place (issue 22, item 4).

Each setting is a field of :class:`ModOpsSettings` with its type, default and description;
code reads them through :func:`settings` (parsed once per process, then cached). The deploy
guide's table (``docs/deploy.md``) is generated from the fields (``python -m modops.settings
--write``; a test checks it is current) and ``modops config`` prints the effective values
with secrets masked.

Tests that change the environment call :func:`reload_settings` (the ``env`` fixture in
``tests/conftest.py`` does it for them); a test never edits the cached object.

This module imports nothing else of ModOps, so every layer may read it.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

JobsMode = Literal["thread", "dramatiq", "off"]

DEFAULT_SQLITE_FILE = "modops.db"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
_REPO_DATA = Path(__file__).resolve().parents[2] / "data"


class ModOpsSettings(BaseSettings):
    """The process's configuration. Empty variables count as unset."""

    model_config = SettingsConfigDict(env_prefix="MODOPS_", env_ignore_empty=True,
                                      extra="ignore", frozen=True)

    # -- storage
    database_url: str | None = Field(
        None, description=f"SQLAlchemy or libpq URL of the store; unset: SQLite "
                          f"`./{DEFAULT_SQLITE_FILE}`")
    db_pool_size: int = Field(10, ge=1, description="PostgreSQL connections each process keeps")
    db_max_overflow: int = Field(40, ge=0, description="extra connections a process may open "
                                                       "at peaks")
    notices: bool = Field(True, description="LISTEN for change notices (PostgreSQL); `off` "
                                            "behind PgBouncer in transaction mode")
    import_max_rows: int = Field(20_000_000, ge=1, description="rows one import may hold; "
                                                             "a larger file is refused")
    import_max_inflated_bytes: int = Field(16 * 2**30, ge=1, description="bytes a compressed "
                                           "import (Parquet) may inflate to")
    # -- media (docs/media.md): every limit is a refusal with a reason on the item
    media_dir: Path = Field(Path("media"), description="where uploaded and fetched media are "
                                                       "stored (content-addressed)")
    media_max_bytes: int = Field(200 << 20, ge=1, description="largest media file accepted")
    media_max_pixels: int = Field(40_000_000, ge=1, description="largest decoded image "
                                                                "(a small PNG can claim more)")
    media_max_duration_s: float = Field(180.0, gt=0, description="longest video processed")
    media_max_keyframes: int = Field(24, ge=1, description="keyframes hashed per video")
    media_fetch_timeout_s: float = Field(20.0, gt=0, description="timeout of a media URL "
                                                                 "fetch")
    pdq_threshold: int = Field(31, ge=0, le=256, description="PDQ bits that may differ for a "
                                                             "hash-bank match")
    media_ocr: bool = Field(True, description="read text in images (Tesseract, Korean)")
    media_url_ttl_s: int = Field(300, ge=1, description="lifetime of a signed media URL")
    # -- web
    timezone: str = Field("Asia/Seoul", description="time zone pages and reports show times "
                                                  "in (a project's `settings.timezone` wins)")
    secret_key: SecretStr | None = Field(
        None, description="signs session cookies; share it across app hosts (unset: random "
                          "per process, sessions end at restart)")
    cookie_secure: bool = Field(True, description="mark session and sign-in cookies "
                                                  "`Secure`: browsers then send them over "
                                                  "HTTPS only (TLS at the load balancer "
                                                  "counts). `modops serve` on a loopback "
                                                  "address sets `0` for the plain-HTTP demo")
    signin_free_attempts: int = Field(5, ge=1, description="failed sign-ins per account "
                                                           "before the back-off starts")
    signin_free_per_address: int = Field(20, ge=1, description="failed sign-ins per client "
                                                               "address before the back-off")
    signin_max_delay_s: float = Field(900.0, gt=0, description="cap of the sign-in back-off, "
                                                               "which doubles from 1 s")
    token_days: int = Field(90, ge=0, description="lifetime of new API tokens in days, and "
                                                  "the longest a caller may ask for (`0`: "
                                                  "no expiry)")
    webhooks: bool = Field(True, description="app servers deliver webhooks (`off`: leave "
                                             "it to the worker's `webhooks` job)")
    rate_limit_rps: float = Field(100.0, ge=0, description="requests/s per caller and process "
                                                           "(`0`: no limit)")
    rate_limit_burst: float = Field(300.0, ge=0, description="burst allowance of the rate limit")
    outbound_allow: str = Field("", description="networks outbound requests (webhooks, media "
                                                "fetches) may reach besides public addresses, "
                                                "e.g. `loopback` in development (see "
                                                "docs/security.md)")
    # -- background jobs
    jobs: JobsMode | None = Field(
        None, description="where this process's jobs run: in a thread, on Dramatiq workers, "
                          "or not here (unset: `dramatiq` with a Redis URL, else `thread`)")
    redis_url: str | None = Field(None, description=f"Dramatiq broker (unset: "
                                                    f"`{DEFAULT_REDIS_URL}` when jobs use it)")
    redis_namespace: str = Field("modops", description="Redis key prefix of the broker")
    job_nice: int = Field(10, description="nice value of job threads, clamped to 0-19 "
                                          "(`0`: unchanged)")
    # Under the git-ignored .modops/ (as model_dir): running a job in a checkout never leaves
    # a new untracked folder behind.
    job_dir: Path = Field(Path(".modops/jobs"), description="where jobs write exports and "
                                                            "reports (a shared volume)")
    # -- data and models
    data_dir: Path | None = Field(None, description="the public datasets (unset: `data/` of "
                                                    "the checkout, else `./data`)")
    model_dir: Path = Field(Path(".modops/models"), description="registered model versions")
    report_font: Path | None = Field(None, description="a .ttf with Hangul for PDF reports "
                                                       "(unset: Nanum, then Noto CJK)")
    report_font_bold: Path | None = Field(None, description="its bold face (unset: "
                                                            "`REPORT_FONT`)")

    @field_validator("jobs", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    # -- derived values: the one reading of each setting ---------------------------------------
    @property
    def jobs_mode(self) -> JobsMode:
        if self.jobs is not None:
            return self.jobs
        return "dramatiq" if self.redis_url else "thread"

    @property
    def broker_url(self) -> str:
        return self.redis_url or DEFAULT_REDIS_URL

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{DEFAULT_SQLITE_FILE}"

    @property
    def nice(self) -> int:
        return max(0, min(19, self.job_nice))

    @property
    def datasets(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        return _REPO_DATA if _REPO_DATA.is_dir() else Path("data")

    def effective(self) -> dict[str, str]:
        """Variable name → the value in force, secrets and URL passwords masked."""
        out = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown = "********"
            elif name == "jobs":
                shown = self.jobs_mode
            elif value is None:
                shown = "(unset)"
            elif isinstance(value, bool):
                shown = "on" if value else "off"
            elif name.endswith("_url"):
                shown = mask_url(str(value))
            else:
                shown = str(value)
            out[env_name(name)] = shown
        return out


def env_name(field: str) -> str:
    return "MODOPS_" + field.upper()


def mask_url(url: str) -> str:
    """``scheme://user:password@host`` → ``scheme://user:***@host``."""
    return re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", url)


@cache
def settings() -> ModOpsSettings:
    """The settings of this process, read from the environment once."""
    return ModOpsSettings()


def reload_settings() -> ModOpsSettings:
    """Forget the cached settings (tests, and ``modops serve`` after it sets the URL)."""
    settings.cache_clear()
    return settings()


# -- the deploy guide's table ---------------------------------------------------------------------
DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
BEGIN, END = "<!-- settings:begin (generated: python -m modops.settings --write) -->", \
    "<!-- settings:end -->"


_TYPE_NAMES = {str: "text", int: "integer", float: "number", bool: "`on`/`off`",
               Path: "path", SecretStr: "secret (masked)"}


def _type_name(annotation: Any) -> str:
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    if get_origin(args[0]) is Literal:
        return " / ".join(f"`{v}`" for v in get_args(args[0]))
    return _TYPE_NAMES[args[0]]


def _default(value: Any) -> str:
    if value is None:
        return "—"
    return f"`{('on' if value else 'off') if isinstance(value, bool) else value}`"


def markdown_table() -> str:
    rows = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for name, f in ModOpsSettings.model_fields.items():
        rows.append(f"| `{env_name(name)}` | {_type_name(f.annotation)} | {_default(f.default)} "
                    f"| {f.description} |")
    return "\n".join(rows)


def render_doc(text: str) -> str:
    """``text`` (the deploy guide) with the generated table between its markers."""
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}"


if __name__ == "__main__":  # pragma: no cover - a developer's command
    if sys.argv[1:] == ["--write"]:
        DOC.write_text(render_doc(DOC.read_text()))
    else:
        print(markdown_table())
