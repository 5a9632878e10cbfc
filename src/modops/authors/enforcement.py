"""Strikes and enforcement on accounts (issue 19; docs/rules.md, "Strikes" and "Account
enforcement").

* **Strikes.** Every current removal decision (``remove`` or ``restrict``) of an item with an
  author gives that author one strike per policy label of the decision (``none`` excepted),
  once per (item, policy). A strike counts until its decay window ends: the project's
  ``settings.strikes.window_days`` (90), or ``settings.strikes.policy_windows[policy]``.
* **Enforcement ladder.** The author's count is the largest number of live strikes under one
  policy. ``settings.strikes.ladder`` (default warn at 1, restrict at 3, suspend at 5, ban
  at 8) names the action it reaches; a more severe action than the one in force is taken:
  recorded (table ``enforcements``), audited, set on the author (``status``, and
  ``status_until`` for restrict / suspend), and sent to the platform as a signed
  ``account.enforcement`` webhook through the outbox (retried; one delivery per webhook and
  enforcement, whatever the number of retries).
* **Appeals.** The author may appeal an enforcement; a reviewer upholds or overturns it. An
  overturn lifts it (the author's status drops to what the remaining enforcements give),
  voids the strikes it was taken on, and sends an ``account.enforcement`` webhook with
  action ``lift``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session

from modops.domain import NotFound, ValidationError, events
from modops.projects.service import get_project
from modops.store import outbox, session_scope, utcnow
from modops.store.audit import record
from modops.store.models import Item, Project
from modops.store.models_authors import Author, Enforcement, Strike

ACTIONS = ("warn", "restrict", "suspend", "ban")
SEVERITY = {"active": 0, "warn": 1, "restrict": 2, "suspend": 3, "ban": 4}
STATUS_OF = {"warn": "warned", "restrict": "restricted", "suspend": "suspended",
             "ban": "banned"}
SEVERITY_OF_STATUS = {"active": 0, "warned": 1, "restricted": 2, "suspended": 3, "banned": 4}
REMOVALS = ("remove", "restrict")

DEFAULT_STRIKES: dict[str, Any] = {
    "window_days": 90,  # a strike's decay window, unless its policy has its own
    "policy_windows": {},  # {policy label: days}
    "ladder": [[1, "warn"], [3, "restrict"], [5, "suspend"], [8, "ban"]],
    "restrict_days": 7,
    "suspend_days": 30,
    "repeat_offender": 3,  # live strikes (any policy) from which an author is a repeat offender
}


def strike_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The project's ``settings.strikes`` over the defaults, checked."""
    out = {**DEFAULT_STRIKES, **((settings or {}).get("strikes") or {})}
    ladder = sorted((int(n), str(a)) for n, a in out["ladder"])
    if any(a not in ACTIONS or n < 1 for n, a in ladder):
        raise ValidationError(f"strikes.ladder: steps are [count >= 1, one of {ACTIONS}]")
    out["ladder"] = ladder
    return out


@dataclass
class StrikeReport:
    strikes: int = 0
    enforcements: list[int] = field(default_factory=list)


def _window(cfg: dict[str, Any], policy: str) -> timedelta:
    return timedelta(days=float(cfg["policy_windows"].get(policy, cfg["window_days"])))


def author_for(session: Session, platform_id: str, now: datetime) -> Author:
    """The author row of ``platform_id`` (created if an item named it before the table)."""
    author = session.scalar(select(Author).where(Author.platform_id == platform_id))
    if author is None:
        author = Author(platform_id=platform_id, first_seen_at=now, last_seen_at=now,
                        status="active")
        session.add(author)
        session.flush()
    return author


def apply_strikes(engine: Engine, project_key: str, *, now: datetime | None = None,
                  actor: str = "system") -> StrikeReport:
    """Strike the authors of every removal decision not struck yet, then enforce the ladder.
    Idempotent: run it after decisions (the alert job runs it), as often as you like."""
    now = now or utcnow()
    report = StrikeReport()
    with session_scope(engine, immediate=True) as s:
        project = get_project(s, project_key)
        cfg = strike_settings(project.settings)
        struck, report.strikes = _new_strikes(s, project, cfg)
        for author_id in sorted(struck):
            author = s.get(Author, author_id)
            assert author is not None
            taken = _enforce_ladder(s, project, author, cfg, now, actor,
                                    item_id=struck[author_id][-1])
            if taken is not None:
                report.enforcements.append(taken.id)
    return report


