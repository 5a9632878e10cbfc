"""HTTP API: FastAPI routers (thin), pydantic schemas, and one policy layer for every route."""

from modops.api.app import create_app
from modops.api.settings import Settings

__all__ = ["Settings", "create_app"]
