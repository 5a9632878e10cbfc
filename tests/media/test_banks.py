"""Hash banks: add from a decision, match at ingest (auto-action, review first), evidence
recorded with bank, version and distance; ThreatExchange hash lists round-trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine, select

from modops.domain import ValidationError
from modops.media.banks import (
    add_item_to_bank,
    create_bank,
    export_hash_list,
    import_hash_list,
    list_banks,
    read_hash_list,
    update_bank,
)
from modops.media.pipeline import attach_blob_chunks, process_media
from modops.store import session_scope
from modops.store.models import AuditLog, Decision, Item, Task
from modops.store.models_media import MediaMatch
from tests.media.conftest import add_items
from tests.media.media_files import encode, picture


def _upload(engine: Engine, project: str, external_id: str, im: Image.Image) -> int:
    got = attach_blob_chunks(engine, project, external_id, [encode(im, "JPEG", quality=85)],
                             source="upload", filename=f"{external_id}.jpg", enqueue=False)
    process_media(engine, got["media_id"])
    return int(got["media_id"])


def _item(engine: Engine, external_id: str) -> Item:
    with session_scope(engine) as s:
        return s.scalar(select(Item).where(Item.external_id == external_id))


def test_a_banked_image_comes_back_resized_and_is_actioned(engine: Engine, vproject: str,
                                                           tmp_path: Path) -> None:
    add_items(engine, vproject, [{"external_id": f"v{i}", "caption": "영상 설명 텍스트"}
                                 for i in range(1, 5)], tmp_path)
    original = picture(11)
    _upload(engine, vproject, "v1", original)
    create_bank(engine, "known-violence", "violence", "auto_action", actor="manager1")
    # its PDQ, its mirror, 25 crops, and its MD5 (fewer if two variants hash alike)
    assert 20 <= add_item_to_bank(engine, "known-violence", _item(engine, "v1").id,
                                  actor="reviewer1", note="decided violent") <= 28
    # the re-upload: 10 % of its area cropped off the top left, half size, re-encoded
    w, h = original.size
    again = original.crop((round(w * 0.04), round(h * 0.03), round(w * 0.04) + round(w * 0.9487),
                           round(h * 0.03) + round(h * 0.9487))).resize((w // 2, h // 2))
    _upload(engine, vproject, "v2", again)
    _upload(engine, vproject, "v3", picture(12))  # unrelated: no match
    v2, v3 = _item(engine, "v2"), _item(engine, "v3")
    assert (v2.state, v2.final_labels, v2.route) == ("decided", ["violence"], "auto_action")
    assert v3.state == "queued"
    with session_scope(engine) as s:
        m = s.scalar(select(MediaMatch).where(MediaMatch.item_id == v2.id))
        assert (m.signal_type, m.bank_version, m.detail["bank"]) == ("pdq", 2, "known-violence")
        assert 0 < m.distance <= 31
        d = s.scalar(select(Decision).where(Decision.item_id == v2.id))
        assert d.source == "machine" and d.basis["hash_match"]["bank"] == "known-violence"
        assert not s.scalars(select(Task).where(Task.item_id == v2.id,
                                                Task.state == "open")).all()
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert "bank.add_from_item" in actions and "decision.create" in actions
    # processing again records the evidence once and decides nothing twice
    process_media(engine, m.media_id, force=True)
    with session_scope(engine) as s:
        assert len(s.scalars(select(MediaMatch).where(MediaMatch.item_id == v2.id)).all()) == 1
        assert len(s.scalars(select(Decision).where(Decision.item_id == v2.id)).all()) == 1


def test_a_review_bank_serves_the_item_first(engine: Engine, vproject: str,
                                             tmp_path: Path) -> None:
    add_items(engine, vproject, [{"external_id": "r1", "caption": "설명 하나"},
                                 {"external_id": "r2", "caption": "설명 둘"}], tmp_path)
    im = picture(21)
    create_bank(engine, "suspect", "sexual", "review")
    from modops.media.signals import pdq

    import_hash_list(engine, "suspect", f"pdq {pdq(np.asarray(im))[0]}\n", actor="manager1")
    with session_scope(engine) as s:
        before = {t.item_id: t.priority for t in s.scalars(select(Task))}
    _upload(engine, vproject, "r1", im)
    r1 = _item(engine, "r1")
    with session_scope(engine) as s:
        after = {t.item_id: t.priority for t in s.scalars(select(Task))}
    assert r1.state == "queued"
    assert after[r1.id] == pytest.approx(before[r1.id] + 365.0)
    assert after[_item(engine, "r2").id] == before[_item(engine, "r2").id]


def test_disabled_banks_do_not_match_and_changes_bump_the_version(
        engine: Engine, vproject: str, tmp_path: Path) -> None:
    add_items(engine, vproject, [{"external_id": "d1", "caption": "설명"}], tmp_path)
    im = picture(31)
    from modops.media.signals import pdq

    create_bank(engine, "off", "violence", "auto_action")
    import_hash_list(engine, "off", pdq(np.asarray(im))[0] + "\n", default_type="pdq")
    assert update_bank(engine, "off", {"enabled": False}, actor="m")["version"] == 3
    _upload(engine, vproject, "d1", im)
    assert _item(engine, "d1").state == "queued"
    assert list_banks(engine)[0]["entries"] == 1


def test_hash_lists_round_trip_in_the_threatexchange_format(engine: Engine, tmp_path: Path) \
        -> None:
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    from threatexchange.signal_type.pdq.signal import PdqSignal

    pdqs = PdqSignal.get_examples()[:5]
    vpdq = VPDQSignal.get_examples()[0]
    text = "".join(f"pdq {h}\n" for h in pdqs) + f"vpdq {vpdq}\n" + \
        "md5 d41d8cd98f00b204e9800998ecf8427e\n"
    create_bank(engine, "te", "violence", "review")
    assert import_hash_list(engine, "te", text) == 7
    assert import_hash_list(engine, "te", text) == 0  # the same list again adds nothing
    out = export_hash_list(engine, "te")
    assert sorted(read_hash_list(out)) == sorted(read_hash_list(text))
    # the exported file is read back by threatexchange's own file exchange, as HMA would
    path = tmp_path / "export.txt"
    path.write_text(out)
    from threatexchange.exchanges.impl.file_api import (
        FileCollaborationConfig,
        LocalFileSignalExchangeAPI,
    )

    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(
        name="x", api="local_file", enabled=True, filename=str(path)))
    got = {k for delta in api.fetch_iter([], None) for k in delta.updates}
    assert got == {("pdq", h) for h in pdqs} | {("vpdq", vpdq)} | \
        {("md5", "d41d8cd98f00b204e9800998ecf8427e")}
    with pytest.raises(ValidationError, match="line 1: unknown signal type 'tlsh'"):
        import_hash_list(engine, "te", "tlsh T1ABC\n")
    with pytest.raises(ValidationError, match="signal 1"):
        import_hash_list(engine, "te", "pdq nothex\n")
