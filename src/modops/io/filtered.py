"""A filtered export: only the items that match (state, creation day, final label, product),
in any export format, written all-or-nothing like ``export_project``.

Filters are checked on the export rows themselves, so a filtered file has exactly the rows
(and columns) an unfiltered one would have for those items. Days are calendar days in the
project's reporting time zone (KST): "2026-11-20" means 00:00–24:00 in Seoul.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Engine

from modops.domain import ItemState, ValidationError
from modops.io.exporter import EXPORT_FORMATS, WRITERS, ExportReport, iter_export_rows

KST = ZoneInfo("Asia/Seoul")
STATES = tuple(s.value for s in ItemState)


@dataclass(frozen=True, slots=True)
class ExportFilter:
    state: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    label: str | None = None  # a parent label matches its children too
    product: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> ExportFilter:
        """From a job's ``params.filters`` (strings; empty = no filter); refuses bad values."""
        raw = {k: v for k, v in (raw or {}).items() if v not in (None, "")}
        unknown = sorted(set(raw) - {"state", "date_from", "date_to", "label", "product"})
        if unknown:
            raise ValidationError(f"unknown export filter {unknown[0]!r}")
        state = raw.get("state")
        if state is not None and state not in STATES:
            raise ValidationError(f"state must be one of {', '.join(STATES)}, got {state!r}")
        start, end = _day(raw.get("date_from")), _day(raw.get("date_to"))
        if start and end and start > end:
            raise ValidationError("date_from must not be after date_to")
        return cls(state, start, end, raw.get("label"), raw.get("product"))

    def as_params(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, date) else v
                for k in ("state", "date_from", "date_to", "label", "product")
                if (v := getattr(self, k)) is not None}

    def matches(self, row: dict[str, Any]) -> bool:
        if self.state and row.get("state") != self.state:
            return False
        if self.product and row.get("product") != self.product:
            return False
        return self._label_matches(row) and self._day_matches(row)

    def _label_matches(self, row: dict[str, Any]) -> bool:
        label = self.label
        return not label or any(lab == label or str(lab).startswith(label + ".")
                                for lab in row.get("final_labels") or ())

    def _day_matches(self, row: dict[str, Any]) -> bool:
        if not (self.date_from or self.date_to):
            return True
        day = _kst_day(row.get("created_at"))
        if day is None:
            return False
        return not ((self.date_from and day < self.date_from)
                    or (self.date_to and day > self.date_to))


def _day(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"a day is YYYY-MM-DD, got {value!r}") from None


def _kst_day(iso: Any) -> date | None:
    if not iso:
        return None
    moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(KST).date()


def _scanned(rows: Iterator[dict[str, Any]], progress: Callable[[int], None] | None,
             keep: ExportFilter) -> Iterator[dict[str, Any]]:
    for n, row in enumerate(rows, 1):
        if progress is not None and n % 2000 == 0:
            progress(n)
        if keep.matches(row):
            yield row


def export_filtered(engine: Engine, project_key: str, fmt: str, out: str | Path,
                    filters: ExportFilter, *,
                    progress: Callable[[int], None] | None = None) -> ExportReport:
    """Write the matching items to ``out`` (via a temp file: a reader never sees half a file).
    ``progress`` gets the number of items scanned so far."""
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"unknown format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")
    import time

    started = time.perf_counter()
    path = Path(out)
    report = ExportReport(file=str(path), format=fmt)
    rows: Iterator[Any] = _scanned(iter_export_rows(engine, project_key), progress, filters)
    if fmt == "jsonl":
        rows = ((orjson.dumps(r) + b"\n", 1, len(r["annotations"])) for r in rows)
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("wb") as f:
            WRITERS[fmt](rows, f, report)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - started
    return report
