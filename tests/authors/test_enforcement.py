"""Strikes and account enforcement (issue 19): strikes per policy with decay windows, the
ladder, and the account webhooks — signed, retried and not duplicated — against a real local
HTTP receiver; appeals lift an enforcement."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Engine, func, select

from modops.authors import appeal_enforcement, apply_strikes, resolve_enforcement_appeal
from modops.net.outbound import GuardedClient, OutboundPolicy
from modops.notify.webhooks import create_webhook, deliver_due
from modops.projects import get_project, update_project
from modops.store import outbox, session_scope
from modops.store.models import AuditLog, Item, Product, Project
from modops.store.models_authors import Author, Enforcement, Strike
from modops.store.models_web import WebhookDelivery
from tests.api.test_webhooks import Receiver

NOW = datetime(2026, 11, 20, 12)
LOOPBACK = OutboundPolicy.parse("loopback")


def _removed(engine: Engine, project: str, author: str, labels: list[str], days_ago: float,
             n: int = 1, action: str = "remove") -> None:
    """``n`` items of ``author`` decided with ``labels`` ``days_ago`` days before NOW."""
    with session_scope(engine) as s:
        pid = s.scalar(select(Project.id).where(Project.key == project))
        product = s.scalar(select(Product.id).where(Product.key == "comment"))
        start = s.scalar(select(func.count()).select_from(Item)) or 0
        for k in range(n):
            at = NOW - timedelta(days=days_ago, minutes=k)
            s.add(Item(project_id=pid, external_id=f"{author}-{start + k}", product_id=product,
                       comment="악플", created_at=at, ingested_at=at, state="decided",
                       route="human", final_labels=labels, final_action=action,
                       decided_at=at, author_id=author))


def _status(engine: Engine, author: str) -> tuple[str, list[str]]:
    with session_scope(engine) as s:
        a = s.scalar(select(Author).where(Author.platform_id == author))
        assert a is not None
        actions = list(s.scalars(select(Enforcement.action).where(
            Enforcement.author_id == a.id).order_by(Enforcement.id)))
        return a.status, actions


def test_strikes_decay_and_climb_the_ladder(engine: Engine, project: str) -> None:
    # 2 old harassment removals (outside the 90-day window), 3 recent: warn, then restrict
    _removed(engine, project, "troll", ["harassment"], days_ago=120, n=2)
    _removed(engine, project, "troll", ["harassment"], days_ago=2, n=1)
    report = apply_strikes(engine, project, now=NOW)
    assert report.strikes == 3 and _status(engine, "troll") == ("warned", ["warn"])
    _removed(engine, project, "troll", ["harassment", "profanity"], days_ago=1, n=2)
    report = apply_strikes(engine, project, now=NOW)
    assert report.strikes == 4  # two items × two policies
    assert _status(engine, "troll") == ("restricted", ["warn", "restrict"])
    # idempotent: nothing new struck, nothing enforced twice
    assert apply_strikes(engine, project, now=NOW).strikes == 0
    assert _status(engine, "troll")[1] == ["warn", "restrict"]
    # a kept item (no_action) and an item without author never strike
    _removed(engine, project, "fine", ["none"], days_ago=1, action="no_action")
    assert apply_strikes(engine, project, now=NOW).strikes == 0
    # per-policy windows from the project's settings: profanity decays after 1 day
    with session_scope(engine) as s:
        proj = get_project(s, project)
        update_project(s, proj, {"settings": {**(proj.settings or {}), "strikes": {
            "policy_windows": {"profanity": 0.5}, "ladder": [[1, "warn"], [2, "ban"]]}}},
            actor="test")
    _removed(engine, project, "newbie", ["profanity"], days_ago=3, n=1)
    _removed(engine, project, "newbie", ["profanity"], days_ago=0.1, n=1)
    apply_strikes(engine, project, now=NOW)
    assert _status(engine, "newbie") == ("warned", ["warn"])  # 1 live, the other decayed
    with session_scope(engine) as s:
        audit = s.scalars(select(AuditLog.after).where(AuditLog.action == "account.enforce"))
        assert sorted(a["action"] for a in audit) == ["restrict", "warn", "warn"]


def test_account_webhooks_signed_retried_not_duplicated(engine: Engine, project: str) -> None:
    receiver = Receiver([500])  # the first attempt fails: the same delivery is retried
    try:
        with session_scope(engine) as s:
            hook = create_webhook(s, url=receiver.url, project_id=None,
                                  events=["account.enforcement"], created_by_id=None,
                                  policy=LOOPBACK)
            secret, hook_id = hook.secret, hook.id
        outbox.forget_webhooks()  # as the API does after creating one (2 s hook cache)
        _removed(engine, project, "spammer", ["spam"], days_ago=1, n=1)
        apply_strikes(engine, project, now=NOW)
        apply_strikes(engine, project, now=NOW)  # again: no second event
        with GuardedClient(LOOPBACK) as client:
            assert deliver_due(engine, client, backoff_s=0.0) == 1  # → 500
            assert deliver_due(engine, client, backoff_s=0.0) == 1  # retried → 200
            assert deliver_due(engine, client, backoff_s=0.0) == 0  # nothing left to send
        assert [status for _, _, status in receiver.requests] == [500, 200]
        (h1, b1, _), (h2, b2, _) = receiver.requests
        assert b1 == b2 and h1["x-modops-delivery"] == h2["x-modops-delivery"]
        expected = hmac.new(secret.encode(), h2["x-modops-timestamp"].encode() + b"." + b2,
                            hashlib.sha256).hexdigest()
        assert hmac.compare_digest(h2["x-modops-signature"], "sha256=" + expected)
        event = orjson.loads(b2)
        assert (event["event"], event["account"], event["action"], event["policy"]) == \
            ("account.enforcement", "spammer", "warn", "spam")
        with session_scope(engine) as s:
            rows = s.scalars(select(WebhookDelivery).where(
                WebhookDelivery.webhook_id == hook_id)).all()
            assert [(d.state, d.attempts) for d in rows] == [("delivered", 2)]
            enforcement_id = event["enforcement_id"]
            # the author appeals; a reviewer overturns: the strike is voided, a lift is sent
            appeal_enforcement(s, enforcement_id, "제 글이 아닙니다 (hacked)", now=NOW)
        with session_scope(engine) as s:
            e = resolve_enforcement_appeal(s, enforcement_id, True, actor="reviewer", now=NOW)
            assert e.state == "overturned"
        assert _status(engine, "spammer")[0] == "active"
        with session_scope(engine) as s:
            assert s.scalar(select(Strike.voided_at)) is not None
        with GuardedClient(LOOPBACK) as client:
            assert deliver_due(engine, client, backoff_s=0.0) == 1
        lift = orjson.loads(receiver.requests[-1][1])
        assert (lift["action"], lift["enforcement_id"]) == ("lift", enforcement_id)
        assert lift["idempotency_key"] != event["idempotency_key"]
        # an overturned strike is not struck again by the next sweep
        assert apply_strikes(engine, project, now=NOW).enforcements == []
    finally:
        receiver.close()


def test_transparency_counts_account_suspensions(engine: Engine, project: str) -> None:
    """Issue 21's DSA summary counts suspensions and bans from the records (not overturned)."""
    from modops.analytics import Filters
    from modops.analytics.dsa import dsa_export
    from modops.analytics.period import Period

    with session_scope(engine) as s:
        proj = get_project(s, project)
        update_project(s, proj, {"settings": {**(proj.settings or {}), "strikes": {
            "ladder": [[1, "suspend"]]}}}, actor="test")
    for who in ("a1", "a2", "a3"):
        _removed(engine, project, who, ["spam"], days_ago=0.2)
    assert len(apply_strikes(engine, project, now=NOW).enforcements) == 3
    with session_scope(engine) as s:
        first = s.scalar(select(Enforcement.id).order_by(Enforcement.id))
        appeal_enforcement(s, first, "오해입니다", now=NOW)
    with session_scope(engine) as s:
        resolve_enforcement_appeal(s, first, True, actor="reviewer", now=NOW)
    out = dsa_export(engine, Period.parse("2026-11-20"), Filters(project=project))
    assert out["summary"]["account_suspensions"] == 2


def test_account_signals_feed_rules(engine: Engine, project: str) -> None:
    from modops.rules import get_signal, load_facts

    _removed(engine, project, "repeat", ["harassment"], days_ago=1, n=3)
    apply_strikes(engine, project, now=NOW)
    with session_scope(engine) as s:
        ids = list(s.scalars(select(Item.id).where(Item.author_id == "repeat")))
        facts = load_facts(s.connection(), ["author"], ids)["author"][ids[0]]
    f = {"author": facts}
    assert get_signal("repeat_offender").extract(f) is True
    assert get_signal("strikes.harassment").extract(f) == 3
    assert get_signal("account_status").extract(f) == "restricted"
