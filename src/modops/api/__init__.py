"""HTTP API: FastAPI routers (thin), pydantic schemas, and one policy layer for every route.

Names load on first use (PEP 562): ``python -m modops.api.server``, the supervisor of the
server's workers, imports this package without loading the app (~100 MB it never uses).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modops._lazy import lazy_exports

if TYPE_CHECKING:
    from modops.api.app import create_app
    from modops.api.settings import Settings

__all__ = ["Settings", "create_app"]

__getattr__ = lazy_exports(__name__, {"modops.api.app": ("create_app",),
                                      "modops.api.settings": ("Settings",)})
