"""Near-duplicate clusters: re-uploads and spam raids, decided once.

- ``media``: items whose files are the same bytes (SHA-256) or whose PDQ hashes are within
  the match distance (31) form a cluster, kept up to date as each item's media is processed.
- ``text``: items whose texts are near-duplicates (Jaccard similarity of character 3-gram
  shingles >= 0.8, found with MinHash LSH from ``datasketch``, 128 permutations), computed
  by a job over a project.

A cluster's id is the id of its first item, so merging two clusters is one UPDATE. A reviewer
can decide a whole cluster: each undecided member gets its own decision (source reviewer,
the cluster as basis) and its own audit entry.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, select, text, update

from modops.domain import DecisionSource, NotFound, TaskState, ValidationError
from modops.domain.states import set_state
from modops.media.pdqindex import PdqIndex, hex_to_bytes
from modops.media.signals import PDQ_MIN_QUALITY
from modops.store import session_scope, utcnow
from modops.store.models import Item, Project, User
from modops.store.models_media import ItemCluster, ItemMedia, MediaObject

KINDS = ("media", "text")
PDQ_CLUSTER_DISTANCE = 31
TEXT_THRESHOLD = 0.8
TEXT_MIN_CHARS = 12  # shorter texts ("ㅋㅋㅋ", "좋아요") are alike by nature, not by copying
NUM_PERM = 128


def _merge(s: Any, project_id: int, kind: str, members: dict[int, float | None]) -> int:
    """Put ``members`` (item id -> similarity) and every cluster any of them is in together."""
    existing = s.execute(select(ItemCluster.item_id, ItemCluster.cluster_id).where(
        ItemCluster.project_id == project_id, ItemCluster.kind == kind,
        ItemCluster.item_id.in_(list(members)))).all()
    cluster_ids = {c for _i, c in existing}
    target = min([*cluster_ids, *members])
    if cluster_ids - {target}:
        s.execute(update(ItemCluster).where(
            ItemCluster.project_id == project_id, ItemCluster.kind == kind,
            ItemCluster.cluster_id.in_(list(cluster_ids - {target}))).values(cluster_id=target))
    have = {i for i, _c in existing}
    now = utcnow()
    for item_id, sim in members.items():
        if item_id not in have:
            s.add(ItemCluster(project_id=project_id, item_id=item_id, kind=kind,
                              cluster_id=target, similarity=sim, created_at=now))
    s.execute(update(ItemCluster).where(
        ItemCluster.project_id == project_id, ItemCluster.kind == kind,
        ItemCluster.item_id.in_(list(members)), ItemCluster.cluster_id != target)
        .values(cluster_id=target))
    return target


def cluster_item_media(engine: Engine, project_id: int, item_id: int) -> int | None:
    """Join the item to the media cluster of every other item of the project whose files
    match its files (same bytes, or PDQ within 31). Returns the cluster id, or None."""
    with session_scope(engine, immediate=True) as s:
        mine = s.execute(select(MediaObject.sha256, MediaObject.pdq, MediaObject.pdq_quality)
                         .join(ItemMedia, ItemMedia.media_id == MediaObject.id).where(
            ItemMedia.item_id == item_id, MediaObject.state == "ready")).all()
        if not mine:
            return None
        others = s.execute(select(ItemMedia.item_id, MediaObject.sha256, MediaObject.pdq,
                                  MediaObject.pdq_quality)
                           .join(MediaObject, MediaObject.id == ItemMedia.media_id).where(
            ItemMedia.project_id == project_id, ItemMedia.item_id != item_id,
            MediaObject.state == "ready")).all()
        members: dict[int, float | None] = {}
        shas = {sha for sha, _p, _q in mine}
        for other, sha, _p, _q in others:
            if sha in shas:
                members[other] = 1.0
        queries = [p for _s, p, q in mine if p and (q or 0) >= PDQ_MIN_QUALITY]
        cands = [(o, p) for o, _s, p, q in others if p and (q or 0) >= PDQ_MIN_QUALITY]
        if queries and cands:
            index = PdqIndex(hex_to_bytes([p for _o, p in cands]),
                             np.asarray([o for o, _p in cands], dtype=np.int64))
            for hits in index.search(hex_to_bytes(queries), PDQ_CLUSTER_DISTANCE):
                for other, dist in hits:
                    sim = 1.0 - dist / 256.0
                    members[other] = max(sim, members.get(other) or 0.0)
        if not members:
            return None
        members[item_id] = 1.0
        return _merge(s, project_id, "media", members)


_SPACE = re.compile(r"\s+")


def shingles(text: str, k: int = 3) -> set[str]:
    t = _SPACE.sub(" ", text.strip().lower())
    return {t[i:i + k] for i in range(max(1, len(t) - k + 1))}


def cluster_texts(engine: Engine, project_key: str, *, threshold: float = TEXT_THRESHOLD,
                  progress: Any = None) -> dict[str, int]:
    """Recompute the project's text clusters (replacing the earlier ones)."""
    from datasketch import MinHash, MinHashLSH

    from modops.machine import item_text

    with session_scope(engine, immediate=True) as s:
        project_id = s.scalar(select(Project.id).where(Project.key == project_key))
        if project_id is None:
            raise NotFound(f"no project {project_key!r}")
        rows = s.execute(select(Item.id, Item.title, Item.caption, Item.comment,
                                Item.transcript, Item.text, Item.ocr_text).where(
            Item.project_id == project_id).order_by(Item.id)).all()
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    sketches: dict[int, Any] = {}
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for n, r in enumerate(rows, 1):
        text = item_text({"title": r.title, "caption": r.caption, "comment": r.comment,
                          "transcript": r.transcript, "text": r.text, "ocr": r.ocr_text})
        if len(text) < TEXT_MIN_CHARS:
            continue
        m = MinHash(num_perm=NUM_PERM)
        m.update_batch([sh.encode() for sh in shingles(text)])
        parent[r.id] = r.id
        for other in lsh.query(m):
            if sketches[other].jaccard(m) >= threshold:
                a, b = find(other), find(r.id)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        lsh.insert(r.id, m)
        sketches[r.id] = m
        if progress is not None and n % 2000 == 0:
            progress(n / len(rows))
    groups: dict[int, list[int]] = {}
    for item_id in parent:
        groups.setdefault(find(item_id), []).append(item_id)
    clusters = {root: ids for root, ids in groups.items() if len(ids) > 1}
    now = utcnow()
    with session_scope(engine, immediate=True) as s:
        s.execute(delete(ItemCluster).where(ItemCluster.project_id == project_id,
                                            ItemCluster.kind == "text"))
        s.add_all([ItemCluster(project_id=project_id, item_id=i, kind="text", cluster_id=root,
                               similarity=None, created_at=now)
                   for root, ids in clusters.items() for i in ids])
    return {"clusters": len(clusters), "items": sum(len(v) for v in clusters.values())}


