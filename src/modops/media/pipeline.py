"""Media use cases: attach files to items, process them, and act on what processing found.

    attach (path | upload)  ──store (SHA-256)──▶ item_media: pending ──▶ job media_process
    attach (http(s) URL)    ──▶ item_media: fetching ──job media_fetch──▶ pending ──▶ …
    media_process: sniff ▸ probe ▸ keyframes ▸ thumbnail strip ▸ PDQ ▸ vPDQ ▸ OCR
                   └─ one UPDATE at the end: ready, or media_error with the reason
    then, per item: ocr_text ▸ bank matches (recorded; auto-action or review first)
                    ▸ re-score with the OCR text ▸ media near-duplicate cluster

Idempotent and resumable: a file is processed once per ``PIPELINE_VERSION`` (a job run twice,
or re-run after a crash mid-way, finds the work done or redoes all of it; nothing is half
written because every result is written in one transaction at the end), and the per-item
outcome replaces its earlier matches instead of adding to them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from modops.domain import DecisionSource, NotFound, ValidationError
from modops.media.blobstore import LocalMediaStore, StoredBlob, TooLarge, media_store
from modops.media.decode import MediaRejected, jpeg_bytes, probe_file, sniff, strip
from modops.media.fetch import FetchRefused
from modops.media.settings import MediaSettings, media_settings
from modops.store import session_scope, utcnow
from modops.store.audit import record
from modops.store.models import Item, Project, Task, User
from modops.store.models_media import ItemMedia, MediaMatch, MediaObject

log = logging.getLogger("modops.media")

PIPELINE_VERSION = 1
# Served ahead of everything not itself matched: a year of SLA urgency (priority_score counts
# one unit per day of deadline)
HASH_MATCH_BOOST = 365.0
MEDIA_ERROR = "media_error"
MAX_MEDIA_PER_ITEM = 20
_URL = re.compile(r"^https?://", re.I)

# How a URL becomes bytes: (url, max_bytes, timeout_s) -> chunks. The default is the guarded
# outbound client (SSRF-safe); tests may pass a local one.
Fetcher = Callable[[str, int, float], Iterable[bytes]]


# --- attaching ---------------------------------------------------------------------------------

def _item(s: Any, project_key: str, external_id: str) -> tuple[int, int]:
    row = s.execute(select(Item.id, Item.project_id).join(Project, Project.id == Item.project_id)
                    .where(Project.key == project_key, Item.external_id == external_id)).first()
    if row is None:
        raise NotFound(f"no item {external_id!r} in project {project_key!r}")
    return int(row[0]), int(row[1])


def _next_position(s: Any, item_id: int) -> int:
    taken = s.scalars(select(ItemMedia.position).where(ItemMedia.item_id == item_id)).all()
    if len(taken) >= MAX_MEDIA_PER_ITEM:
        raise ValidationError(f"an item carries at most {MAX_MEDIA_PER_ITEM} media files")
    return max(taken, default=-1) + 1


def _media_row(s: Any, blob: StoredBlob) -> MediaObject:
    row = s.scalar(select(MediaObject).where(MediaObject.sha256 == blob.sha256))
    if row is None:
        row = MediaObject(sha256=blob.sha256, md5=blob.md5, size=blob.size, state="pending",
                          pipeline_version=0, created_at=utcnow())
        s.add(row)
        s.flush()
    return row


def _keep(store: LocalMediaStore, source: Callable[[], Iterable[bytes]], *, empty: str,
          refused: str) -> tuple[StoredBlob | None, str | None]:
    """Store what ``source`` yields: (the blob, None), or (None, the reason it was not kept:
    empty, over the size limit, refused by the fetcher, unreadable)."""
    try:
        blob = store.put_stream(source())
    except (TooLarge, FetchRefused) as exc:
        return None, f"{refused}: {exc}"
    except OSError as exc:
        return None, f"the file could not be read: {exc.strerror or exc}"
    return (None, empty) if blob.size == 0 else (blob, None)


def attach_blob_chunks(engine: Engine, project_key: str, external_id: str,
                       chunks: Iterable[bytes], *, source: str, filename: str | None,
                       actor: User | str | None = "system",
                       store: LocalMediaStore | None = None, enqueue: bool = True) \
        -> dict[str, Any]:
    """Store bytes (an upload, or a file named in an import) and link them to an item. A file
    over the size limit, or empty, is recorded as ``media_error`` on the item, not raised."""
    store = store or media_store()
    with session_scope(engine, immediate=True) as s:
        item_id, project_id = _item(s, project_key, external_id)
    blob, error = _keep(store, lambda: chunks, empty="the file is empty (0 bytes)",
                        refused="not stored")
    now = utcnow()
    with session_scope(engine, immediate=True) as s:
        media = _media_row(s, blob) if blob is not None and error is None else None
        link = ItemMedia(project_id=project_id, item_id=item_id,
                         position=_next_position(s, item_id), source=source,
                         filename=(filename or "")[:255] or None,
                         media_id=media.id if media else None,
                         state=MEDIA_ERROR if error else "pending", error=error,
                         created_at=now, updated_at=now)
        s.add(link)
        s.flush()
        out: dict[str, Any] = {"id": link.id, "item_id": item_id, "state": link.state,
                               "error": error,
               "sha256": blob.sha256 if blob else None, "media_id": link.media_id}
        record(s, actor=actor, action="media.attach", entity="item", entity_id=item_id,
               project_id=project_id, after={"source": source, "filename": link.filename,
                                             "sha256": out["sha256"], "error": error})
    if enqueue and media is not None:
        enqueue_processing(engine, project_key, int(out["media_id"]))
    return out


def attach_path(engine: Engine, project_key: str, external_id: str, path: str,
                base_dir: Path, **kw: Any) -> dict[str, Any]:
    """A file named in an import file, relative to that file. Paths that leave the import
    file's directory (``..``, absolute paths, symlinks out) are refused."""
    base = base_dir.resolve()
    target = (base / path).resolve()
    if not target.is_relative_to(base):
        return _attach_error(engine, project_key, external_id, "path", path,
                             "the path leaves the import file's directory", **kw)
    if not target.is_file():
        return _attach_error(engine, project_key, external_id, "path", path,
                             "no such file next to the import file", **kw)
    from modops.media.blobstore import read_chunks

    return attach_blob_chunks(engine, project_key, external_id, read_chunks(target),
                              source="path", filename=path, **kw)


