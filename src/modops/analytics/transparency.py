"""Transparency export: a CSV in the spirit of the EU DSA transparency-report template.

One row per (policy label, detection source, decision type) with action counts and median
time to action, then summary rows (automated share, automated accuracy/error rate from the
audit sample). Detection source: ``automated`` when a machine signal flagged the item before
any user report (``metrics.MACHINE_SIGNAL``, the proactive-rate definition), ``user_report``
when a report came first, ``other`` otherwise (found by people: sampled, routed for review
without a signal). Decision type: ``automated`` for machine decisions, ``human`` for the rest.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime

import numpy as np
from sqlalchemy import Engine

from modops.domain.cells import csv_cell

from ._sql import ACTIONED, Scope, run
from .metrics import (
    DEFAULT_SCORE_THRESHOLD,
    MACHINE_SIGNAL,
    METHODOLOGY_VERSION,
    _project_setting,
    compute_metrics,
)
from .period import Filters, Period

COLUMNS = ["period_start", "period_end", "project", "policy_label", "policy_name_en",
           "policy_name_ko", "detection_source", "decision_type", "items_actioned",
           "removed", "restricted", "median_time_to_action_h", "metric", "value",
           "numerator", "denominator", "methodology_version"]


def transparency_rows(engine: Engine, period: Period | str, filters: Filters | None = None,
                      now: datetime | None = None) -> list[dict[str, object]]:
    p = Period.parse(period) if isinstance(period, str) else period
    f = filters or Filters()
    with engine.connect() as conn:
        sc = Scope.resolve(conn, f)
        d = sc.d
        join, lab = d.unnest_labels("i.final_labels", "e")
        thr = float(_project_setting(conn, sc, "score_threshold", DEFAULT_SCORE_THRESHOLD))
        flagged = (f"EXISTS (SELECT 1 FROM routing_decisions r WHERE r.item_id = i.id "
                   f"AND {MACHINE_SIGNAL})")
        rows = run(conn, f"""
            SELECT {lab}, CASE WHEN {flagged} THEN 'automated'
                               WHEN i.user_reported THEN 'user_report' ELSE 'other' END,
                   CASE WHEN d.source = 'machine' THEN 'automated' ELSE 'human' END,
                   i.final_action, {d.secs('i.decided_at', 'i.created_at')}
            FROM items i {join}
            LEFT JOIN decisions d ON d.item_id = i.id AND d.current
            WHERE i.decided_at >= :start AND i.decided_at < :end
              AND i.final_action IN {ACTIONED} AND {sc.items('i')}""",
                   {**sc.params, "start": p.start, "end": p.end, "thr": thr}).all()
        names = {}
        if sc.project_id is not None:
            names = {r[0]: (r[1], r[2]) for r in run(conn, """
                SELECT tl.key, tl.name_en, tl.name_ko FROM taxonomy_labels tl
                JOIN projects pr ON pr.taxonomy_id = tl.taxonomy_id
                WHERE pr.id = :project_id""", sc.params)}
        conn.rollback()
    groups: dict[tuple[str, str, str], list[tuple[str, float]]] = defaultdict(list)
    for label, det, kind, action, tta in rows:
        if label is not None:
            groups[(str(label), det, kind)].append((action, float(tta)))
    base = {"period_start": p.start.isoformat(), "period_end": p.end.isoformat(),
            "project": f.project or "(all)", "methodology_version": METHODOLOGY_VERSION}
    out: list[dict[str, object]] = []
    for (label, det, kind), vals in sorted(groups.items()):
        en, ko = names.get(label, ("", ""))
        out.append({**base, "policy_label": label, "policy_name_en": en, "policy_name_ko": ko,
                    "detection_source": det, "decision_type": kind,
                    "items_actioned": len(vals),
                    "removed": sum(a == "remove" for a, _ in vals),
                    "restricted": sum(a == "restrict" for a, _ in vals),
                    "median_time_to_action_h": round(float(np.median([t for _, t in vals]))
                                                     / 3600.0, 4)})
    ms = compute_metrics(engine, p, f, now)
    for name in ("items_finalized", "automated_share", "audit_error_rate_machine",
                 "auto_action_precision", "time_to_action_median_h", "proactive_rate",
                 "appeal_overturn_rate"):
        m = ms[name]
        out.append({**base, "metric": name, "value": m.value, "numerator": m.numerator,
                    "denominator": m.denominator})
    return out


def transparency_csv(engine: Engine, period: Period | str, filters: Filters | None = None,
                     now: datetime | None = None) -> str:
    """The export as CSV text (UTF-8; Korean label names included)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in transparency_rows(engine, period, filters, now):  # taxonomy names are text
        w.writerow({k: csv_cell(v) if isinstance(v, str) else v for k, v in r.items()})
    return buf.getvalue()
