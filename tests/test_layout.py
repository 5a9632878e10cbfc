"""The README's layout and the import-linter layers cover every package (issue 22, item 10):
a new package must be placed in a layer before `make lint` can keep it there."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import modops

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent.name for p in Path(modops.__file__).parent.glob("*/__init__.py"))


def test_every_package_is_in_the_readme_layout() -> None:
    layout = ROOT.joinpath("README.md").read_text().split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"\b([a-z0-9_]+)/", layout))
    assert set(PACKAGES) - listed == set()


def test_every_package_is_in_a_layer_contract() -> None:
    config = tomllib.loads(ROOT.joinpath("pyproject.toml").read_text())["tool"]["importlinter"]
    named = set()
    for contract in config["contracts"]:
        for module in contract.get("source_modules", []) + contract.get("forbidden_modules", []):
            named.add(module.split(".")[1])
    assert set(PACKAGES) - named == set()
    assert len(PACKAGES) >= 17  # domain, store, 13 use-case packages, api, web, cli