def _attach_error(engine: Engine, project_key: str, external_id: str, source: str,
                  name: str, error: str, *, actor: User | str | None = "system",
                  **_kw: Any) -> dict[str, Any]:
    now = utcnow()
    with session_scope(engine, immediate=True) as s:
        item_id, project_id = _item(s, project_key, external_id)
        link = ItemMedia(project_id=project_id, item_id=item_id,
                         position=_next_position(s, item_id), source=source,
                         filename=name[:255], state=MEDIA_ERROR, error=error,
                         created_at=now, updated_at=now)
        s.add(link)
        s.flush()
        record(s, actor=actor, action="media.attach", entity="item", entity_id=item_id,
               project_id=project_id, after={"source": source, "filename": name[:255],
                                             "error": error})
        return {"id": link.id, "item_id": item_id, "state": MEDIA_ERROR, "error": error,
                "sha256": None, "media_id": None}


def attach_url(engine: Engine, project_key: str, external_id: str, url: str, *,
               actor: User | str | None = "system", enqueue: bool = True) -> dict[str, Any]:
    """An http(s) URL, fetched later by a ``media_fetch`` job (size and time limits, SSRF
    guard). Other schemes (file:, ftp:, data:) are refused at once."""
    if not _URL.match(url) or len(url) > 4000:
        return _attach_error(engine, project_key, external_id, "url", url[:255],
                             "only http(s) URLs are fetched", actor=actor)
    now = utcnow()
    with session_scope(engine, immediate=True) as s:
        item_id, project_id = _item(s, project_key, external_id)
        link = ItemMedia(project_id=project_id, item_id=item_id,
                         position=_next_position(s, item_id), source="url", source_url=url,
                         state="fetching", created_at=now, updated_at=now)
        s.add(link)
        s.flush()
        link_id = link.id
        record(s, actor=actor, action="media.attach", entity="item", entity_id=item_id,
               project_id=project_id, after={"source": "url", "url": url})
    if enqueue:
        from modops.jobs import enqueue as enqueue_job

        enqueue_job(engine, "media_fetch", {"item_media_id": link_id}, project_key=project_key)
    return {"id": link_id, "item_id": item_id, "state": "fetching", "error": None,
            "sha256": None, "media_id": None}


