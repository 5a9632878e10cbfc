"""PDF (ReportLab) with the Korean TrueType font embedded.

ReportLab embeds a subset of every TrueType font it draws with (glyf outlines, Identity-H
encoding plus a ToUnicode map), so the file renders the same on a machine without Korean
fonts and ``pdftotext`` extracts the Hangul. The first page is the executive summary (KPI
table with RAG status and the narrative); each section starts on a new page. ``invariant`` fixes
the document ID and creation date, so the same data gives the same bytes.
"""

from __future__ import annotations

import io
import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    CondPageBreak,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as RLTable

from .fonts import korean_font
from .i18n import Lang, t
from .model import Chart, Document, Para, Table
from .word import NUMERIC_KINDS

FONT, FONT_BOLD = "ModOpsKorean", "ModOpsKorean-Bold"
STATUS_FILL = {"green": "#C6EFCE", "amber": "#FFEB9C", "red": "#FFC7CE"}
TONE = {"good": "#006100", "bad": "#9C0006"}
BLUE = colors.HexColor("#2F5597")
_lock = threading.Lock()
_registered = False


def _register() -> None:
    global _registered
    with _lock:
        if not _registered:
            reg, bold = korean_font()
            pdfmetrics.registerFont(TTFont(FONT, str(reg)))
            pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
            pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD,
                                          italic=FONT, boldItalic=FONT_BOLD)
            _registered = True


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12.5,
                          bulletFontName=FONT)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=18,
                                leading=23, spaceAfter=4, textColor=BLUE),
        "h1": ParagraphStyle("h1", parent=base, fontName=FONT_BOLD, fontSize=14, leading=18,
                             spaceBefore=2, spaceAfter=6, textColor=BLUE),
        "h3": ParagraphStyle("h3", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14,
                             spaceBefore=6, spaceAfter=3),
        "h4": ParagraphStyle("h4", parent=base, fontName=FONT_BOLD, fontSize=9.5, leading=12,
                             spaceBefore=6, spaceAfter=3, textColor=BLUE),
        "p": base,
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=12, bulletIndent=2,
                                 spaceAfter=2),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=10.5,
                               textColor=colors.HexColor("#595959")),
        "meta": ParagraphStyle("meta", parent=base, fontSize=8.5, leading=11),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.2),
        "cell_r": ParagraphStyle("cell_r", parent=base, fontSize=7.5, leading=9.2,
                                 alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=7.5,
                               leading=9.2, textColor=colors.white),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _table(tb: Table, lang: Lang, st: dict[str, ParagraphStyle], width: float) -> list[Any]:
    out: list[Any] = [_p(tb.title, st["h4"])]
    if not tb.rows:
        return [*out, _p(t("no_data", lang), st["note"])]
    total = sum(c.width for c in tb.columns)
    widths = [width * c.width / total for c in tb.columns]
    data: list[list[Any]] = [[_p(c.header, st["head"]) for c in tb.columns]]
    style: list[Any] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("BACKGROUND", (0, 0), (-1, 0), BLUE),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#D0D7E2")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F5F8FC")]),
    ]
    for r, row in enumerate(tb.rows):
        cells = []
        for c in range(len(row)):
            num = tb.kind(r, c) in NUMERIC_KINDS
            text = escape(tb.text(r, c, lang))
            if (tone := tb.tones.get((r, c))) is not None:
                text = f'<font color="{TONE[tone]}">{text}</font>'
            cells.append(Paragraph(text, st["cell_r" if num else "cell"]))
        data.append(cells)
        status = tb.status[r] if r < len(tb.status) else None
        if tb.status_col is not None and status is not None:
            style.append(("BACKGROUND", (tb.status_col, r + 1), (tb.status_col, r + 1),
                          colors.HexColor(STATUS_FILL[status])))
    out.append(RLTable(data, colWidths=widths, repeatRows=1, style=TableStyle(style),
                       hAlign="LEFT"))
    return out


def _image(png: bytes, width: float) -> Image:
    w, h = ImageReader(io.BytesIO(png)).getSize()
    return Image(io.BytesIO(png), width=width, height=width * h / w)


def write_pdf(doc: Document, path: Path, charts: dict[str, bytes],
              generated_at: datetime) -> Path:
    _register()
    st = _styles()
    margin = 1.5 * cm
    width = A4[0] - 2 * margin
    story: list[Any] = [_p(doc.title, st["title"])]
    meta = RLTable([[_p(k, st["meta"]), _p(v, st["meta"])] for k, v in doc.meta],
                   colWidths=[3.6 * cm, width - 3.6 * cm], hAlign="LEFT",
                   style=TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT),
                                     ("TOPPADDING", (0, 0), (-1, -1), 0),
                                     ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5)]))
    story += [meta, Spacer(1, 3), _p(doc.generated, st["note"]), Spacer(1, 6)]
    for i, section in enumerate(doc.sections):
        if i > 0:
            story.append(PageBreak())
        story.append(_p(section.title, st["h1"]))
        for b in section.blocks:
            if isinstance(b, Para):
                if b.style == "bullet":
                    story.append(Paragraph(escape(b.text), st["bullet"], bulletText="•"))
                else:
                    story.append(_p(b.text, st.get(b.style, st["p"])))
            elif isinstance(b, Table):
                story.append(CondPageBreak(3 * cm))
                story += _table(b, doc.lang, st, width)
            elif isinstance(b, Chart) and b.key in charts:
                story.append(KeepTogether([Spacer(1, 4), _image(charts[b.key], width * 0.82)]))
    story += [Spacer(1, 10), _p(doc.footer, st["note"])]

    footer_text = f"{doc.title} — {doc.generated}"

    def on_page(canvas: Any, tmpl: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#7F7F7F"))
        canvas.drawString(margin, 0.8 * cm, footer_text)
        canvas.drawRightString(A4[0] - margin, 0.8 * cm, str(tmpl.page))
        canvas.restoreState()

    pdf = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=margin, rightMargin=margin,
                            topMargin=margin, bottomMargin=margin, title=doc.title,
                            author="ModOps", subject=doc.subtitle, creator="ModOps",
                            lang=doc.lang, invariant=1, initialFontName=FONT)
    pdf.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return path
