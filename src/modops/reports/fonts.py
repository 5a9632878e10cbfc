"""Where the Korean TrueType font is, for charts (matplotlib) and the PDF (ReportLab).

The PDF must embed a font with Hangul glyphs; Debian's ``fonts-nanum`` (NanumGothic) is the
default and ``fonts-noto-cjk`` a fallback. ``MODOPS_REPORT_FONT`` / ``MODOPS_REPORT_FONT_BOLD``
point at other .ttf files. Word and Excel files name a font instead of embedding one: they ask
for Malgun Gothic (on every Windows and Office for Mac) as the East Asian font, and viewers
without it substitute their own Korean font.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from modops.domain import ModOpsError
from modops.settings import settings

OFFICE_FONT_KO = "Malgun Gothic"
OFFICE_FONT_LATIN = "Calibri"
CANDIDATES = (
    ("/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
     "/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf"),
    ("/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf",
     "/usr/share/fonts/truetype/nanum/NanumBarunGothicBold.ttf"),
)


class FontMissing(ModOpsError):
    """No Korean TrueType font: install fonts-nanum or set MODOPS_REPORT_FONT."""


@lru_cache(maxsize=1)
def korean_font() -> tuple[Path, Path]:
    """(regular, bold) .ttf paths with Hangul glyphs (bold falls back to regular)."""
    reg_env, bold_env = settings().report_font, settings().report_font_bold
    if reg_env is not None:
        reg, bold = reg_env, bold_env or reg_env
        if reg.is_file():
            return reg, bold if bold.is_file() else reg
    for reg_s, bold_s in CANDIDATES:
        reg, bold = Path(reg_s), Path(bold_s)
        if reg.is_file():
            return reg, bold if bold.is_file() else reg
    raise FontMissing("no Korean TrueType font found: install fonts-nanum "
                      "(apt-get install fonts-nanum) or set MODOPS_REPORT_FONT to a .ttf")
