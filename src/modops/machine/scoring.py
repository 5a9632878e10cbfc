"""The scorer contract the queue depends on, and the three ways to plug a scorer in.

The queue only ever sees ``Scorer.score(texts) -> list[MachineScore]``; whether the numbers come
from the built-in Korean model, a team's Python object or their HTTP service is decided by a spec
string (``get_scorer``). A scorer that cannot answer raises ``ScorerUnavailable`` so the caller
routes the items to humans instead of dropping them.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from modops.domain.fields import SCORED_TEXT_FIELDS

SEVERITY_LABELS: tuple[str, ...] = ("hate", "offensive", "none")
TARGET_LABELS: tuple[str, ...] = (
    "gender", "origin", "politics", "age", "religion", "race", "physical", "other",
)
# The item's text fields in the order the model reads them, then the names a scorer's caller
# may use for speech and on-screen text when it builds an item mapping itself.
TEXT_FIELDS: tuple[str, ...] = (*SCORED_TEXT_FIELDS, "asr", "ocr")


class ScorerUnavailable(RuntimeError):
    """The scorer could not produce scores (endpoint down, timeout, bad payload).

    Callers must treat every item of the failed batch as unscored and send it to human review.
    """


@dataclass(frozen=True, slots=True)
class MachineScore:
    """Model output for one item.

    ``harm`` is the probability that the item is harmful under any policy the public datasets
    label (hate, insult, profanity), from the binary harm head trained on all three of them and
    calibrated on cross-validated scores (see docs/model.md); scorers that do not have one fall
    back to ``1 - severity["none"]``. ``policies`` scores each taxonomy policy (label key, e.g.
    ``profanity``, ``illegal_goods.gambling``) and ``evidence`` says, per policy, what fired:
    ``{"source": "head"|"bank"|"extractor", "name", "score", "match", "span"}`` (the span is in
    the normalised text; ``normalise.original_span`` maps it back to the original).
    """

    severity: dict[str, float]
    targets: dict[str, float]
    profanity: float
    harm: float
    model_version: str
    extra: dict[str, float] = field(default_factory=dict)
    policies: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": dict(self.severity),
            "targets": dict(self.targets),
            "profanity": self.profanity,
            "harm": self.harm,
            "model_version": self.model_version,
        }
        if self.policies:
            out["policies"] = dict(self.policies)
        if self.evidence:
            out["evidence"] = {k: dict(v) for k, v in self.evidence.items()}
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], model_version: str | None = None) -> MachineScore:
        """Build from a JSON-like mapping (HTTP scorers, files); fills ``harm`` if missing."""
        severity = {str(k): _prob(v) for k, v in dict(data.get("severity") or {}).items()}
        if "harm" in data and data["harm"] is not None:
            harm = _prob(data["harm"])
        elif "none" in severity:
            harm = _prob(1.0 - severity["none"])
        else:
            raise ValueError("score needs 'harm' or severity['none']")
        version = data.get("model_version") or model_version
        if not version:
            raise ValueError("score needs a model_version")
        return cls(
            severity=severity,
            targets={str(k): _prob(v) for k, v in dict(data.get("targets") or {}).items()},
            profanity=_prob(data.get("profanity", 0.0)),
            harm=harm,
            model_version=str(version),
            policies={str(k): _prob(v) for k, v in dict(data.get("policies") or {}).items()},
            evidence={str(k): dict(v) for k, v in dict(data.get("evidence") or {}).items()
                      if isinstance(v, Mapping)},
        )


def _prob(value: Any) -> float:
    x = float(value)
    if math.isnan(x) or not 0.0 <= x <= 1.0:
        raise ValueError(f"probability out of range: {value!r}")
    return x


@runtime_checkable
class Scorer(Protocol):
    """Anything that turns texts into ``MachineScore``s, one per text, in order."""

    model_version: str

    def score(self, texts: Sequence[str]) -> list[MachineScore]: ...


def item_text(item: Mapping[Any, Any]) -> str:  # (an SQLAlchemy RowMapping too)
    """Join the text fields an item has (title, caption, comment, transcript…) for scoring.

    Items from different products carry text in different fields; the model sees one string.
    A nested ``text`` mapping (``{"text": {"title": …}}``) is also accepted.
    """
    parts: list[str] = []
    nested = item.get("text")
    sources: list[Mapping[str, Any]] = [item]
    if isinstance(nested, Mapping):
        sources.insert(0, nested)
    for source in sources:
        for key in TEXT_FIELDS:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                parts.append(value.strip())
    return " \n ".join(dict.fromkeys(parts))


class CallableScorer:
    """Adapts a plain function ``f(texts) -> list[MachineScore | dict]`` to the Scorer protocol."""

    def __init__(self, fn: Any, model_version: str) -> None:
        self._fn = fn
        self.model_version = model_version

    def score(self, texts: Sequence[str]) -> list[MachineScore]:
        raw = self._fn(list(texts))
        out = [
            r if isinstance(r, MachineScore) else MachineScore.from_dict(r, self.model_version)
            for r in raw
        ]
        if len(out) != len(texts):
            raise ScorerUnavailable(f"scorer returned {len(out)} scores for {len(texts)} texts")
        return out


class HttpScorer:
    """A team's own classifier behind HTTP.

    Protocol: ``POST {url}`` with ``{"texts": [...]}``; the answer is
    ``{"model_version": "...", "scores": [{severity, targets, profanity[, harm]}, ...]}`` (or a
    bare list of score objects, each with its own ``model_version``). Any transport error,
    timeout, non-2xx status or malformed payload raises ``ScorerUnavailable``.
    """

    def __init__(self, url: str, timeout: float = 5.0, batch_size: int = 256,
                 headers: Mapping[str, str] | None = None) -> None:
        import httpx

        self.url = url
        self.timeout = timeout
        self.batch_size = batch_size
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
                                    headers=dict(headers or {}))
        self.model_version = f"http:{url}"

    def score(self, texts: Sequence[str]) -> list[MachineScore]:
        import httpx

        out: list[MachineScore] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            try:
                resp = self._client.post(self.url, json={"texts": batch})
                resp.raise_for_status()
                payload = resp.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise ScorerUnavailable(f"HTTP scorer {self.url} failed: {exc}") from exc
            try:
                version = None
                rows = payload
                if isinstance(payload, Mapping):
                    version = payload.get("model_version")
                    rows = payload["scores"]
                scores = [MachineScore.from_dict(r, version) for r in rows]
            except (KeyError, TypeError, ValueError) as exc:
                msg = f"HTTP scorer {self.url} sent a bad payload: {exc}"
                raise ScorerUnavailable(msg) from exc
            if len(scores) != len(batch):
                raise ScorerUnavailable(
                    f"HTTP scorer {self.url} returned {len(scores)} scores for {len(batch)} texts"
                )
            if scores:
                self.model_version = scores[-1].model_version
            out.extend(scores)
        return out

    def close(self) -> None:
        self._client.close()


def load_entrypoint(target: str) -> Scorer:
    """``module:attr`` → a Scorer. ``attr`` may be a Scorer, a class/factory returning one,
    or a plain function of texts (wrapped; its version is the entry point string)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"entry point must look like 'package.module:attr', got {target!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if isinstance(obj, Scorer):
        return obj
    if isinstance(obj, type):
        inst = obj()
        if isinstance(inst, Scorer):
            return inst
        raise TypeError(f"{target} did not produce a Scorer")
    if callable(obj):
        return CallableScorer(obj, model_version=f"entrypoint:{target}")
    raise TypeError(f"{target} is not a Scorer or callable")


def get_scorer(spec: str | None = None, *, timeout: float = 5.0) -> Scorer:
    """Resolve a scorer spec.

    * ``None`` / ``"builtin"`` → the built-in Korean model (active version in MODOPS_MODEL_DIR,
      else the artifact shipped in the package).
    * ``"builtin:<version>"`` → a specific registered version.
    * ``"entrypoint:module:attr"`` → any Python object/callable.
    * ``"http://…"`` / ``"https://…"`` → ``HttpScorer`` with ``timeout`` seconds.
    """
    if spec is None or spec == "builtin" or spec.startswith("builtin:"):
        from modops.machine.model import load_builtin

        version = None if spec in (None, "builtin") else spec.split(":", 1)[1]
        return load_builtin(version)
    if spec.startswith(("http://", "https://")):
        return HttpScorer(spec, timeout=timeout)
    if spec.startswith("entrypoint:"):
        return load_entrypoint(spec.removeprefix("entrypoint:"))
    raise ValueError(f"unknown scorer spec {spec!r} (use builtin, entrypoint:mod:attr or http://…)")