def _new_strikes(s: Session, project: Project,
                 cfg: dict[str, Any]) -> tuple[dict[int, list[int]], int]:
    """Insert the strikes of decided removals not struck yet: ({author id: [item ids]}, how
    many strikes)."""
    rows = s.execute(
        select(Item.id, Item.author_id, Item.final_labels, Item.decided_at)
        .outerjoin(Strike, Strike.item_id == Item.id)
        .where(Item.project_id == project.id, Item.author_id.is_not(None),
               Item.final_action.in_(REMOVALS), Item.decided_at.is_not(None),
               Strike.id.is_(None))
        .order_by(Item.decided_at, Item.id)).all()
    if not rows:
        return {}, 0
    ids = {a.platform_id: a.id for a in s.scalars(
        select(Author).where(Author.platform_id.in_({r[1] for r in rows})))}
    out: dict[int, list[int]] = {}
    n = 0
    for item_id, platform_id, labels, decided_at in rows:
        if platform_id not in ids:
            ids[platform_id] = author_for(s, platform_id, decided_at).id
        author_id = ids[platform_id]
        for policy in dict.fromkeys(str(x) for x in labels or [] if x != "none"):
            s.add(Strike(author_id=author_id, project_id=project.id, item_id=item_id,
                         policy=policy, created_at=decided_at,
                         expires_at=decided_at + _window(cfg, policy)))
            n += 1
        out.setdefault(author_id, []).append(item_id)
    s.flush()
    return out, n


def live_strikes(s: Session, author_id: int, now: datetime,
                 project_id: int | None = None) -> Counter[str]:
    """Strikes in force per policy: not voided, decay window not over."""
    q = select(Strike.policy).where(Strike.author_id == author_id, Strike.voided_at.is_(None),
                                    Strike.expires_at > now, Strike.created_at <= now)
    if project_id is not None:
        q = q.where(Strike.project_id == project_id)
    return Counter(s.scalars(q))


def status_in_force(author: Author, now: datetime) -> str:
    """The author's status now: a restrict or suspend whose time is over no longer counts."""
    if author.status_until is not None and author.status_until <= now:
        return "active"
    return author.status


def _enforce_ladder(s: Session, project: Project, author: Author, cfg: dict[str, Any],
                    now: datetime, actor: str, item_id: int | None) -> Enforcement | None:
    counts = live_strikes(s, author.id, now, project.id)
    if not counts:
        return None
    policy, n = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    reached = [a for need, a in cfg["ladder"] if n >= need]
    if not reached:
        return None
    action = reached[-1]
    if SEVERITY[action] <= SEVERITY_OF_STATUS.get(status_in_force(author, now), 0):
        return None
    return enforce(s, project, author, action, now=now, actor=actor, policy=policy,
                   strikes=n, item_id=item_id, source="strikes", cfg=cfg)


def enforce(s: Session, project: Project, author: Author, action: str, *, now: datetime,
            actor: str, policy: str | None = None, strikes: int = 0,
            item_id: int | None = None, reason: str | None = None, source: str = "manual",
            cfg: dict[str, Any] | None = None) -> Enforcement:
    """Take ``action`` on ``author``: recorded, audited, set on the author, sent as a signed
    webhook (outbox, same transaction)."""
    if action not in ACTIONS:
        raise ValidationError(f"unknown enforcement action {action!r}; one of {ACTIONS}")
    cfg = cfg or strike_settings(project.settings)
    days = {"restrict": cfg["restrict_days"], "suspend": cfg["suspend_days"]}.get(action)
    until = None if days is None else now + timedelta(days=float(days))
    e = Enforcement(author_id=author.id, project_id=project.id, action=action, policy=policy,
                    strikes=strikes, item_id=item_id, reason=reason, source=source,
                    actor=actor, created_at=now, until=until, state="in_force")
    s.add(e)
    before = {"status": author.status}
    author.status, author.status_until = STATUS_OF[action], until
    s.flush()
    record(s, actor=actor, action="account.enforce", entity="author", entity_id=author.id,
           project_id=project.id, before=before,
           after={"enforcement": e.id, "action": action, "policy": policy, "strikes": strikes,
                  "until": until.isoformat() if until else None})
    _emit(s, project, author, e, action)
    return e


