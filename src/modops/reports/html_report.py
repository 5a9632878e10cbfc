"""Self-contained HTML version (Jinja2, autoescaped): inline CSS, charts as data: URIs.

No CDN, script or external font, so the file opens offline and can be mailed or attached as it
is. Project names, label names and alert messages come from user data and are escaped by the
template's autoescape; nothing is marked safe except the base64 chart URIs built here.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment

from .model import Chart, Document, Para, Table
from .word import NUMERIC_KINDS

TEMPLATE = """<!DOCTYPE html>
<html lang="{{ doc.lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ doc.title }}</title>
<style>
body { font-family: "Malgun Gothic", "Apple SD Gothic Neo", "NanumGothic", "Noto Sans CJK KR",
  "Noto Sans KR", sans-serif; color: #1f1f1f; margin: 2rem auto; max-width: 1100px;
  padding: 0 1rem; font-size: 14px; line-height: 1.5; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { border-bottom: 2px solid #2F5597; padding-bottom: .2rem; margin-top: 2.4rem; }
h3 { margin-top: 1.4rem; }
h4 { margin: 1.2rem 0 .4rem; color: #2F5597; }
table { border-collapse: collapse; margin: .3rem 0 1rem; font-size: 12.5px; }
th, td { border: 1px solid #d0d7e2; padding: 3px 8px; }
th { background: #2F5597; color: #fff; font-weight: 600; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #f5f8fc; }
td.green { background: #C6EFCE !important; color: #006100; }
td.amber { background: #FFEB9C !important; color: #9C5700; }
td.red { background: #FFC7CE !important; color: #9C0006; }
.good { color: #006100; } .bad { color: #9C0006; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; }
dl.meta dt { font-weight: 600; color: #595959; } dl.meta dd { margin: 0; }
.note, .generated, footer { color: #595959; font-size: 12px; font-style: italic; }
figure { margin: .5rem 0 1.2rem; } figure img { max-width: 100%; height: auto; }
</style>
</head>
<body>
<header>
<h1>{{ doc.title }}</h1>
<dl class="meta">
{% for label, value in doc.meta %}<dt>{{ label }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl>
<p class="generated">{{ doc.generated }}</p>
</header>
{% for section in sections %}
<section id="{{ section.key }}">
<h2>{{ section.title }}</h2>
{% set ns = namespace(in_list=false) %}
{% for b in section.blocks %}
{% if b.type == "bullet" and not ns.in_list %}<ul>{% set ns.in_list = true %}{% endif %}
{% if b.type != "bullet" and ns.in_list %}</ul>{% set ns.in_list = false %}{% endif %}
{% if b.type == "bullet" %}<li>{{ b.text }}</li>
{% elif b.type == "h3" %}<h3>{{ b.text }}</h3>
{% elif b.type == "note" %}<p class="note">{{ b.text }}</p>
{% elif b.type == "p" %}<p>{{ b.text }}</p>
{% elif b.type == "table" %}<h4>{{ b.title }}</h4>
{% if b.rows %}<table id="t-{{ b.key }}"><thead><tr>
{% for h in b.headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in b.rows %}<tr>
{% for c in row %}<td class="{{ c.cls }}">{{ c.text }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>{% else %}<p class="note">{{ no_data }}</p>{% endif %}
{% elif b.type == "chart" %}<figure><img alt="{{ b.title }}" src="{{ b.src }}"></figure>
{% endif %}
{% endfor %}
{% if ns.in_list %}</ul>{% endif %}
</section>
{% endfor %}
<footer><p>{{ doc.footer }}</p></footer>
</body>
</html>
"""

_env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_template = _env.from_string(TEMPLATE)


def _table_view(tb: Table, lang: str) -> dict[str, Any]:
    rows = []
    for r, row in enumerate(tb.rows):
        cells = []
        for c in range(len(row)):
            cls = []
            if tb.kind(r, c) in NUMERIC_KINDS:
                cls.append("num")
            if (tone := tb.tones.get((r, c))) is not None:
                cls.append(tone)
            status = tb.status[r] if r < len(tb.status) else None
            if c == tb.status_col and status is not None:
                cls.append(status)
            cells.append({"text": tb.text(r, c, lang), "cls": " ".join(cls)})  # type: ignore[arg-type]
        rows.append(cells)
    return {"type": "table", "key": tb.key, "title": tb.title,
            "headers": [c.header for c in tb.columns], "rows": rows}


def render_html(doc: Document, charts: dict[str, bytes]) -> str:
    from .i18n import t

    sections = []
    for s in doc.sections:
        blocks: list[dict[str, Any]] = []
        for b in s.blocks:
            if isinstance(b, Para):
                blocks.append({"type": b.style, "text": b.text})
            elif isinstance(b, Table):
                blocks.append(_table_view(b, doc.lang))
            elif isinstance(b, Chart) and b.key in charts:
                uri = "data:image/png;base64," + base64.b64encode(charts[b.key]).decode()
                blocks.append({"type": "chart", "title": b.title, "src": uri})
        sections.append({"key": s.key, "title": s.title, "blocks": blocks})
    return _template.render(doc=doc, sections=sections, no_data=t("no_data", doc.lang))


def write_html(doc: Document, path: Path, charts: dict[str, bytes]) -> Path:
    path.write_text(render_html(doc, charts), encoding="utf-8")
    return path
