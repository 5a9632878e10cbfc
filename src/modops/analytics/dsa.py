"""Transparency reporting: DSA-style statements of reasons and summary, and a Korean summary
by the Korea Communications Standards Commission's (KCSC, 방송통신심의위원회) categories.

* **Statements of reasons** — one per actioned item decided in the period, with the fields of
  the EU DSA Transparency Database (Art. 17 / 24(5)): the decision (content removed or
  restricted), its ground (the platform's terms: the policy label), the DSA category, whether
  detection was automated (the proactive-rate definition, ``metrics.MACHINE_SIGNAL``),
  whether the decision was (``fully`` when the machine decided, ``not`` when people did), the
  source (a user notice when a report came before any machine signal, else own initiative),
  the territorial scope and the dates.
* **Summary** — notices received (items with a first user report in the period), complaints
  (appeals opened, decided, overturned), decisions by automation, median time to action from
  a notice and from posting, and account suspensions (suspensions and bans of accounts
  recorded by ``modops.authors`` in the period, overturned ones excepted).
* **KCSC summary** — decisions per KCSC category. The label → category map is ModOps'
  default reading of the 정보통신에 관한 심의규정 headings, to be checked with counsel;
  a project overrides it with ``settings.analytics.kcsc`` ({label or parent: category}).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine

from ._sql import ACTIONED, Scope, run
from .metrics import DEFAULT_SCORE_THRESHOLD, MACHINE_SIGNAL, METHODOLOGY_VERSION, _project_setting
from .period import Filters, Period

# taxonomy label (or its parent) -> DSA Transparency Database category
DSA_CATEGORY = {
    "hate": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "harassment": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "profanity": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "sexual": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
    "minor_safety": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "violence": "STATEMENT_CATEGORY_VIOLENCE",
    "extremism": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "self_harm": "STATEMENT_CATEGORY_SELF_HARM",
    "dangerous_acts": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "illegal_goods": "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    "fraud": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "spam": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE",
}
# taxonomy label (most specific first) -> KCSC category (Korean, English)
KCSC_CATEGORY: dict[str, tuple[str, str]] = {
    "sexual": ("음란·선정", "Obscene or sexual content"),
    "minor_safety": ("청소년 유해·아동 보호", "Harmful to minors"),
    "violence": ("폭력·잔혹·혐오", "Violent, cruel or repulsive content"),
    "dangerous_acts": ("폭력·잔혹·혐오", "Violent, cruel or repulsive content"),
    "hate": ("차별·비하", "Discrimination and disparagement"),
    "harassment": ("권리침해 (명예훼손·모욕)", "Infringement of rights (defamation, insult)"),
    "profanity": ("욕설·비속어 (사회질서 위반)", "Profanity (against social order)"),
    "self_harm": ("자살·자해 조장", "Promoting suicide or self-harm"),
    "extremism": ("테러·폭력적 극단주의", "Terrorism and violent extremism"),
    "illegal_goods.drugs": ("마약류 등 불법 의약품", "Drugs and illegal medicines"),
    "illegal_goods.gambling": ("사행행위 (불법 도박)", "Illegal gambling"),
    "illegal_goods": ("불법 상품 거래", "Trade in illegal goods"),
    "fraud": ("불법 금융·사기", "Illegal finance and fraud"),
    "spam": ("불법 광고·스팸", "Illegal advertising and spam"),
}
OTHER_KCSC = ("기타 법령 위반", "Other violations of law")
CONTENT_TYPE = {"comment": "CONTENT_TYPE_TEXT", "short_video": "CONTENT_TYPE_VIDEO",
                "live": "CONTENT_TYPE_VIDEO", "ad": "CONTENT_TYPE_OTHER"}
SOR_COLUMNS = ["puid", "content_type", "content_date", "application_date", "decision_visibility",
               "decision_ground", "incompatible_content_ground", "category", "policy_labels",
               "automated_detection", "automated_decision", "source_type",
               "territorial_scope", "time_to_action_h", "methodology_version"]


def _by_prefix(table: dict[str, Any], label: str) -> Any:
    """The entry for the label or its nearest parent (``hate.gender`` → ``hate``)."""
    parts = label.split(".")
    for n in range(len(parts), 0, -1):
        hit = table.get(".".join(parts[:n]))
        if hit is not None:
            return hit
    return None


def _median_h(values: list[float]) -> float | None:
    return round(float(np.median(values)) / 3600.0, 4) if values else None


def dsa_export(engine: Engine, period: Period | str, filters: Filters | None = None,
               now: datetime | None = None) -> dict[str, Any]:
    """Statements of reasons, the summary and the KCSC summary for one period (see module)."""
    p = Period.parse(period) if isinstance(period, str) else period
    f = filters or Filters()
    with engine.connect() as conn:
        sc = Scope.resolve(conn, f)
        d = sc.d
        thr = float(_project_setting(conn, sc, "score_threshold", DEFAULT_SCORE_THRESHOLD))
        scope = _project_setting(conn, sc, "territorial_scope", None)
        kcsc_custom = _project_setting(conn, sc, "kcsc", None) or {}
        signal = ("EXISTS (SELECT 1 FROM routing_decisions r WHERE r.item_id = i.id "
                  f"AND {MACHINE_SIGNAL})")
        params = {**sc.params, "start": p.start, "end": p.end, "thr": thr}
        rows = run(conn, f"""
            SELECT i.external_id, g.key, i.created_at, i.decided_at, i.final_action,
                   {d.labels_text('i.final_labels')}, CASE WHEN {signal} THEN 1 ELSE 0 END,
                   d.source, i.reported_at, {d.secs('i.decided_at', 'i.created_at')},
                   i.metadata
            FROM items i JOIN products g ON g.id = i.product_id
            LEFT JOIN decisions d ON d.item_id = i.id AND d.current
            WHERE i.decided_at >= :start AND i.decided_at < :end
              AND i.final_action IN {ACTIONED} AND {sc.items('i')}
            ORDER BY i.decided_at, i.id""", params).all()
        notices = run(conn, f"""
            SELECT COUNT(*),
                   SUM(CASE WHEN i.final_action IN {ACTIONED} THEN 1 ELSE 0 END)
            FROM items i WHERE i.reported_at >= :start AND i.reported_at < :end
              AND {sc.items('i')}""", params).one()
        notice_tta = [float(r[0]) for r in run(conn, f"""
            SELECT {d.secs('i.decided_at', 'i.reported_at')} FROM items i
            WHERE i.reported_at >= :start AND i.reported_at < :end
              AND i.final_action IN {ACTIONED} AND i.decided_at >= i.reported_at
              AND {sc.items('i')}""", params).all()]
        appeals = run(conn, f"""
            SELECT COUNT(*), SUM(CASE WHEN ap.state <> 'open' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN ap.state = 'overturned' THEN 1 ELSE 0 END)
            FROM appeals ap WHERE ap.opened_at >= :start AND ap.opened_at < :end
              AND {sc.appeals('ap')}""", params).one()
        suspensions = _account_suspensions(conn, sc, params)
        conn.rollback()
    statements = []
    kcsc: dict[tuple[str, str], int] = {}
    tta: list[float] = []
    auto_detect = auto_decide = 0
    for ext, product, created, decided, action, labels_raw, flagged, source, reported, secs, \
            meta in rows:
        labels = json.loads(labels_raw) if isinstance(labels_raw, str) else (labels_raw or [])
        labels = [str(x) for x in labels if x != "none"]
        first = labels[0] if labels else ""
        detected = bool(flagged)
        machine = source == "machine"
        auto_detect += detected
        auto_decide += machine
        tta.append(float(secs))
        md = json.loads(meta) if isinstance(meta, str) else (meta or {})
        region = md.get("author_region") if isinstance(md, dict) else None
        territory = scope or ([str(region)] if region else ["KR"])
        statements.append({
            "puid": ext, "content_type": CONTENT_TYPE.get(product, "CONTENT_TYPE_OTHER"),
            "content_date": _iso(created), "application_date": _iso(decided),
            "decision_visibility": ("DECISION_VISIBILITY_CONTENT_REMOVED" if action == "remove"
                                    else "DECISION_VISIBILITY_CONTENT_DEMOTED"),
            "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "incompatible_content_ground": first,
            "category": _by_prefix(DSA_CATEGORY, first) or "STATEMENT_CATEGORY_OTHER",
            "policy_labels": ",".join(labels),
            "automated_detection": "Yes" if detected else "No",
            "automated_decision": ("AUTOMATED_DECISION_FULLY" if machine
                                   else "AUTOMATED_DECISION_NOT_AUTOMATED"),
            "source_type": ("SOURCE_ARTICLE_16" if reported is not None and not detected
                            else "SOURCE_VOLUNTARY"),
            "territorial_scope": ",".join(territory),
            "time_to_action_h": round(float(secs) / 3600.0, 4),
            "methodology_version": METHODOLOGY_VERSION,
        })
        for label in labels or [""]:
            cat = kcsc_custom.get(label) or _by_prefix(kcsc_custom, label)
            key = tuple(cat) if isinstance(cat, list | tuple) else (
                (str(cat), str(cat)) if cat else (_by_prefix(KCSC_CATEGORY, label) or OTHER_KCSC))
            kcsc[key] = kcsc.get(key, 0) + 1
    n = len(statements)
    summary = {
        "period_start": p.start.isoformat(), "period_end": p.end.isoformat(),
        "project": f.project or "(all)", "statements_of_reasons": n,
        "removed": sum(s["decision_visibility"].endswith("REMOVED") for s in statements),
        "restricted": sum(s["decision_visibility"].endswith("DEMOTED") for s in statements),
        "automated_detection": auto_detect, "automated_decision": auto_decide,
        "human_decision": n - auto_decide,
        "notices_received": int(notices[0] or 0),
        "notices_actioned": int(notices[1] or 0),
        "median_time_to_action_from_notice_h": _median_h(notice_tta),
        "median_time_to_action_h": _median_h(tta),
        "complaints_received": int(appeals[0] or 0),
        "complaints_decided": int(appeals[1] or 0),
        "complaints_overturned": int(appeals[2] or 0),
        "account_suspensions": suspensions,
        "account_suspensions_note": ("suspensions and bans of accounts taken in the period, "
                                     "overturned ones excepted (table enforcements)"),
        "methodology_version": METHODOLOGY_VERSION,
    }
    kcsc_rows = [{"category_ko": ko, "category_en": en, "decisions": c}
                 for (ko, en), c in sorted(kcsc.items(), key=lambda kv: (-kv[1], kv[0]))]
    return {"statements_of_reasons": statements, "summary": summary, "kcsc": kcsc_rows}


def _account_suspensions(conn: Any, sc: Scope, params: dict[str, Any]) -> int:
    """Account suspensions and bans recorded in the period (``modops.authors``), not
    overturned on appeal."""
    where = "e.project_id = :project_id" if sc.project_id is not None else "1 = 1"
    return int(run(conn, f"""
        SELECT COUNT(*) FROM enforcements e WHERE e.action IN ('suspend', 'ban')
          AND e.state <> 'overturned' AND e.created_at >= :start AND e.created_at < :end
          AND {where}""", params).scalar() or 0)


def _iso(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds") + "Z"
    return str(v)


def statements_csv(export: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SOR_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for s in export["statements_of_reasons"]:
        w.writerow(s)
    return buf.getvalue()
