"""Near-duplicate clustering for campaigns (issue 19): ``lsh_items_per_s``.

Real Korean comments (BEEP!'s unlabeled set, CC BY-SA 4.0) plus planted raids — each many
near-copies of one message with a varying tail, as a raid by new accounts posts them — are
clustered by ``modops.authors.campaigns.lsh_clusters`` (3-gram shingles, 128-permutation
MinHash, datasketch's LSH index, Jaccard >= 0.8), one core. Checked: 90 % or more of each
raid comes out as one cluster. Goal: >= 10,000 items/s. The row is merged into
bench/results/rules.json (other scripts write rows there too).

    python bench/rules_lsh.py            # 50,000 items
    python bench/rules_lsh.py --quick    # 5,000 items
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import merge_results, print_table, row
from modops.authors.campaigns import lsh_clusters
from modops.simulate.demo import beep_unlabeled

RAIDS = ("이 방송 진짜 최악이다 다들 신고하자", "여기 토토 사이트 가입하면 오만원 드림 링크 확인",
         "이 사람 거짓말쟁이임 퍼뜨려 주세요 다들")


def corpus(n: int, seed: int = 19) -> tuple[list[str], list[list[int]]]:
    rng = random.Random(seed)
    raid_n = max(20, n // 100)
    texts = [c for c, _ in beep_unlabeled(n - raid_n * len(RAIDS))]
    raids: list[list[int]] = []
    for msg in RAIDS:
        ids = []
        for k in range(raid_n):
            ids.append(len(texts))
            texts.append(f"{msg} {rng.choice('!?.~')}{k}")
        raids.append(ids)
    return texts, raids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 5_000 if args.quick else args.items
    texts, raids = corpus(n)
    ids = list(range(len(texts)))
    best = 0.0
    for _ in range(1 if args.quick else 3):
        t0 = time.perf_counter()
        clusters = lsh_clusters(ids, texts)
        best = max(best, len(texts) / (time.perf_counter() - t0))
    for raid in raids:  # (a short message's varied tail can leave a few copies below 0.8)
        held = max(len(set(raid) & set(c)) for c in clusters)
        assert held >= 0.9 * len(raid), f"a raid was split: {held} of {len(raid)} together"
    rows = [row("lsh_near_duplicates", "modops", "memory", "lsh_items_per_s", round(best),
                f"items/s, {len(texts):,} texts (BEEP! + {len(raids)} raids), one core")]
    print_table(rows, "near-duplicate clustering (MinHash LSH)")
    if not args.quick:
        print(merge_results("rules", rows))


if __name__ == "__main__":
    main()