def _emit(s: Session, project: Project, author: Author, e: Enforcement, action: str) -> None:
    outbox.add(s, events.ACCOUNT_ENFORCEMENT, {
        "project": project.key, "enforcement_id": e.id, "account": author.platform_id,
        "action": action, "policy": e.policy, "strikes": e.strikes,
        "until": e.until.isoformat() + "Z" if e.until and action != "lift" else None,
        "item_id": e.item_id, "source": e.source,
        # the receiver's idempotency key: the same enforcement (or lift) is never two events
        "idempotency_key": f"enforcement-{e.id}-{action}"})


def appeal_enforcement(s: Session, enforcement_id: int, reason: str, *,
                       now: datetime | None = None, actor: str = "platform") -> Enforcement:
    """The author appeals an enforcement (once)."""
    e = s.get(Enforcement, enforcement_id)
    if e is None:
        raise NotFound(f"no enforcement {enforcement_id}")
    if e.state != "in_force":
        raise ValidationError(f"enforcement {enforcement_id} is {e.state}: it cannot be "
                              "appealed again")
    if not reason.strip():
        raise ValidationError("an appeal needs a reason")
    e.state, e.appeal_reason, e.appealed_at = "appealed", reason[:5000], now or utcnow()
    record(s, actor=actor, action="account.appeal", entity="enforcement", entity_id=e.id,
           project_id=e.project_id, after={"reason": e.appeal_reason})
    return e


def resolve_enforcement_appeal(s: Session, enforcement_id: int, overturn: bool, *,
                               actor: str, now: datetime | None = None) -> Enforcement:
    """Uphold or overturn an appealed enforcement; an overturn lifts it (see module doc)."""
    now = now or utcnow()
    e = s.get(Enforcement, enforcement_id)
    if e is None or e.state != "appealed":
        raise ValidationError(f"enforcement {enforcement_id} has no open appeal")
    e.state, e.resolved_at, e.resolved_by = ("overturned" if overturn else "upheld"), now, actor
    record(s, actor=actor, action="account.appeal.resolve", entity="enforcement",
           entity_id=e.id, project_id=e.project_id, after={"state": e.state})
    if overturn:
        _lift(s, e, now)
    return e


def _lift(s: Session, e: Enforcement, now: datetime) -> None:
    author = s.get(Author, e.author_id)
    project = s.get(Project, e.project_id)
    assert author is not None and project is not None
    if e.policy is not None:
        for strike in s.scalars(select(Strike).where(
                Strike.author_id == author.id, Strike.policy == e.policy,
                Strike.voided_at.is_(None), Strike.created_at <= e.created_at)):
            strike.voided_at, strike.voided_reason = now, f"enforcement {e.id} overturned"
    still = s.scalars(select(Enforcement).where(
        Enforcement.author_id == author.id, Enforcement.state.in_(("in_force", "upheld")),
        Enforcement.id != e.id).order_by(Enforcement.created_at)).all()
    live = [x for x in still if x.until is None or x.until > now]
    top = max(live, key=lambda x: SEVERITY[x.action], default=None)
    author.status = "active" if top is None else STATUS_OF[top.action]
    author.status_until = None if top is None else top.until
    s.flush()
    _emit(s, project, author, e, "lift")


def enforcements_for(s: Session, project_id: int,
                     states: tuple[str, ...] | None = None) -> list[Enforcement]:
    q = select(Enforcement).where(Enforcement.project_id == project_id)
    if states:
        q = q.where(Enforcement.state.in_(states))
    return list(s.scalars(q.order_by(Enforcement.created_at.desc(), Enforcement.id.desc())))


def suspensions_between(s: Session, project_id: int | None, start: datetime,
                        end: datetime) -> int:
    """Account suspensions and bans taken in ``[start, end)`` and not overturned (the DSA
    summary's ``account_suspensions``)."""
    cond = [Enforcement.action.in_(("suspend", "ban")), Enforcement.created_at >= start,
            Enforcement.created_at < end, Enforcement.state != "overturned"]
    if project_id is not None:
        cond.append(Enforcement.project_id == project_id)
    return len(s.scalars(select(Enforcement.id).where(and_(*cond))).all())
