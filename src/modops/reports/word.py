"""Word document (python-docx): headings, real tables, charts as pictures.

Hangul needs the East Asian font slot: Word picks ``w:rFonts/@w:eastAsia`` for CJK characters,
not the Latin font name, so every style used here gets ``w:eastAsia`` (and the theme
attributes that would override it are removed). Table cells carry formatted text; the RAG
status cells are shaded like the Excel conditional formats.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from docx import Document as new_docx
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from modops.i18n import Lang

from .fonts import OFFICE_FONT_KO, OFFICE_FONT_LATIN
from .model import Chart, Document, Para, Table

STATUS_FILL = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}
TONE_RGB = {"good": RGBColor(0x00, 0x61, 0x00), "bad": RGBColor(0x9C, 0x00, 0x06)}
NUMERIC_KINDS = {"int", "float1", "float2", "float3", "pct", "pct2", "pp", "signed_pct",
                 "signed_float", "money", "hours", "seconds"}


def set_east_asian(rpr_parent: object, latin: str, east_asian: str) -> None:
    """Set ``w:rFonts`` ascii/hAnsi to ``latin`` and eastAsia to ``east_asian`` on a style
    or run (``element.get_or_add_rPr()``), dropping theme fonts that would win over them."""
    rpr = rpr_parent.get_or_add_rPr()  # type: ignore[attr-defined]
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        if rfonts.get(qn(attr)) is not None:
            del rfonts.attrib[qn(attr)]
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:eastAsia"), east_asian)
    rfonts.set(qn("w:cs"), latin)


def _shade(cell: object, fill: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tc_pr.append(shd)


def _table(d: DocxDocument, tb: Table, lang: Lang) -> None:
    d.add_heading(tb.title, 3)
    if not tb.rows:
        from .i18n import t

        d.add_paragraph(t("no_data", lang))
        return
    table = d.add_table(rows=1, cols=len(tb.columns))
    table.style = "Light Grid Accent 1"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    small = Pt(7.5) if len(tb.columns) > 6 else Pt(8.5)
    for c, col in enumerate(tb.columns):
        cell = table.rows[0].cells[c]
        cell.text = ""
        run = cell.paragraphs[0].add_run(col.header)
        run.bold = True
        run.font.size = small
    for r, row in enumerate(tb.rows):
        cells = table.add_row().cells
        for c in range(len(row)):
            p = cells[c].paragraphs[0]
            run = p.add_run(tb.text(r, c, lang))
            run.font.size = small
            if tb.kind(r, c) in NUMERIC_KINDS:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if (tone := tb.tones.get((r, c))) is not None:
                run.font.color.rgb = TONE_RGB[tone]
        status = tb.status[r] if r < len(tb.status) else None
        if tb.status_col is not None and status is not None:
            _shade(cells[tb.status_col], STATUS_FILL[status])
    if tb.note:
        d.add_paragraph(tb.note)


def write_docx(doc: Document, path: Path, charts: dict[str, bytes],
               generated_at: datetime) -> Path:
    d = new_docx()
    latin = OFFICE_FONT_LATIN
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "List Bullet",
                 "Caption"):
        style = d.styles[name]
        set_east_asian(style.element, latin, OFFICE_FONT_KO)
    d.styles["Normal"].font.size = Pt(10)
    d.styles["Normal"].font.name = latin
    sec = d.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(sec, side, Cm(1.6))
    sec.top_margin = sec.bottom_margin = Cm(1.5)
    props = d.core_properties
    props.title, props.subject, props.author = doc.title, doc.subtitle, "ModOps"
    props.created = props.modified = generated_at
    props.last_modified_by = "ModOps"
    props.revision = 1

    d.add_heading(doc.title, 0)
    meta = d.add_table(rows=0, cols=2)
    for label, value in doc.meta:
        cells = meta.add_row().cells
        cells[0].text, cells[1].text = label, value
        cells[0].paragraphs[0].runs[0].bold = True
    gen = d.add_paragraph()
    run = gen.add_run(doc.generated)
    run.italic, run.font.size = True, Pt(8)

    for i, section in enumerate(doc.sections):
        if i > 0:
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        d.add_heading(section.title, 1)
        for block in section.blocks:
            if isinstance(block, Para):
                if block.style == "h3":
                    d.add_heading(block.text, 2)
                elif block.style == "bullet":
                    d.add_paragraph(block.text, style="List Bullet")
                else:
                    p = d.add_paragraph()
                    r = p.add_run(block.text)
                    if block.style == "note":
                        r.italic, r.font.size = True, Pt(8.5)
            elif isinstance(block, Table):
                _table(d, block, doc.lang)
            elif isinstance(block, Chart) and block.key in charts:
                d.add_picture(io.BytesIO(charts[block.key]), width=Cm(15.5))
                d.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    foot = d.add_paragraph()
    r = foot.add_run(doc.footer)
    r.italic, r.font.size = True, Pt(8)
    d.save(str(path))
    return path