def enqueue_processing(engine: Engine, project_key: str | None, media_id: int) -> int:
    from modops.jobs import enqueue as enqueue_job

    return enqueue_job(engine, "media_process", {"media_id": media_id}, project_key=project_key)


def attach_batch_media(engine: Engine, project_key: str, batch_id: str, base_dir: Path, *,
                       actor: User | str | None = "system") -> int:
    """After an import: the ``media_url`` of each item of the batch becomes media. Several may
    be given, one a line; a value without a scheme is a path relative to the import file."""
    with session_scope(engine, immediate=True) as s:
        rows = s.execute(select(Item.external_id, Item.media_url).join(
            Project, Project.id == Item.project_id).where(
            Project.key == project_key, Item.import_batch == batch_id,
            Item.media_url.is_not(None))).all()
    n = 0
    for external_id, value in rows:
        for ref in [v.strip() for v in str(value).splitlines() if v.strip()]:
            if _URL.match(ref):
                attach_url(engine, project_key, external_id, ref, actor=actor)
            elif "://" in ref or ref.lower().startswith(("data:", "file:")):
                _attach_error(engine, project_key, external_id, "url", ref[:255],
                              "only http(s) URLs and paths relative to the import file are "
                              "accepted", actor=actor)
            else:
                attach_path(engine, project_key, external_id, ref, base_dir, actor=actor)
            n += 1
    return n


# --- fetching ----------------------------------------------------------------------------------

def default_fetcher() -> Fetcher:
    from modops.media.fetch import guarded_fetch

    return guarded_fetch


def fetch_media(engine: Engine, item_media_id: int, *, fetcher: Fetcher | None = None,
                store: LocalMediaStore | None = None, enqueue: bool = True) -> dict[str, Any]:
    settings = media_settings()
    with session_scope(engine, immediate=True) as s:
        link = s.get(ItemMedia, item_media_id)
        if link is None:
            raise NotFound(f"no item media {item_media_id}")
        if link.state != "fetching":  # done already (a duplicate or re-delivered job)
            return {"state": link.state, "media_id": link.media_id}
        url = str(link.source_url)
        project_key = s.scalar(select(Project.key).where(Project.id == link.project_id))
    store = store or media_store()
    fetch = fetcher or default_fetcher()
    blob, error = _keep(store, lambda: fetch(url, settings.max_bytes, settings.fetch_timeout_s),
                        empty="the URL returned no content (0 bytes)", refused="not fetched")
    now = utcnow()
    with session_scope(engine, immediate=True) as s:
        link = s.get_one(ItemMedia, item_media_id)  # the caller's row, never deleted
        media = _media_row(s, blob) if blob is not None and error is None else None
        link.media_id = media.id if media else None
        link.state = MEDIA_ERROR if error else "pending"
        link.error = error
        link.updated_at = now
        media_id = link.media_id
    if media_id is not None and enqueue:
        enqueue_processing(engine, project_key, media_id)
    return {"state": MEDIA_ERROR if error else "pending", "media_id": media_id, "error": error}


# --- processing --------------------------------------------------------------------------------

@dataclass
class Processed:
    values: dict[str, Any]
    error: str | None = None


