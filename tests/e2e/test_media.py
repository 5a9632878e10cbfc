"""The media panel in a real browser: blurred and grey by default (checked on the pixels),
Shift+B unblurs it and the unblur is in the audit log, the video keys move the player."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from modops.media.pipeline import attach_blob_chunks, process_media
from modops.store import session_scope
from modops.store.models import AuditLog, Item, Project
from tests.e2e.conftest import Live, shot, sign_in, start_labeling
from tests.media.media_files import clip

pytestmark = pytest.mark.e2e


def _colourfulness(png: bytes) -> float:
    """Mean spread between an image's colour channels (0 for a grey image)."""
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float((a.max(axis=2) - a.min(axis=2)).mean())


def test_media_is_blurred_until_unblurred_and_the_keys_drive_the_video(
        live: Live, page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODOPS_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("MODOPS_MEDIA_OCR", "0")
    data = clip(tmp_path / "c.webm", seconds=12.0, fps=10, codec="libvpx",
                seeds=(3, 4, 5)).read_bytes()
    with session_scope(live.engine) as s:
        externals = s.scalars(select(Item.external_id).join(
            Project, Project.id == Item.project_id).where(
            Project.key == live.world.project)).all()
    media_id = None
    for ext in externals:  # whichever item the queue serves carries the clip
        got = attach_blob_chunks(live.engine, live.world.project, ext, [data],
                                 source="upload", filename="clip.webm", enqueue=False)
        media_id = got["media_id"]
    assert process_media(live.engine, media_id)["state"] == "ready"

    pg, watch = page
    pg.set_default_timeout(30_000)  # decoding video on a busy machine
    sign_in(pg, live, "lab1", f"/label/{live.world.project}")
    start_labeling(pg)
    video = pg.locator("#media-panel video")
    video.wait_for(state="visible")
    video_js = "document.querySelector('#media-panel video')"

    def until(expr: str) -> None:
        # polled with evaluate: wait_for_function evaluates strings, which the CSP forbids
        deadline = time.monotonic() + 20
        while not pg.evaluate(f"() => !!({expr})"):
            assert time.monotonic() < deadline, f"never true: {expr}"
            pg.wait_for_timeout(50)

    until(f"{video_js}.readyState >= 2")
    blurred = _colourfulness(video.screenshot())
    assert blurred < 3.0, blurred  # greyscale by default
    shot(pg, "media-review-blurred.png")

    pg.locator("body").click(position={"x": 5, "y": 5})
    pg.keyboard.press("Shift+B")
    pg.wait_for_selector("#media-panel.unblurred")
    assert _colourfulness(video.screenshot()) > blurred + 20
    with session_scope(live.engine) as s:
        who = s.scalars(select(AuditLog.actor).where(AuditLog.action == "media.unblur")).all()
    assert who == ["lab1"]

    def at() -> float:
        return float(pg.evaluate(f"() => {video_js}.currentTime"))

    # L is +5 s (the player lands on the frame nearest the target, 0.1 s apart at 10 fps)
    pg.keyboard.press("l")
    until(f"Math.abs({video_js}.currentTime - 5) < 0.11 && !{video_js}.seeking")
    pg.keyboard.press("l")
    until(f"Math.abs({video_js}.currentTime - 10) < 0.11 && !{video_js}.seeking")
    # J is a label shortcut in this taxonomy (hate.*): the label wins, the player stays
    t0 = at()
    pg.keyboard.press(",")
    until(f"Math.abs({video_js}.currentTime - {t0 - 1 / 30}) < 0.11 && !{video_js}.seeking")
    t1 = at()
    assert t1 < t0
    pg.keyboard.press(".")
    until(f"{video_js}.currentTime > {t1} && !{video_js}.seeking")
    pg.keyboard.press(" ")
    until(f"!{video_js}.paused")
    pg.keyboard.press(" ")
    until(f"{video_js}.paused")
    assert pg.locator("#media-panel .keyframe").count() >= 3
    shot(pg, "media-review.png")
    watch.assert_clean()
