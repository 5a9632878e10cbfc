"""The read model of an item's media, for the API and the review screen: files with signed
URLs, keyframes, OCR text (PII masked unless the caller unmasks through the audited route),
and the match evidence (bank, version, distance) for reviewers and up."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from modops.media.access import sign
from modops.media.settings import media_settings
from modops.store import session_scope
from modops.store.models import Item, Project
from modops.store.models_media import HashBank, ItemMedia, MediaMatch, MediaObject


def item_media(engine: Engine, item_id: int, *, user_id: int, secret: str,
               evidence: bool) -> dict[str, Any]:
    from modops.privacy import mask_pii, project_kinds

    ttl = media_settings().url_ttl_s

    def url(sha: str | None) -> str | None:
        return f"/api/v1/media/{sign(secret, sha, item_id, user_id, ttl)}" if sha else None

    with session_scope(engine) as s:
        settings = s.scalar(select(Project.settings).join(Item, Item.project_id == Project.id)
                            .where(Item.id == item_id))
        kinds = project_kinds(settings)
        rows = s.execute(select(ItemMedia, MediaObject).outerjoin(
            MediaObject, MediaObject.id == ItemMedia.media_id).where(
            ItemMedia.item_id == item_id).order_by(ItemMedia.position)).all()
        files = []
        for link, m in rows:
            frames = [k for k in (m.keyframes or []) if "t" in k] if m else []
            strip = next((k["strip"] for k in (m.keyframes or []) if "strip" in k), None) \
                if m else None
            files.append({
                "position": link.position, "state": link.state, "error": link.error,
                "source": link.source, "filename": link.filename,
                "kind": m.kind if m else None, "mime": m.mime if m else None,
                "width": m.width if m else None, "height": m.height if m else None,
                "duration_s": m.duration_s if m else None,
                "url": url(m.sha256) if m and m.state == "ready" else None,
                "strip_url": url(strip),
                "keyframes": [{"t": k["t"], "url": url(k.get("sha256")),
                               "ocr": mask_pii(k.get("ocr"), kinds) if k.get("ocr") else None}
                              for k in frames],
                "ocr_text": mask_pii(m.ocr_text, kinds) if m and m.ocr_text else None,
                "sha256": m.sha256 if m else None,
            })
        matches = []
        if evidence:
            for mm, bank in s.execute(select(MediaMatch, HashBank).join(
                    HashBank, HashBank.id == MediaMatch.bank_id).where(
                    MediaMatch.item_id == item_id).order_by(MediaMatch.distance)).all():
                matches.append({"bank": bank.name, "policy_label": bank.policy_label,
                                "action": bank.action, "bank_version": mm.bank_version,
                                "signal_type": mm.signal_type, "distance": mm.distance,
                                "detail": mm.detail, "matched_at": mm.matched_at.isoformat()})
    return {"item_id": item_id, "files": files, "matches": matches,
            "wellness": wellness(settings)}


def wellness(settings: dict[str, Any] | None) -> dict[str, Any]:
    """A project's reviewer-protection defaults: media blurred (px) and grey until a person
    unblurs it (logged), videos muted and never autoplayed."""
    s = settings or {}
    try:
        blur = max(0, min(64, int(s.get("media_blur_px", 24))))
    except (TypeError, ValueError):
        blur = 24  # a bad setting fails closed: blurred
    return {"blur_px": blur, "greyscale": bool(s.get("media_greyscale", True)),
            "muted": True, "autoplay": False}
