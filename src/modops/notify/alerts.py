"""Keeping raised alerts and sending them to webhooks.

``modops.analytics.evaluate_alerts`` only evaluates (it is pure over the database). This is the
caller's half the analytics module leaves out: the result of each evaluation is reconciled with
the stored episodes (``alerts`` table) so an alert that keeps firing is one row, not one row per
check, and a *new* episode is queued to the project's webhooks as an ``alert`` event in the same
transaction (the webhook outbox: nothing is lost if the process dies before delivery).

The on-demand button on the dashboard, the JSON API and the scheduled job can all call
:func:`evaluate_and_record`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, delete, select
from sqlalchemy.orm import Session

from modops.analytics import Alert, evaluate_alerts
from modops.analytics.readmodels import plain  # JSON-safe stats for the JSON column
from modops.domain import NotFound, ValidationError
from modops.notify.webhooks import emit
from modops.store import session_scope, utcnow
from modops.store.audit import record as audit_record
from modops.store.models import Project
from modops.store.models_alerts import AlertRecord

ALERT_EVENT = "alert"


@dataclass(frozen=True)
class Recorded:
    """What one evaluation did: episodes opened, still firing, and resolved."""

    raised: list[Alert]
    opened: list[int]
    updated: list[int]
    resolved: list[int]


def _key(rule: str, subject: str | None) -> tuple[str, str]:
    return rule, subject or ""


def alert_out(rec: AlertRecord, project_key: str) -> dict[str, Any]:
    """The stored episode as the API and the webhook payload show it."""
    return {
        "id": rec.id, "project": project_key, "rule": rec.rule, "severity": rec.severity,
        "subject": rec.subject, "message_en": rec.message_en, "message_ko": rec.message_ko,
        "observed": rec.observed, "expected": rec.expected, "threshold": rec.threshold,
        "stats": rec.stats,
        "window_start": rec.window_start.isoformat() if rec.window_start else None,
        "window_end": rec.window_end.isoformat() if rec.window_end else None,
        "first_seen_at": rec.first_seen_at.isoformat(),
        "last_seen_at": rec.last_seen_at.isoformat(), "times_seen": rec.times_seen,
        "resolved_at": rec.resolved_at.isoformat() if rec.resolved_at else None,
        "peak_observed": rec.peak_observed,
        "peak_at": rec.peak_at.isoformat() if rec.peak_at else None,
        "affected_items": rec.affected_items,
        "acknowledged_by": rec.acknowledged_by,
        "acknowledged_at": rec.acknowledged_at.isoformat() if rec.acknowledged_at else None,
        "assigned_to": rec.assigned_to, "resolved_by": rec.resolved_by,
        "snoozed_until": rec.snoozed_until.isoformat() if rec.snoozed_until else None,
    }


def record_alerts(session: Session, project: Project, alerts: list[Alert],
                  now: datetime, notify: bool = True) -> Recorded:
    """Reconcile one evaluation with the open episodes of ``project``.

    Same (rule, subject) still open → update its numbers; new → insert and queue a webhook
    ``alert`` event; open but not raised now → resolved at ``now``.
    """
    open_rows = {_key(r.rule, r.subject): r for r in session.scalars(
        select(AlertRecord).where(AlertRecord.project_id == project.id,
                                  AlertRecord.resolved_at.is_(None)))}
    opened: list[AlertRecord] = []
    updated: list[int] = []
    seen: set[tuple[str, str]] = set()
    for a in alerts:
        k = _key(a.rule, a.subject)
        if k in seen:  # one row per (rule, subject) even if a rule repeats itself
            continue
        seen.add(k)
        values = {"severity": a.severity, "message_en": a.message_en,
                  "message_ko": a.message_ko, "observed": float(a.observed),
                  "expected": None if a.expected is None else float(a.expected),
                  "threshold": float(a.threshold), "stats": plain(dict(a.stats)),
                  "window_start": a.window_start, "window_end": a.window_end}
        row = open_rows.get(k)
        affected = a.affected_items
        if row is not None:
            for name, value in values.items():
                setattr(row, name, value)
            row.last_seen_at = now
            row.times_seen += 1
            if row.peak_observed is None or a.observed > row.peak_observed:
                row.peak_observed, row.peak_at = float(a.observed), now
            if affected is not None:
                row.affected_items = max(row.affected_items or 0, affected)
            updated.append(row.id)
            continue
        row = AlertRecord(project_id=project.id, rule=a.rule, subject=a.subject,
                          first_seen_at=now, last_seen_at=now, times_seen=1,
                          peak_observed=float(a.observed), peak_at=now,
                          affected_items=affected, **values)
        session.add(row)
        opened.append(row)
    resolved = []
    for k, row in open_rows.items():
        if k not in seen:
            row.resolved_at = now
            resolved.append(row.id)
    session.flush()
    for row in opened if notify else ():
        emit(session, project.id, ALERT_EVENT, {"project": project.key,
                                                 "alert": alert_out(row, project.key)})
    return Recorded(alerts, [r.id for r in opened], updated, resolved)


def evaluate_and_record(engine: Engine, project_key: str,
                        now: datetime | None = None) -> Recorded:
    """Evaluate every enabled rule at ``now`` and keep the result (see module docstring)."""
    at = now or utcnow()
    alerts = evaluate_alerts(engine, project_key, at)
    with session_scope(engine, immediate=True) as s:  # reads, then writes (see webhooks.emit)
        project = s.scalars(select(Project).where(Project.key == project_key)).one()
        return record_alerts(s, project, alerts, at)


SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def stored_alerts(session: Session, project: Project, limit: int = 200,
                  now: datetime | None = None) -> list[AlertRecord]:
    """Open episodes first, critical before warning before info; snoozed ones after the
    others while their snooze lasts; then the most recently seen."""
    at = now or utcnow()
    severity = case(SEVERITY_ORDER, value=AlertRecord.severity, else_=3)
    snoozed = case((AlertRecord.snoozed_until > at, 1), else_=0)
    return list(session.scalars(
        select(AlertRecord).where(AlertRecord.project_id == project.id)
        .order_by(AlertRecord.resolved_at.is_not(None), snoozed, severity,
                  AlertRecord.last_seen_at.desc(), AlertRecord.id.desc()).limit(limit)))


def replay_alerts(engine: Engine, project_key: str, start: datetime, end: datetime,
                  step: timedelta = timedelta(hours=3)) -> int:
    """Evaluate every rule at each ``step`` of ``[start, end]`` as if the scheduler had run
    then, keeping the episodes (alerts were once evaluated only at a period's end, so a spike
    that was over by then never showed). Episodes first seen in the window are replaced, so a
    replay can be repeated; returns the number of evaluations. Webhooks are not sent for
    the past: a replay writes history, it does not page anyone."""
    with session_scope(engine, immediate=True) as s:
        project = s.scalars(select(Project).where(Project.key == project_key)).one()
        s.execute(delete(AlertRecord).where(AlertRecord.project_id == project.id,
                                            AlertRecord.first_seen_at >= start,
                                            AlertRecord.first_seen_at <= end))
    n, at = 0, start
    while at <= end:
        alerts = evaluate_alerts(engine, project_key, at)
        with session_scope(engine, immediate=True) as s:
            project = s.scalars(select(Project).where(Project.key == project_key)).one()
            record_alerts(s, project, alerts, at, notify=False)
        n += 1
        at += step
    return n


def _episode(session: Session, project: Project, alert_id: int) -> AlertRecord:
    rec = session.get(AlertRecord, alert_id)
    if rec is None or rec.project_id != project.id:
        raise NotFound(f"alert {alert_id} not found in project {project.key}")
    return rec


def acknowledge(session: Session, project: Project, alert_id: int, actor: str,
                now: datetime | None = None) -> AlertRecord:
    """Mark an episode as taken by ``actor`` (the first acknowledgement stands; audited)."""
    rec = _episode(session, project, alert_id)
    if rec.acknowledged_at is None:
        rec.acknowledged_by, rec.acknowledged_at = actor, now or utcnow()
        audit_record(session, actor=actor, action="alert.acknowledge", entity="alert",
                     entity_id=rec.id, project_id=project.id,
                     after={"rule": rec.rule, "subject": rec.subject})
    return rec


def assign(session: Session, project: Project, alert_id: int, assignee: str,
           actor: str) -> AlertRecord:
    """Give the episode to ``assignee`` (an active user of the project's staff); audited."""
    from modops.store.models import User

    rec = _episode(session, project, alert_id)
    user = session.scalar(select(User).where(User.username == assignee))
    if user is None or not user.active:
        raise ValidationError(f"no active user {assignee!r} to assign the alert to")
    if rec.assigned_to != assignee:
        audit_record(session, actor=actor, action="alert.assign", entity="alert",
                     entity_id=rec.id, project_id=project.id,
                     before={"assigned_to": rec.assigned_to}, after={"assigned_to": assignee})
        rec.assigned_to = assignee
    return rec


MAX_SNOOZE = timedelta(days=7)


def snooze(session: Session, project: Project, alert_id: int, span: timedelta, actor: str,
           now: datetime | None = None) -> AlertRecord:
    """Sort the episode below the others for ``span`` (up to a week); it keeps being
    evaluated and still resolves by itself. Audited."""
    if not timedelta(0) < span <= MAX_SNOOZE:
        raise ValidationError("snooze between a minute and 7 days")
    rec = _episode(session, project, alert_id)
    until = (now or utcnow()) + span
    audit_record(session, actor=actor, action="alert.snooze", entity="alert", entity_id=rec.id,
                 project_id=project.id, before={"snoozed_until": _iso(rec.snoozed_until)},
                 after={"snoozed_until": _iso(until)})
    rec.snoozed_until = until
    return rec


def resolve(session: Session, project: Project, alert_id: int, actor: str,
            now: datetime | None = None) -> AlertRecord:
    """Close the episode by hand (audited). If the rule still fires at the next evaluation,
    that is a new episode: a person said this one was dealt with."""
    rec = _episode(session, project, alert_id)
    if rec.resolved_at is None:
        rec.resolved_at, rec.resolved_by = now or utcnow(), actor
        audit_record(session, actor=actor, action="alert.resolve", entity="alert",
                     entity_id=rec.id, project_id=project.id,
                     after={"rule": rec.rule, "subject": rec.subject})
    return rec


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(microsecond=0).isoformat()


def incidents_between(session: Session, project: Project, start: datetime,
                      end: datetime) -> list[AlertRecord]:
    """Episodes that were open at some moment of ``[start, end)``, in order of start."""
    return list(session.scalars(
        select(AlertRecord).where(
            AlertRecord.project_id == project.id, AlertRecord.first_seen_at < end,
            (AlertRecord.resolved_at.is_(None)) | (AlertRecord.resolved_at > start))
        .order_by(AlertRecord.first_seen_at, AlertRecord.id)))
