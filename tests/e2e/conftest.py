"""Browser tests: a real uvicorn server on a free 127.0.0.1 port, Debian's Chromium, headless.

E2E runs on SQLite only (a file database the test and the server share); the API and
authorization tests cover PostgreSQL. Each test gets a fresh world and server; the browser
is shared by the session.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

from modops.api import Settings, create_app
from modops.store import make_engine
from tests.api.world import PASSWORD, World, build_world

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    url: str
    world: World
    engine: Engine


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def live(tmp_path: Path, sqlite_template: Path) -> Iterator[Live]:
    import shutil

    db = tmp_path / "e2e.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}", poolclass=NullPool)
    world = build_world(engine)
    app = create_app(engine, Settings(secret_key="e2e", webhook_dispatch=False,
                                      cookie_secure=False))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield Live(f"http://127.0.0.1:{port}", world, engine)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@dataclass
class Watch:
    """Everything a page did that a safe page must never do."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.dialogs, f"dialogs opened: {self.dialogs}"
        assert not self.page_errors, f"page errors: {self.page_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    watch = Watch()

    def on_dialog(d: Dialog) -> None:
        watch.dialogs.append(d.message)
        d.dismiss()

    def on_console(m: ConsoleMessage) -> None:
        if m.type == "error":
            watch.console_errors.append(m.text)

    pg.on("dialog", on_dialog)
    pg.on("console", on_console)
    pg.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    yield pg, watch
    context.close()


def sign_in(pg: Page, live: Live, username: str, path: str = "/") -> None:
    """Sign in with the keyboard: type, Tab, type, Enter (focus is set explicitly because a busy
    machine may not have applied ``autofocus`` yet when typing starts)."""
    pg.goto(f"{live.url}/login?next={path}")
    pg.locator("input[name=username]").focus()
    pg.keyboard.type(username)
    pg.keyboard.press("Tab")
    pg.keyboard.type(PASSWORD)
    pg.keyboard.press("Enter")
    pg.wait_for_url(f"{live.url}{path}")


def start_labeling(pg: Page) -> None:
    """Opening the labeling page leases nothing: the labeler starts (Enter), then works."""
    pg.locator("#start-btn").wait_for()
    pg.keyboard.press("Enter")
    pg.locator("#work").wait_for()


_screenshots: list[Path] = []  # set once per session by the fixture below


@pytest.fixture(scope="session", autouse=True)
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where ``shot`` writes: a session temp dir, so a test run never rewrites the tracked
    ``docs/screenshots/``; ``make screenshots`` points ``MODOPS_SCREENSHOTS_DIR`` there to
    refresh them on purpose."""
    chosen = os.environ.get("MODOPS_SCREENSHOTS_DIR")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    _screenshots[:] = [path]
    return path


def shot(pg: Page, name: str) -> None:
    # caret="initial": hiding the caret injects a <style>, which our CSP (rightly) blocks.
    pg.screenshot(path=str(_screenshots[0] / name), full_page=True, caret="initial")
