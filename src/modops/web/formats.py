"""The one Jinja filter set for times, numbers and money (``modops.i18n.formats``).

Every template renders through :func:`install`'s filters, so a time reads in the project's
zone without microseconds (``|dt``, ``|hm``), a count as an integer (``|int_``), a measure
with at most one decimal (``|num``), a share as a percentage (``|pct``) and money with its
currency (``|money``). The zone is the render's ``tz`` (the project's, else the deployment's
``MODOPS_TIMEZONE``, KST by default); the language is the render's ``locale``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from modops.i18n import formats


@pass_context
def _dt(ctx: Context, value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return formats.local_time(value, ctx.get("tz"), fmt)


@pass_context
def _hm(ctx: Context, value: Any) -> str:
    return formats.short_time(value, ctx.get("tz"))


@pass_context
def _money(ctx: Context, value: Any, currency: str | None = "KRW") -> str:
    return formats.money(value, currency, str(ctx.get("locale") or "ko"))


def install(env: Environment) -> None:
    """Register the filters (and ``zone_name``) on ``env``."""
    env.filters.update({"dt": _dt, "hm": _hm, "int_": formats.integer, "num": formats.number,
                        "pct": formats.percent, "money": _money})
    env.globals["zone_name"] = formats.zone_name


def project_tz(project: Any, default: str) -> str:
    """A project's time zone (``settings.timezone``), else ``default``."""
    project_settings = getattr(project, "settings", None) or {}
    return str(project_settings.get("timezone") or default)
