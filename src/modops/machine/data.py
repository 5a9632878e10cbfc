"""Readers for the public Korean datasets shipped in ``data/`` (see data/README.md).

Each reader follows the parsing notes: BEEP! TSV with header and unquoted text, K-MHaS TSV with
quoting and comma-separated label ids, curse-detection ``text|label`` split on the last ``|``
with CRLF line endings.
"""

from __future__ import annotations

import csv
import zlib
from dataclasses import dataclass
from pathlib import Path

from modops.settings import settings

KMHAS_LABELS: tuple[str, ...] = (
    "origin", "physical", "politics", "profanity", "age", "gender", "race", "religion", "not_hate",
)


def data_dir() -> Path:
    """``$MODOPS_DATA_DIR``, else ``data/`` of the source checkout, else ``./data``."""
    return settings().datasets


@dataclass(frozen=True, slots=True)
class BeepRow:
    text: str
    hate: str  # hate | offensive | none
    bias: str  # gender | others | none


def read_beep(split: str = "train", root: Path | None = None) -> list[BeepRow]:
    """BEEP! ``labeled/{train,dev}.tsv``."""
    path = (root or data_dir()) / "korean-hate-speech" / "labeled" / f"{split}.tsv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        return [BeepRow(r[0], r[3].strip(), r[2].strip()) for r in reader if len(r) >= 4]


def read_beep_unlabeled(root: Path | None = None) -> list[str]:
    path = (root or data_dir()) / "korean-hate-speech" / "unlabeled" / "unlabeled_comments_5.txt"
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_kmhas(split: str = "valid", root: Path | None = None) -> list[tuple[str, frozenset[str]]]:
    """K-MHaS ``kmhas_{valid,test}.txt`` → (text, set of label names)."""
    path = (root or data_dir()) / "K-MHaS" / "data" / f"kmhas_{split}.txt"
    out: list[tuple[str, frozenset[str]]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader)
        for r in reader:
            if len(r) < 2:
                continue
            ids = [int(x) for x in r[1].split(",") if x.strip()]
            out.append((r[0], frozenset(KMHAS_LABELS[i] for i in ids)))
    return out


CURSE_TEST_SHARE = 5  # one row in five is held out (the dataset ships without a split)


def read_curse(split: str = "all", root: Path | None = None) -> list[tuple[str, int]]:
    """curse-detection ``dataset.txt`` → (text, 1 curse / 0 clean).

    ``split``: ``all``, ``train`` or ``test``. The held-out ``test`` split (every row whose
    text's CRC-32 is 0 mod 5, ~20 %) is never trained on: it is where the harm head's
    calibration on a third domain is checked. A hash of the text, not the row number, so a
    duplicated comment can never sit on both sides.
    """
    path = (root or data_dir()) / "curse-detection" / "dataset.txt"
    out: list[tuple[str, int]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, sep, label = line.rstrip("\r").rpartition("|")
        if sep and label.strip() in ("0", "1"):
            if split != "all":
                held = zlib.crc32(text.encode()) % CURSE_TEST_SHARE == 0
                if held != (split == "test"):
                    continue
            out.append((text, int(label)))
    return out
