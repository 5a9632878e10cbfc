"""Retention purge (audited, decided items only) and backup/restore on both stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from modops.ops import backup, purge_project, restore
from modops.ops.backup import BackupFailed
from modops.store import session_scope, utcnow
from modops.store.models import Annotation, AuditLog, Item, Project
from tests.api.world import import_rows
from tests.conftest import snapshot


def _count(engine: Engine, model) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def test_purge_deletes_only_old_decided_items_and_is_audited(engine: Engine, rows,
                                                             project: str) -> None:
    import_rows(engine, project, rows)
    old = utcnow() - timedelta(days=40)
    with session_scope(engine) as s:
        s.execute(update(Item).values(ingested_at=old))
        s.execute(update(Item).where(Item.external_id == "c-2").values(
            ingested_at=utcnow()))  # decided but recent: kept
        decided = s.scalar(select(func.count()).select_from(Item).where(
            Item.state == "decided", Item.external_id != "c-2"))
        undecided = s.scalar(select(func.count()).select_from(Item).where(
            Item.state != "decided"))
    assert decided > 0 and undecided > 0
    before = _count(engine, Item)
    # No retention_days on the project: nothing happens.
    assert purge_project(engine, project)["purged"] == 0
    with session_scope(engine) as s:
        p = s.scalars(select(Project).where(Project.key == project)).one()
        p.settings = {**(p.settings or {}), "retention_days": 30}
    r = purge_project(engine, project, actor="dpo")
    assert r["purged"] == decided
    assert _count(engine, Item) == before - decided
    with session_scope(engine) as s:
        left = set(s.scalars(select(Item.external_id)))
        assert "c-2" in left
        orphans = s.scalar(select(func.count()).select_from(Annotation).where(
            ~Annotation.item_id.in_(select(Item.id))))
        assert orphans == 0  # answers went with their items
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "retention.purge")).all()
        assert [(a.actor, a.after["purged"]) for a in audit] == [("retention", 0),
                                                                ("dpo", decided)][-len(audit):]


def test_backup_then_restore_brings_back_every_row(engine: Engine, rows, project: str,
                                                   tmp_path) -> None:
    url = engine.info_url  # type: ignore[attr-defined]
    import_rows(engine, project, rows)
    want = snapshot(engine)
    out = tmp_path / "modops.backup"
    report = backup(out, url)
    assert out.is_file() and report.bytes > 0
    with session_scope(engine) as s:  # disaster: someone deletes the items
        s.execute(Item.__table__.delete())
    assert snapshot(engine)["items"] == 0
    engine.dispose()
    restore(out, url)
    engine.dispose()
    assert snapshot(engine) == want


def test_restore_refuses_a_file_that_is_not_a_backup(engine: Engine, tmp_path) -> None:
    bad = tmp_path / "bad.backup"
    bad.write_bytes(b"not a backup at all" * 100)
    with pytest.raises(BackupFailed):
        restore(bad, engine.info_url)  # type: ignore[attr-defined]
