"""No page breaks its own Content Security Policy (issue 20, "Everywhere": no inline styles
or scripts). Chromium loads every main page of the authorization matrix as the role that may
see it and fails on any CSP violation: the ``securitypolicyviolation`` events the page fires
and the console's "Content Security Policy" errors. The CSP is strict (``style-src 'self'``,
``script-src 'self'``), so a ``style=""`` attribute or an inline ``<script>`` shows up here."""

from __future__ import annotations

import pytest

from tests.api.test_authz_matrix import MATRIX, ROLES
from tests.e2e.conftest import Live, sign_in

pytestmark = pytest.mark.e2e

# every violation the page reports, collected before any page script runs
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI || 'inline'} at `
  + `${e.sourceFile || location.pathname}:${e.lineNumber}`));
"""
# /docs is Swagger's page with its own (relaxed) policy; files and JSON are not pages
NOT_PAGES = ("/docs", "/openapi.json", "/healthz")


def main_pages(role: str) -> list[str]:
    """The matrix's GET pages (no API, no file download, no placeholder) ``role`` may open."""
    col = ROLES.index(role)
    return [path for method, path, _body, codes in MATRIX
            if method == "GET" and not path.startswith("/api/") and "{" not in path
            and not path.endswith((".csv", "/status")) and path not in NOT_PAGES
            and codes[col] == 200]


@pytest.mark.parametrize("role", ["admin", "lab1"])
def test_no_page_violates_the_csp(live: Live, page, role: str) -> None:
    pg, watch = page
    pg.context.add_init_script(LISTEN)
    sign_in(pg, live, role)
    pages = main_pages(role)
    assert len(pages) >= (20 if role == "admin" else 3), pages
    violations: list[str] = []
    for path in pages:
        response = pg.goto(f"{live.url}{path}")
        assert response is not None and response.status == 200, path
        pg.wait_for_load_state("load")
        violations += [f"{path}: {v}" for v in pg.evaluate("window.__csp || []")]
    csp_console = [m for m in watch.console_errors if "Content Security Policy" in m]
    assert violations == [] and csp_console == [], violations + csp_console
