from __future__ import annotations

from pathlib import Path

from modops.machine.model import TrainConfig
from modops.machine.registry import Registry
from modops.machine.retrain import retrain

SMALL = TrainConfig(n_bits=14, cv_folds=3, limit=400, use_unlabeled=False)


def test_retrain_registers_new_version_without_promoting(
    model_dir: Path, no_network: list[object]
) -> None:
    reg = Registry(model_dir)
    extra = [("이 새끼 진짜 죽여버리고 싶다", "hate"), ("노래 너무 좋아요", "none"),
             ("얼굴 보니 짜증나네", "offensive")] * 10
    first = retrain(extra[:6], registry=reg, config=SMALL)
    assert reg.active() is None  # registering does not promote
    reg.promote(first.new_version)
    assert reg.active() == first.new_version
    second = retrain(extra, registry=reg, config=SMALL)
    assert second.new_version != first.new_version
    assert second.old_version == first.new_version
    versions = {v["model_version"]: v for v in reg.versions()}
    assert set(versions) == {first.new_version, second.new_version}
    assert versions[second.new_version]["parent"] == first.new_version
    assert reg.active() == first.new_version  # not promoted until asked
    scores = reg.load(second.new_version).score(["테스트"])
    assert scores[0].model_version == second.new_version
    assert no_network == []
