"""Render the PDF page with the Incidents section of the demo's spike-week report to
``docs/screenshots/report-incidents-ko.png`` (``make screenshot-incidents``).

Builds a small demo world in a temporary directory (nothing is written to the checkout but
the one PNG), writes the Korean PDF of the ISO week holding the planted spike, finds the page
whose text holds the Incidents heading (``pdftotext``) and renders it with ``pdftoppm``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from rich.console import Console
from sqlalchemy.pool import NullPool

from modops.analytics import Period
from modops.reports import build_reports
from modops.simulate.world import COMMENTS, WorldConfig, build_world
from modops.store import make_engine, upgrade

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "report-incidents-ko.png"
END = datetime(2026, 3, 2, 6)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="modops-incidents-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'demo.db'}", poolclass=NullPool)
        upgrade(engine)
        summary = build_world(engine, WorldConfig.for_items(900, end=END), Console(stderr=True))
        assert summary is not None
        week = Period.containing("week", summary.spike_window[0])
        files = build_reports(engine, [COMMENTS], week.label, langs=["ko"], formats=["pdf"],
                              out_dir=tmp, now=summary.end)
        pdf = files[("ko", "pdf")]
        pages = int(next(line.split()[-1] for line in subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
            .splitlines() if line.startswith("Pages:")))
        for page in range(1, pages + 1):
            text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                                  capture_output=True, text=True, check=True).stdout
            if "인시던트" in text and "시작 (KST)" in text:
                break
        else:
            print("no page with the Incidents table", file=sys.stderr)
            return 1
        stem = Path(tmp) / "page"
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(stem)], check=True)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f"{stem}.png", OUT)
        engine.dispose()
    print(f"wrote {OUT} (page {page} of the {week.label} report)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
