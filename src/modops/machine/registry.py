"""Model versions on disk with an explicit "active" pointer.

Layout under ``$MODOPS_MODEL_DIR`` (default ``./.modops/models``)::

    versions/<model_version>.npz   one artifact per trained version
    versions/<model_version>.json  how it was made + its evaluation
    ACTIVE                         the promoted version (absent → shipped artifact)

Retraining only *registers* a version; scoring keeps using the active one until someone runs
``promote`` — a model that changes routing must be a human decision.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from modops.machine.model import KoreanHarmModel
from modops.settings import settings

SHIPPED = Path(__file__).resolve().parent / "artifacts" / "ko-harm.npz"
_CACHE: dict[Path, KoreanHarmModel] = {}
_LOCK = threading.Lock()


def model_dir() -> Path:
    return settings().model_dir


class Registry:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or model_dir()

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def register(self, model: KoreanHarmModel, info: dict[str, Any] | None = None) -> str:
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        model.save(self.versions_dir / f"{model.model_version}.npz")
        record = {"model_version": model.model_version, **(info or {})}
        (self.versions_dir / f"{model.model_version}.json").write_text(
            json.dumps(record, ensure_ascii=False, indent=2, default=str))
        return model.model_version

    def versions(self) -> list[dict[str, Any]]:
        if not self.versions_dir.is_dir():
            return []
        active = self.active()
        out = []
        for p in sorted(self.versions_dir.glob("*.json")):
            rec = json.loads(p.read_text())
            rec["active"] = rec.get("model_version") == active
            out.append(rec)
        return out

    def active(self) -> str | None:
        p = self.root / "ACTIVE"
        return p.read_text().strip() or None if p.exists() else None

    def promote(self, version: str) -> None:
        if not (self.versions_dir / f"{version}.npz").exists():
            raise KeyError(f"no registered model version {version!r} in {self.root}")
        tmp = self.root / "ACTIVE.tmp"
        tmp.write_text(version + "\n")
        tmp.replace(self.root / "ACTIVE")

    def path_of(self, version: str | None = None) -> Path:
        version = version or self.active()
        if version:
            p = self.versions_dir / f"{version}.npz"
            if p.exists():
                return p
            if SHIPPED.exists() and KoreanHarmModel.load(SHIPPED).model_version == version:
                return SHIPPED
            raise KeyError(f"model version {version!r} not found in {self.versions_dir}")
        if SHIPPED.exists():
            return SHIPPED
        raise FileNotFoundError(
            f"no active model in {self.root} and no shipped artifact at {SHIPPED}; "
            "run `modops model train`")

    def load(self, version: str | None = None) -> KoreanHarmModel:
        """Load (and memoize per path) a model; never touches the network."""
        path = self.path_of(version).resolve()
        with _LOCK:
            if path not in _CACHE:
                _CACHE[path] = KoreanHarmModel.load(path)
            return _CACHE[path]
