"""``modops serve``: run the API and web UI in uvicorn workers (``modops.api.server``)."""

from __future__ import annotations

import os
import secrets
import sys


def serve(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1,
          database_url: str | None = None, log_level: str = "info",
          access_log: bool = False) -> None:
    """Upgrade the schema, then serve until interrupted.

    Several workers share one signing key (MODOPS_SECRET_KEY, generated for this run if unset,
    so sessions survive between workers but not restarts).

    Once the schema is current this process becomes ``python -m modops.api.server`` (same
    pid, same environment): the CLI's imports (the schema migrations, every sub-command) held
    ~290 MB that a supervisor of workers never uses.
    """
    from modops.settings import reload_settings
    from modops.store import ensure_schema, make_engine

    if database_url:
        os.environ["MODOPS_DATABASE_URL"] = database_url
    os.environ.setdefault("MODOPS_SECRET_KEY", secrets.token_urlsafe(32))
    reload_settings()  # this process too (the uvicorn workers read the environment afresh)
    engine = make_engine()
    ensure_schema(engine)  # once, before the workers race to do it
    engine.dispose()
    print(f"ModOps on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)", flush=True)
    argv = [sys.executable, "-m", "modops.api.server", "--host", host, "--port", str(port),
            "--workers", str(workers), "--log-level", log_level]
    os.execv(sys.executable, [*argv, "--access-log"] if access_log else argv)