def analyse(path: Path, head: bytes, settings: MediaSettings, store: LocalMediaStore) \
        -> Processed:
    """Everything processing learns about one file, or the reason it was refused."""
    from modops.media import signals

    try:
        probe = probe_file(path, head, settings)
    except MediaRejected as exc:
        try:
            kind, mime = sniff(head)
        except MediaRejected:
            kind, mime = None, None
        return Processed({"kind": kind, "mime": mime}, str(exc))
    keyframes = []
    pdq_hex, pdq_q = None, None
    ocr_parts: list[str] = []
    ocr_on = settings.ocr
    if ocr_on:
        from modops.media import ocr as ocr_mod

        ocr_on = ocr_mod.available()
    for f in probe.frames:
        h, q = signals.pdq(f.rgb)
        if pdq_hex is None:
            pdq_hex, pdq_q = h, q
        entry: dict[str, Any] = {"t": round(f.t, 3), "pdq": h, "quality": q}
        if probe.kind == "video":
            entry["sha256"] = store.put_bytes(jpeg_bytes(f.rgb)).sha256
            entry["scene"] = f.scene
        if ocr_on:
            from modops.media.ocr import ocr

            text = ocr(f.rgb)
            if text:
                entry["ocr"] = text
                if text not in ocr_parts:
                    ocr_parts.append(text)
        keyframes.append(entry)
    values: dict[str, Any] = {
        "kind": probe.kind, "mime": probe.mime, "width": probe.width, "height": probe.height,
        "duration_s": probe.duration_s, "codec": probe.codec, "pdq": pdq_hex,
        "pdq_quality": pdq_q, "keyframes": keyframes,
        "ocr_text": "\n".join(ocr_parts) or None, "vpdq": None}
    if probe.kind == "video":
        values["strip_sha256"] = store.put_bytes(strip(probe.frames)).sha256
        try:
            values["vpdq"] = signals.vpdq_signal(path)
        except (RuntimeError, ValueError) as exc:  # vpdq could not decode what PyAV did
            log.warning("vpdq failed on %s: %s", path.name, exc)
    return Processed(values)


def process_media(engine: Engine, media_id: int, *, force: bool = False,
                  store: LocalMediaStore | None = None) -> dict[str, Any]:
    """Process one stored file (once per pipeline version), then update each item that
    carries it. Returns the file's state."""
    settings = media_settings()
    store = store or media_store()
    with session_scope(engine, immediate=True) as s:
        m = s.get(MediaObject, media_id)
        if m is None:
            raise NotFound(f"no media {media_id}")
        done = m.pipeline_version == PIPELINE_VERSION and m.state in ("ready", MEDIA_ERROR)
        sha = m.sha256
    if not done or force:
        path = store.path(sha)
        if not path.is_file():
            result = Processed({}, "the stored file is missing from the media store")
        else:
            with open(path, "rb") as f:
                head = f.read(64)
            result = analyse(path, head, settings, store)
        keyframes = result.values.pop("keyframes", None)
        strip_sha = result.values.pop("strip_sha256", None)
        if keyframes is not None and strip_sha:
            keyframes = [{"strip": strip_sha}, *keyframes]
        with session_scope(engine, immediate=True) as s:  # one write: never a half-processed row
            s.execute(update(MediaObject).where(MediaObject.id == media_id).values(
                **result.values, keyframes=keyframes,
                state=MEDIA_ERROR if result.error else "ready", error=result.error,
                pipeline_version=PIPELINE_VERSION, processed_at=utcnow()))
    with session_scope(engine, immediate=True) as s:
        m = s.get_one(MediaObject, media_id)
        state, error = m.state, m.error
        s.execute(update(ItemMedia).where(ItemMedia.media_id == media_id).values(
            state=state, error=error, updated_at=utcnow()))
        item_ids = sorted(set(s.scalars(select(ItemMedia.item_id).where(
            ItemMedia.media_id == media_id)).all()))
    for item_id in item_ids:
        after_media(engine, item_id)
    return {"media_id": media_id, "state": state, "error": error, "items": len(item_ids)}


# --- acting on what processing found -----------------------------------------------------------

def after_media(engine: Engine, item_id: int) -> dict[str, Any]:
    """Bring the item up to date with its processed media: OCR text, bank matches (and their
    routing), the OCR re-score and its media near-duplicate cluster. Safe to run again."""
    from modops.media.banks import matcher
    from modops.media.clusters import cluster_item_media

    media, project_id = _ready_media(engine, item_id)
    if not media:
        return {"matches": 0}
    ocr_text = "\n".join(m.ocr_text for m in media if m.ocr_text) or None
    bank = matcher(engine)
    matches = [(m.id, hit) for m in media for hit in _file_matches(bank, m)]
    acted = _record_matches(engine, project_id, item_id, ocr_text, matches)
    # a bank acts on an item once: processing again (or another file of the item matching
    # the same bank) records the evidence anew but does not boost or decide twice
    routed = _route_matches(engine, project_id, item_id,
                            [h for _m, h in matches if h.bank_id not in acted])
    rescored = _rescore_with_ocr(engine, project_id, item_id) if ocr_text else None
    cluster_item_media(engine, project_id, item_id)
    return {"matches": len(matches), "routed": routed, "rescored": rescored}


