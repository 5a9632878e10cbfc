"""Times in the project's zone without microseconds, numbers as people read them, money with
its currency: the one formatter set every template (``web/formats.py``) and report uses."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment

from modops.i18n import formats
from modops.web.formats import install


def test_times_read_in_kst_by_default_without_microseconds() -> None:
    at = datetime(2026, 3, 2, 6, 4, 5, 123456)  # stored: naive UTC
    assert formats.local_time(at) == "2026-03-02 15:04 KST"
    assert formats.short_time(at) == "03-02 15:04"
    assert formats.local_time(at.replace(tzinfo=UTC), "America/New_York") == \
        "2026-03-02 01:04 EST"
    assert formats.local_time("2026-03-02T06:04:05.999Z") == "2026-03-02 15:04 KST"
    assert formats.local_time(None) == "—"
    assert formats.local_time(at, "Not/AZone") == "2026-03-02 15:04 KST"


def test_numbers_money_and_shares() -> None:
    assert formats.number(393.53) == "393.5"
    assert formats.number(12.0) == "12"
    assert formats.number(1234567) == "1,234,567"
    assert formats.integer(1234.6) == "1,235"
    assert formats.percent(0.1234) == "12.3%"
    assert formats.money(24000.4) == "₩24,000"
    assert formats.money(12.5, "USD") == "$12.50"
    assert formats.money(3, "CHF") == "CHF 3.00"
    assert formats.number(None) == formats.money(None) == "—"


def test_templates_get_the_filters_with_the_renders_zone() -> None:
    env = Environment(autoescape=True)
    install(env)
    tpl = env.from_string("{{ at|dt }} · {{ at|hm }} · {{ x|num }} · {{ n|int_ }} · "
                          "{{ c|money('KRW') }} · {{ s|pct }}")
    at = datetime(2026, 3, 2, 23, 30)
    out = tpl.render(at=at, x=393.53, n=20681, c=24000, s=0.5, tz="Asia/Seoul", locale="ko")
    assert out == "2026-03-03 08:30 KST · 03-03 08:30 · 393.5 · 20,681 · ₩24,000 · 50.0%"


def test_templates_show_times_and_numbers_through_the_filters() -> None:
    """No template formats a time or a number by hand (``strftime``, a "UTC" suffix, two
    decimals): the filters above are the one way, so every page reads the same."""
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "src" / "modops" / "web" / "templates"
    bad = [f"{path.relative_to(templates)}: {pattern}"
           for path in sorted(templates.rglob("*.html"))
           for pattern in (".strftime(", '"{:,.2f}"', "}} UTC")
           if pattern in path.read_text(encoding="utf-8")]
    assert bad == []
