from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modops.cli.model import app


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_score_file_in_order(tmp_path: Path, model_dir: Path, no_network: list[object],
                             suffix: str) -> None:
    texts = ["좋은 영상이네요", "ㅅㅂ 꺼져", "노래 최고"]
    src = tmp_path / f"in{suffix}"
    if suffix == ".jsonl":
        src.write_text("".join(json.dumps({"id": i, "body": t}) + "\n"
                               for i, t in enumerate(texts)))
    else:
        sep = "\t" if suffix == ".tsv" else ","
        src.write_text(f"id{sep}body\n" + "".join(f"{i}{sep}{t}\n" for i, t in enumerate(texts)))
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["score", str(src), "--text-column", "body", "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3
    assert set(rows[0]) >= {"severity", "targets", "profanity", "harm", "policies",
                            "model_version"}
    assert set(rows[0]["severity"]) == {"hate", "offensive", "none"}
    assert rows[1]["severity"]["none"] < rows[0]["severity"]["none"]
    assert rows[1]["policies"]["profanity"] > 0.5 > rows[0]["policies"]["profanity"]
    assert rows[1]["evidence"]["profanity"]["match"] in ("ㅅㅂ", "꺼져")
