from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from modops.store.models import Annotation, AuditLog, Decision, Item, User
from modops.store import session_scope


def sample_rows() -> list[dict[str, Any]]:
    """Rows that exercise every field: Korean + emoji, nested metadata, labels, gold."""
    return [
        {"external_id": "c-1", "product": "comment", "comment": "진짜 별로다 ㅋㅋ 😂",
         "title": "'사풀인풀' 설인아 경찰 파면 위기", "view_count": 120,
         "created_at": "2026-11-20T09:15:00+09:00", "language": "ko",
         "metadata": {"author": {"region": "KR", "age_band": "20s"}, "tags": ["드라마"]}},
        {"external_id": "c-2", "product": "comment", "comment": "ㅅㅂ 이게 뭐냐",
         "user_reported": True, "reported_at": "2026-11-20T01:00:00Z", "machine_score": 0.91,
         "final_labels": ["profanity"],
         "annotations": [
             {"labeler": "kim", "labels": ["profanity"], "started_at": "2026-11-20T02:00:00Z",
              "submitted_at": "2026-11-20T02:00:12Z", "note": "욕설 맞음"},
             {"labeler": "lee", "labels": ["profanity"],
              "submitted_at": "2026-11-20T02:03:00Z"},
             {"labeler": "park", "labels": ["harassment"], "started_at":
              "2026-11-20T02:04:00Z", "submitted_at": "2026-11-20T02:04:30Z"}]},
        {"external_id": "v-1", "product": "short_video", "title": "먹방 라이브 다시보기",
         "caption": "오늘은 떡볶이 🌶️", "transcript": "안녕하세요 여러분",
         "media_url": "https://cdn.example.com/v/1.mp4", "view_count": 98765,
         "created_at": "2026-11-19T23:00:00Z"},
        {"external_id": "g-1", "product": "comment", "comment": "정치 얘기는 그만",
         "is_gold": True, "gold_labels": ["none"]},
        {"external_id": "l-1", "product": "live", "text": "<script>alert(1)</script> 방송 최고",
         "final_labels": ["none"],
         "annotations": [{"labeler": "kim", "labels": ["none"],
                          "submitted_at": "2026-11-21T10:00:00Z", "kind": "label"}]},
    ]


def snapshot(engine: Engine) -> dict[str, int]:
    """Row counts of everything an import may touch: 'unchanged' means all equal."""
    with session_scope(engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
                for m in (Item, Annotation, Decision, User, AuditLog)}


@pytest.fixture
def rows() -> list[dict[str, Any]]:
    return sample_rows()
