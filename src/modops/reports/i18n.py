"""Report wording and number formatting shared by every format.

Only formatting lives here: every number a report prints comes from ``modops.analytics`` (or
``modops.quality``); every word from the one translation catalogue (``modops.i18n``, keys
``report.*``); metric names, units and their formatting from the metric catalogue
(``modops.analytics.catalogue``), the same the dashboards use.
"""

from __future__ import annotations

from modops.analytics.catalogue import UNITS, format_number
from modops.analytics.catalogue import is_missing as is_missing
from modops.analytics.catalogue import metric_name as metric_name
from modops.analytics.catalogue import unit_kind as unit_kind
from modops.i18n import LOCALES, has, pair, tr
from modops.i18n import Lang as Lang

LANGS: tuple[Lang, ...] = LOCALES

SEVERITY = "alert.severity."  # catalogue key prefixes of alert severities and rule names
RULES = "alert.rule."


def t(key: str, lang: Lang, **kw: object) -> str:
    """A report string in ``lang`` (catalogue key ``report.<key>``), fields filled."""
    return tr(lang, f"report.{key}", **kw)


def term(prefix: str, name: str, lang: Lang) -> str:
    """A catalogue term (an alert rule or severity) by name; unknown names print as given."""
    return tr(lang, prefix + name) if has(prefix + name) else name


def prev_phrases(kind: str) -> tuple[str, str]:
    """How a period names "the one before" in a sentence: (Korean, English)."""
    key = f"report.prev.{kind}" if has(f"report.prev.{kind}") else "report.prev.custom"
    return pair(key)


def pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "ko" else pair[1]


# --------------------------------------------------------------------------- formats
# One format code per column kind; each renderer maps it (Excel number format, or a string).
EXCEL_FORMATS: dict[str, str] = {
    "int": "#,##0",
    "float1": "#,##0.0",
    "float2": "#,##0.00",
    "float3": "0.000",
    "pct": "0.0%",
    "pct2": "0.00%",
    "pp": '+0.0"%p";-0.0"%p";0.0"%p"',
    "signed_pct": "+0.0%;-0.0%;0.0%",
    "signed_float": "+#,##0.00;-#,##0.00;0.00",
    "text": "@",
}


def excel_format(kind: str, lang: Lang) -> str:
    """The Excel number format of a column kind; unit kinds show what :func:`fmt` shows
    (hours and seconds with their suffix, money in won without decimals)."""
    if kind in EXCEL_FORMATS:
        return EXCEL_FORMATS[kind]
    u = next((u for u in UNITS.values() if u.kind == kind), None)
    if u is None:
        return "General"
    i = 0 if lang == "ko" else 1
    body = "#,##0" if kind == "money" else "#,##0.0"
    pre = f'"{u.prefix[i]}"' if u.prefix[i] else ""
    suf = f'"{u.suffix[i]}"' if u.suffix[i] else ""
    return pre + body + suf


def fmt(v: object, kind: str, lang: Lang) -> str:
    """Format a value for text formats (HTML, Word, PDF) the way Excel shows it."""
    if is_missing(v):
        return "—"
    if kind == "text" or isinstance(v, str):
        return str(v)
    x = float(v)  # type: ignore[arg-type]
    if kind == "int":
        return f"{x:,.0f}"
    if kind == "float1":
        return f"{x:,.1f}"
    if kind in ("hours", "seconds", "money"):
        return format_number(x, kind, lang)
    if kind == "float2":
        return f"{x:,.2f}"
    if kind == "float3":
        return f"{x:.3f}"
    if kind == "pct":
        return f"{x * 100:.1f}%"
    if kind == "pct2":
        return f"{x * 100:.2f}%"
    if kind == "pp":
        unit = "%p" if lang == "ko" else " pt"
        return f"{_nz(x, 1):+.1f}{unit}"
    if kind == "signed_pct":
        return f"{_nz(x * 100, 1):+.1f}%"
    if kind == "signed_float":
        return f"{_nz(x, 2):+,.2f}"
    return f"{x:,.2f}"


def _nz(x: float, digits: int) -> float:
    """0.0 instead of -0.0 when a tiny negative change rounds to zero."""
    return 0.0 if round(x, digits) == 0 else x


def josa(word: str, with_final: str, without_final: str) -> str:
    """Korean particle after ``word`` (이/가, 은/는, 을/를) by whether it ends in a final
    consonant; digits and a few Latin letters are read the Korean way."""
    w = word.rstrip(" )")
    if not w:
        return without_final
    c = w[-1]
    if "가" <= c <= "힣":
        return with_final if (ord(c) - 0xAC00) % 28 else without_final
    if c.isdigit():
        return with_final if c in "013678" else without_final
    if c.upper() in "LMNR":
        return with_final
    return without_final
