"""Hostile and broken media: each gives ``media_error`` with a reason on the item, never a
crash and never a half-written row; processing it again changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from modops.media.decode import MediaRejected, sniff
from modops.media.pipeline import (
    attach_blob_chunks,
    attach_path,
    attach_url,
    fetch_media,
    process_media,
)
from modops.store import session_scope
from modops.store.models_media import ItemMedia, MediaObject
from tests.media.conftest import add_items
from tests.media.media_files import clip, encode, picture, png_bomb


def _attach_and_process(engine: Engine, project: str, data: bytes, name: str) -> tuple[str, str]:
    got = attach_blob_chunks(engine, project, "bad", [data], source="upload", filename=name,
                             enqueue=False)
    if got["media_id"] is not None:
        first = process_media(engine, got["media_id"])
        with session_scope(engine) as s:
            rows = s.scalar(select(func.count()).select_from(MediaObject))
        assert process_media(engine, got["media_id"]) == first  # idempotent
        with session_scope(engine) as s:
            assert s.scalar(select(func.count()).select_from(MediaObject)) == rows
    with session_scope(engine) as s:
        link = s.get(ItemMedia, got["id"])
        return link.state, link.error or ""


@pytest.fixture
def bad_item(engine: Engine, vproject: str, tmp_path: Path) -> str:
    add_items(engine, vproject, [{"external_id": "bad", "caption": "문제 파일"}], tmp_path)
    return vproject


def test_zero_bytes(engine: Engine, bad_item: str) -> None:
    state, error = _attach_and_process(engine, bad_item, b"", "empty.jpg")
    assert (state, error) == ("media_error", "the file is empty (0 bytes)")


def test_truncated_jpeg(engine: Engine, bad_item: str) -> None:
    data = encode(picture(1), "JPEG")
    state, error = _attach_and_process(engine, bad_item, data[: len(data) // 3], "cut.jpg")
    assert state == "media_error" and "truncated or corrupt" in error


def test_an_extension_that_lies_is_ignored(engine: Engine, bad_item: str) -> None:
    # a PNG named .mp4 is read as the PNG it is; a text file named .jpg is refused
    state, _ = _attach_and_process(engine, bad_item, encode(picture(2)), "clip.mp4")
    assert state == "ready"
    state, error = _attach_and_process(engine, bad_item, b"<html>not an image</html>",
                                       "photo.jpg")
    assert state == "media_error" and error.startswith("not a supported image")
    with session_scope(engine) as s:
        assert s.scalar(select(MediaObject.mime).where(MediaObject.state == "ready")) == \
            "image/png"


def test_decompression_bomb_is_refused_before_decoding(engine: Engine, bad_item: str) -> None:
    data = png_bomb()
    assert len(data) < 200
    state, error = _attach_and_process(engine, bad_item, data, "bomb.png")
    assert state == "media_error" and "decompression bomb" in error
    # under Pillow's own alarm (179 M pixels) but over ours (40 M): refused by our check
    state, error = _attach_and_process(engine, bad_item, png_bomb(8_000, 8_000), "b2.png")
    assert state == "media_error" and "8,000 x 8,000 pixels, over the limit of 40,000,000" \
        in error


def test_video_over_the_duration_limit(engine: Engine, bad_item: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODOPS_MEDIA_MAX_DURATION_S", "1.5")
    data = clip(tmp_path / "long.mp4", seconds=3.0).read_bytes()
    state, error = _attach_and_process(engine, bad_item, data, "long.mp4")
    assert state == "media_error" and "over the limit of 2 s" in error  # 1.5 shown as 2


def test_file_over_the_size_limit_is_not_kept(engine: Engine, bad_item: str,
                                              monkeypatch: pytest.MonkeyPatch,
                                              media_dir: Path) -> None:
    monkeypatch.setenv("MODOPS_MEDIA_MAX_BYTES", "1000")
    state, error = _attach_and_process(engine, bad_item, encode(picture(4)), "big.png")
    assert state == "media_error" and "over the size limit of 1,000 bytes" in error
    assert [p for p in media_dir.rglob("*") if p.is_file()] == []  # nothing half-written


def test_unsupported_codec(engine: Engine, bad_item: str, tmp_path: Path) -> None:
    # Motion JPEG in a QuickTime file: FFmpeg could decode it, but it is not on the list of
    # decoders run on uploads
    data = clip(tmp_path / "c.mov", seconds=1.0, codec="mjpeg").read_bytes()
    state, error = _attach_and_process(engine, bad_item, data, "odd.mov")
    assert state == "media_error" and error.startswith("unsupported video codec 'mjpeg'")


def test_truncated_video(engine: Engine, bad_item: str, tmp_path: Path) -> None:
    data = clip(tmp_path / "c.mp4", seconds=2.0).read_bytes()
    state, error = _attach_and_process(engine, bad_item, data[: len(data) // 2], "cut.mp4")
    assert state == "media_error" and "truncated or corrupt" in error


def test_paths_may_not_leave_the_import_directory(engine: Engine, bad_item: str,
                                                  tmp_path: Path) -> None:
    inner = tmp_path / "import"
    inner.mkdir()
    (tmp_path / "secret.png").write_bytes(encode(picture(5)))
    for ref in ("../secret.png", "/etc/passwd", "missing.png"):
        got = attach_path(engine, bad_item, "bad", ref, inner, enqueue=False)
        assert got["state"] == "media_error", ref
    with session_scope(engine) as s:
        errors = s.scalars(select(ItemMedia.error).order_by(ItemMedia.id)).all()
    assert errors == ["the path leaves the import file's directory"] * 2 + \
        ["no such file next to the import file"]


def test_only_http_urls_are_fetched(engine: Engine, bad_item: str) -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/a.jpg", "data:image/png;base64,AA"):
        got = attach_url(engine, bad_item, "bad", url, enqueue=False)
        assert (got["state"], got["error"]) == ("media_error", "only http(s) URLs are fetched")


def test_a_fetch_that_is_refused_or_times_out_is_an_error_on_the_item(
        engine: Engine, bad_item: str) -> None:
    from modops.media.fetch import FetchRefused

    def refusing(url: str, _max: int, _timeout: float) -> list[bytes]:
        raise FetchRefused("no answer within 20 s")

    got = attach_url(engine, bad_item, "bad", "http://example.invalid/a.jpg", enqueue=False)
    assert got["state"] == "fetching"
    out = fetch_media(engine, got["id"], fetcher=refusing, enqueue=False)
    assert out["state"] == "media_error" and out["error"] == "not fetched: no answer within 20 s"
    # the job delivered twice does nothing the second time
    assert fetch_media(engine, got["id"], fetcher=refusing, enqueue=False)["state"] == \
        "media_error"


def test_sniffing() -> None:
    assert sniff(b"\xff\xd8\xff\xe0") == ("image", "image/jpeg")
    assert sniff(b"GIF89a....") == ("image", "image/gif")
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image", "image/webp")
    assert sniff(b"\x00\x00\x00\x20ftypisom") == ("video", "video/mp4")
    assert sniff(b"\x00\x00\x00\x14ftypqt  ") == ("video", "video/quicktime")
    assert sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm") == ("video", "video/webm")
    for head in (b"", b"%PDF-1.7", b"\x1a\x45\xdf\xa3matroska"):
        with pytest.raises(MediaRejected):
            sniff(head)
