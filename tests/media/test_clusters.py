"""Near-duplicate clusters (media and text) and one decision for a whole cluster."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from modops.media.clusters import cluster_members, cluster_texts, decide_cluster
from modops.media.pipeline import attach_blob_chunks, process_media
from modops.store import session_scope, utcnow
from modops.store.models import AuditLog, Decision, Item, User
from modops.store.models_media import ItemCluster
from tests.media.conftest import add_items
from tests.media.media_files import encode, picture

RAID = "지금 바로 가입하면 무료 코인 지급 이벤트 링크 클릭 확인"


def test_a_spam_raid_is_one_text_cluster_and_is_decided_once(engine: Engine, vproject: str,
                                                             tmp_path: Path) -> None:
    rows = [{"external_id": f"s{i}", "comment": RAID + suffix} for i, suffix in
            enumerate(["", "!!", " ㅋㅋ", "~", " 123"])]
    rows += [{"external_id": "other", "comment": "오늘 날씨가 정말 좋아서 산책을 다녀왔어요"},
             {"external_id": "short", "comment": "ㅋㅋㅋ"}]
    add_items(engine, vproject, rows, tmp_path)
    assert cluster_texts(engine, vproject) == {"clusters": 1, "items": 5}
    assert cluster_texts(engine, vproject) == {"clusters": 1, "items": 5}  # recomputed, same
    with session_scope(engine) as s:
        cid = s.scalar(select(ItemCluster.cluster_id))
        reviewer = User(username="rev", role="reviewer", created_at=utcnow())
        s.add(reviewer)
        s.flush()
        s.expunge(reviewer)
    assert {m["external_id"] for m in cluster_members(engine, vproject, "text", cid)} == \
        {f"s{i}" for i in range(5)}
    done = decide_cluster(engine, vproject, "text", cid, ["illegal_goods"], reviewer)
    assert sorted(done["decided"]) == [f"s{i}" for i in range(5)] and done["skipped"] == []
    with session_scope(engine) as s:
        decided = s.scalars(select(Decision).where(Decision.source == "reviewer")).all()
        assert len(decided) == 5 and all(d.basis["cluster"]["size"] == 5 for d in decided)
        audits = s.scalars(select(AuditLog.action)).all()
        assert audits.count("cluster.decide") == 1
        assert audits.count("decision.create") >= 5  # each item its own audited decision
    again = decide_cluster(engine, vproject, "text", cid, ["illegal_goods"], reviewer)
    assert again["decided"] == [] and len(again["skipped"]) == 5


def test_re_uploads_form_a_media_cluster(engine: Engine, vproject: str, tmp_path: Path) -> None:
    add_items(engine, vproject, [{"external_id": f"m{i}", "caption": "영상"} for i in range(4)],
              tmp_path)
    im = picture(41)
    for ext, data in (("m0", encode(im)), ("m1", encode(im.resize((240, 180)), "JPEG")),
                      ("m2", encode(im)), ("m3", encode(picture(42)))):
        got = attach_blob_chunks(engine, vproject, ext, [data], source="upload",
                                 filename=f"{ext}.png", enqueue=False)
        process_media(engine, got["media_id"])
    with session_scope(engine) as s:
        rows = dict(s.execute(select(Item.external_id, ItemCluster.cluster_id).join(
            ItemCluster, ItemCluster.item_id == Item.id)).all())
    assert set(rows) == {"m0", "m1", "m2"} and len(set(rows.values())) == 1