def cluster_members(engine: Engine, project_key: str, kind: str, cluster_id: int) \
        -> list[dict[str, Any]]:
    with session_scope(engine, immediate=True) as s:
        rows = s.execute(select(Item.id, Item.external_id, Item.state, Item.final_labels)
                         .join(ItemCluster, ItemCluster.item_id == Item.id)
                         .join(Project, Project.id == Item.project_id).where(
            Project.key == project_key, ItemCluster.kind == kind,
            ItemCluster.cluster_id == cluster_id).order_by(Item.id)).all()
    return [{"item_id": r.id, "external_id": r.external_id, "state": r.state,
             "final_labels": r.final_labels} for r in rows]


def decide_cluster(engine: Engine, project_key: str, kind: str, cluster_id: int,
                   labels: list[str], reviewer: User, *, note: str | None = None) \
        -> dict[str, Any]:
    """One decision for a whole cluster: every undecided member gets its own decision (source
    reviewer, basis the cluster) and audit entry; decided members are left as they are."""
    from modops.queue.core import load_project, write_tx
    from modops.queue.decisions import _audit, record_decision

    if kind not in KINDS:
        raise ValidationError(f"cluster kind is one of {', '.join(KINDS)}")
    members = cluster_members(engine, project_key, kind, cluster_id)
    if not members:
        raise NotFound(f"no {kind} cluster {cluster_id} in project {project_key!r}")
    decided, skipped = [], []
    now = utcnow()
    with write_tx(engine) as (conn, pending):
        project = load_project(conn, project_key)
        unknown = [x for x in labels if x not in project.rules.labels]
        if unknown or not labels:
            raise ValidationError(f"unknown labels: {', '.join(unknown) or '(none given)'}")
        for m in members:
            state = conn.execute(select(Item.state).where(Item.id == m["item_id"])).scalar()
            if state not in ("queued", "escalated", "new"):
                skipped.append(m["external_id"])
                continue
            record_decision(conn, pending, project, m["item_id"], labels,
                            source=DecisionSource.REVIEWER, decided_by=reviewer.id,
                            basis={"cluster": {"kind": kind, "id": cluster_id,
                                               "size": len(members)}, "note": note},
                            now=now, actor=reviewer)
            conn.execute(_CANCEL_WORK, {"i": m["item_id"], "now": now})
            decided.append(m["external_id"])
        _audit(conn, reviewer, "cluster.decide", "cluster", f"{kind}:{cluster_id}", project.id,
               after={"labels": labels, "decided": len(decided), "skipped": len(skipped)},
               actor_id=reviewer.id)
    return {"cluster_id": cluster_id, "kind": kind, "decided": decided, "skipped": skipped}


# the member's open and held work ends with its decision (a held lease cannot submit after)
_CANCEL_WORK = text(set_state("tasks", TaskState.CANCELLED, also="done_at = :now",
                              where="item_id = :i", among=(TaskState.OPEN, TaskState.LEASED)))