def _ready_media(engine: Engine, item_id: int) -> tuple[list[MediaObject], int]:
    """The item's processed media files in position order, and its project (0: none)."""
    with session_scope(engine, immediate=True) as s:
        rows = s.execute(select(MediaObject, ItemMedia.project_id).join(
            ItemMedia, ItemMedia.media_id == MediaObject.id).where(
            ItemMedia.item_id == item_id, MediaObject.state == "ready")
            .order_by(ItemMedia.position)).all()
        media = [r[0] for r in rows]
        s.expunge_all()
    return media, int(rows[0][1]) if rows else 0


def _file_matches(bank: Any, m: MediaObject) -> list[Any]:
    """One file's bank matches (MD5, SHA-256, PDQ of its keyframes, vPDQ): one per bank, the
    closest."""
    found = bank.match_exact("md5", m.md5) + bank.match_exact("sha256", m.sha256)
    frames = [(k["pdq"], int(k["quality"]), {"t": k["t"]})
              for k in (m.keyframes or []) if "pdq" in k]
    found += bank.match_pdq(frames)
    if m.vpdq:
        found += bank.match_vpdq(m.vpdq)
    best: dict[int, Any] = {}
    for hit in found:
        if hit.bank_id not in best or hit.distance < best[hit.bank_id].distance:
            best[hit.bank_id] = hit
    return list(best.values())


def _record_matches(engine: Engine, project_id: int, item_id: int, ocr_text: str | None,
                    matches: list[tuple[int, Any]]) -> set[int]:
    """Store the item's OCR text and replace its match evidence; returns the banks that had
    matched it before (they have acted on it already)."""
    now = utcnow()
    with session_scope(engine, immediate=True) as s:
        acted = set(s.scalars(select(MediaMatch.bank_id).where(MediaMatch.item_id == item_id)))
        s.execute(update(Item).where(Item.id == item_id).values(ocr_text=ocr_text))
        s.execute(delete(MediaMatch).where(MediaMatch.item_id == item_id))
        for media_id, hit in matches:
            s.add(MediaMatch(project_id=project_id, item_id=item_id, media_id=media_id,
                             bank_id=hit.bank_id, bank_version=hit.bank_version,
                             entry_id=hit.entry_id, signal_type=hit.signal_type,
                             distance=hit.distance,
                             detail={**hit.detail, "bank": hit.bank_name,
                                     "policy_label": hit.policy_label, "action": hit.action},
                             matched_at=now))
    return acted


def _route_matches(engine: Engine, project_id: int, item_id: int, hits: list[Any]) -> str | None:
    """A bank match acts once. ``auto_action``: an undecided item is decided with the bank's
    label (source machine, the match as basis). ``review`` (or a label the project's taxonomy
    lacks): the item's open tasks go to the front of the queue. An item decided already keeps
    its decision and gets a first-served audit task: a person looks again."""
    if not hits:
        return None
    from modops.domain import TaskKind
    from modops.queue.core import load_project, write_tx
    from modops.queue.decisions import _audit, create_task, record_decision

    now = utcnow()
    with write_tx(engine) as (conn, pending):
        project = load_project(conn, project_id)
        item = conn.execute(select(Item.state, Item.view_count, Item.external_id,
                                   Item.final_labels).where(Item.id == item_id)).one()
        evidence = [{"bank": h.bank_name, "bank_version": h.bank_version,
                     "signal_type": h.signal_type, "distance": h.distance,
                     "entry_id": h.entry_id} for h in hits]
        auto = sorted((h for h in hits if h.action == "auto_action"
                       and h.policy_label in project.rules.labels), key=lambda h: h.distance)
        if auto and item.state in ("new", "queued", "escalated"):
            record_decision(conn, pending, project, item_id, [auto[0].policy_label],
                            source=DecisionSource.MACHINE,
                            basis={"hash_match": evidence[hits.index(auto[0])],
                                   "matches": evidence},
                            now=now, actor="hash_match", item=item)
            conn.execute(update(Item).where(Item.id == item_id).values(route="auto_action"))
            conn.execute(_cancel_open_tasks(), {"i": item_id, "now": now})
            return "auto_action"
        if item.state in ("decided", "appealed"):
            open_audit = conn.execute(select(Task.id).where(
                Task.item_id == item_id, Task.kind == TaskKind.AUDIT.value,
                Task.state.in_(("open", "leased")))).first()
            if open_audit is None:
                create_task(conn, project_id, item_id, TaskKind.AUDIT, now,
                            priority=HASH_MATCH_BOOST)
            effect = "audit"
        else:
            conn.execute(_boost_open_tasks(), {"i": item_id, "b": HASH_MATCH_BOOST})
            effect = "review_first"
        _audit(conn, "hash_match", "item.hash_match", "item", item_id, project.id,
               after={"matches": evidence, "effect": effect})
        return effect


