"""What a request handler (API route or web page) gets from the app: its engine and settings."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Engine

from modops.api.settings import Settings


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def settings_of(request: Request) -> Settings:
    return request.app.state.settings
