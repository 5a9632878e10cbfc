"""Near-duplicate clustering for campaigns (MinHash LSH): a raid of near-copies by many
accounts is one cluster; unrelated and short texts stay out."""

from __future__ import annotations

from modops.authors.campaigns import lsh_clusters, signatures


def test_raid_of_near_copies_is_one_cluster() -> None:
    raid = [f"이 방송 진짜 최악이다 다들 신고하자 여기 링크 확인해 주세요 {k}번"
            for k in range(40)]
    other = ["오늘 경기 진짜 최고였다 다음에도 응원합니다", "배우 연기 정말 좋네요 다음 작품 기대",
             "노래 가사가 마음에 든다 계속 듣게 되네", "ㅋㅋㅋ", "좋아요"]
    texts = other[:3] + raid + other[3:]
    clusters = lsh_clusters(list(range(len(texts))), texts)
    assert clusters == [list(range(3, 43))]


def test_signatures_are_deterministic_and_estimate_jaccard() -> None:
    same = "같은 문장을 그대로 올립니다 여러 계정으로"
    a, b = signatures([same, same])
    assert (a == b).all()
    c, d = signatures(["완전히 다른 내용의 댓글입니다 정말로",
                       "오늘 저녁 메뉴는 떡볶이로 정했어요"])
    assert (c == d).mean() < 0.2