def _cancel_open_tasks() -> Any:
    from sqlalchemy import text

    from modops.domain import TaskState
    from modops.domain.states import set_state

    return text(set_state("tasks", TaskState.CANCELLED, also="done_at = :now",
                          where="item_id = :i", among=(TaskState.OPEN,)))


def _boost_open_tasks() -> Any:
    from sqlalchemy import text

    return text("UPDATE tasks SET priority = priority + :b WHERE item_id = :i "
                "AND state IN ('open', 'leased') AND priority < 1e12")


def _rescore_with_ocr(engine: Engine, project_id: int, item_id: int) -> float | None:
    """Score the item's text with the OCR text added; a higher harm score than before is
    recorded (routing decision with reason ``ocr``) and re-orders its open tasks. Decided
    items keep their decision (auto-cleared ones get a high-priority audit instead)."""
    try:
        from modops.machine import ScorerUnavailable, get_scorer, item_text
    except ImportError:
        return None
    from modops.queue.config import priority_score
    from modops.queue.core import load_project, write_tx
    from modops.queue.decisions import create_task

    with session_scope(engine, immediate=True) as s:
        it = s.get(Item, item_id)
        if it is None:
            return None
        fields = {"title": it.title, "caption": it.caption, "comment": it.comment,
                  "transcript": it.transcript, "text": it.text, "ocr": it.ocr_text}
        old = it.machine_score
        state, route, views, reported, due = (it.state, it.route, it.view_count,
                                              it.user_reported, it.due_at)
        scorer_spec = s.scalar(select(Project.scorer).where(Project.id == project_id))
    try:
        scored = get_scorer(scorer_spec).score([item_text(fields)])[0]
    except ScorerUnavailable:
        return None
    if old is not None and scored.harm <= old:
        return scored.harm
    from modops.domain import TaskKind
    from modops.store.models import RoutingDecision

    now = utcnow()
    with write_tx(engine) as (conn, _pending):
        project = load_project(conn, project_id)
        conn.execute(update(Item).where(Item.id == item_id).values(
            machine_score=scored.harm, model_version=scored.model_version,
            machine_scores={"severity": scored.severity, "targets": scored.targets,
                            "profanity": scored.profanity}))
        conn.execute(insert(RoutingDecision).values(
            project_id=project_id, item_id=item_id, score=scored.harm,
            auto_action_threshold=project.auto_action_threshold,
            auto_clear_threshold=project.auto_clear_threshold, route=route or "human",
            model_version=scored.model_version, audit_sampled=False, reason="ocr",
            decided_at=now))
        if state in ("queued", "escalated") and due is not None:
            prio = priority_score(project.priority_weights, score=scored.harm, views=views,
                                  reported=reported, due_at=due)
            from sqlalchemy import text

            conn.execute(text("UPDATE tasks SET priority = :p WHERE item_id = :i AND state IN "
                              "('open', 'leased') AND priority < :p"), {"p": prio, "i": item_id})
        elif state == "decided" and route == "auto_clear" and \
                project.auto_clear_threshold is not None and \
                scored.harm > project.auto_clear_threshold:
            create_task(conn, project_id, item_id, TaskKind.AUDIT, now, priority=HASH_MATCH_BOOST)
    return scored.harm
