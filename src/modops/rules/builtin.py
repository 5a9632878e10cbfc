"""The built-in signals: model heads and per-policy scores, keyword/extractor banks, hash-bank
matches and near-duplicate clusters, user reports, item metadata and the machine's route.

Each is registered in ``modops.rules.signals`` (read that module's docstring to add yours).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text

from modops.rules.signals import (
    Extractor,
    Facts,
    JsonPath,
    SignalType,
    register_facts,
    register_family,
    register_signal,
)

_N, _I, _B, _S, _SS, _T = (SignalType.NUMBER, SignalType.INT, SignalType.BOOL, SignalType.STR,
                           SignalType.STRS, SignalType.TEXT)
_SCORES = "i.machine_scores"


def _detail(f: Facts) -> dict[str, Any]:
    return f.get("detail") or {}


def _hours_since(when: Any, now: Any) -> float | None:
    if when is None or now is None:
        return None
    if isinstance(when, str):
        when = datetime.fromisoformat(when.rstrip("Z"))
    return float((now - when).total_seconds() / 3600.0)


def _meta(key: str) -> Extractor:
    def get(f: Facts) -> Any:
        md = f.get("metadata")
        return md.get(key) if isinstance(md, dict) else None
    return get


# -- model ---------------------------------------------------------------------------------

register_signal("score", _N, "probability",
                "The model's calibrated harm probability (any policy the public datasets "
                "label); the number the two project thresholds apply to.",
                lambda f: f.get("score"), source="model", sql="i.machine_score")
for _head in ("hate", "offensive", "none"):
    register_signal(f"head.{_head}", _N, "probability",
                    f"The model's severity head: probability of '{_head}'.",
                    (lambda h: lambda f: (_detail(f).get("severity") or {}).get(h))(_head),
                    source="model", sql=JsonPath(_SCORES, ("severity", _head)))
register_signal("head.profanity", _N, "probability", "The model's profanity head.",
                lambda f: _detail(f).get("profanity"), source="model",
                sql=JsonPath(_SCORES, ("profanity",)))
register_signal("trivial", _B, "flag",
                "Trivial text (empty, 'ㅋㅋ', emoji only, < 2 Hangul syllables): the machine "
                "never acts on it.",
                lambda f: bool(_detail(f).get("trivial")
                               or (_detail(f).get("extra") or {}).get("trivial")),
                source="model")
register_family("policy.", _N, "probability",
                "Per-policy score of the taxonomy policy named after the dot (model head, bank "
                "or extractor, noisy-or of what fired), e.g. policy.illegal_goods.gambling.",
                lambda key: lambda f: (_detail(f).get("policies") or {}).get(key),
                source="model", sql=lambda key: JsonPath(_SCORES, ("policies", key)),
                examples=("hate", "profanity", "illegal_goods.gambling", "sexual",
                          "fraud.voice_phishing", "privacy"))
register_family("target.", _N, "probability",
                "The model's target head named after the dot (gender, origin, politics, …).",
                lambda key: lambda f: (_detail(f).get("targets") or {}).get(key),
                source="model", sql=lambda key: JsonPath(_SCORES, ("targets", key)),
                examples=("gender", "origin", "politics"))
register_signal("model_version", _S, "code", "The version of the model that scored the item.",
                lambda f: _detail(f).get("model_version"), source="model",
                sql="i.model_version")


# -- banks (keyword lexicons, patterns and extractors, on the normalised text) ----------------

def _fired(f: Facts) -> frozenset[str]:
    evidence = _detail(f).get("evidence") or {}
    return frozenset(p for p, e in evidence.items()
                     if isinstance(e, dict) and e.get("source") in ("bank", "extractor"))


def _fired_names(f: Facts) -> frozenset[str]:
    evidence = _detail(f).get("evidence") or {}
    return frozenset(str(e.get("name")) for e in evidence.values()
                     if isinstance(e, dict) and e.get("source") in ("bank", "extractor"))


register_signal("banks_fired", _SS, "policy keys",
                "Policies a keyword bank or an extractor fired for (not the model head), e.g. "
                "contains: illegal_goods.gambling.", _fired, source="bank")
register_signal("bank_patterns", _SS, "pattern names",
                "Names of the bank patterns or extractors that fired (toto, site_code, phone, "
                "rrn, …).", _fired_names, source="bank")


def _bank_max(f: Facts) -> float | None:
    policies = _detail(f).get("policies") or {}
    fired = _fired(f)
    vals = [float(v) for k, v in policies.items() if k in fired]
    return max(vals) if vals else None


register_signal("bank_score", _N, "probability",
                "The strongest per-policy score among policies a bank or extractor fired for.",
                _bank_max, source="bank")


# -- text ----------------------------------------------------------------------------------

def _load_text(conn: Any, item_ids: Sequence[int]) -> dict[int, Any]:
    from modops.domain.fields import SCORED_TEXT_FIELDS
    from modops.machine.normalise import normalise_many

    marks = ", ".join(str(int(i)) for i in item_ids)
    rows = conn.execute(text(  # id lists vary: not memoized
        f"SELECT id, {', '.join(SCORED_TEXT_FIELDS)} FROM items WHERE id IN ({marks})")).all()
    joined = [" ".join(str(v) for v in r[1:] if v) for r in rows]
    return dict(zip((r[0] for r in rows), normalise_many(joined), strict=True))


register_facts("text", _load_text, "the item's text fields, joined and normalised")
register_signal("text", _T, "normalised text",
                "The item's text (title, caption, comment, text, transcript) after "
                "normalisation (modops.machine.normalise: jamo composed, look-alike letters "
                "folded, fillers removed), for pattern conditions.",
                lambda f: f.get("text"), source="item", facts=("text",))


# -- media: hash banks and near-duplicate clusters ------------------------------------------

def _load_media(conn: Any, item_ids: Sequence[int]) -> dict[int, Any]:
    marks = ", ".join(str(int(i)) for i in item_ids)
    out: dict[int, Any] = {}
    for item_id, bank in conn.execute(text(
            "SELECT m.item_id, b.name FROM media_matches m JOIN hash_banks b "
            f"ON b.id = m.bank_id WHERE m.item_id IN ({marks})")):
        out.setdefault(item_id, set()).add(bank)
    return {k: frozenset(v) for k, v in out.items()}


def _load_clusters(conn: Any, item_ids: Sequence[int]) -> dict[int, Any]:
    marks = ", ".join(str(int(i)) for i in item_ids)
    rows = conn.execute(text(
        "SELECT c.item_id, c.kind, (SELECT count(*) FROM item_clusters o WHERE "
        "o.project_id = c.project_id AND o.kind = c.kind AND o.cluster_id = c.cluster_id) "
        f"FROM item_clusters c WHERE c.item_id IN ({marks})")).all()
    out: dict[int, dict[str, int]] = {}
    for item_id, kind, size in rows:
        out.setdefault(item_id, {})[kind] = int(size)
    return dict(out)


register_facts("hash_banks", _load_media, "names of hash banks the item's media matched")
register_facts("clusters", _load_clusters, "near-duplicate cluster sizes by kind")
register_signal("hash_banks", _SS, "bank names",
                "Hash banks (PDQ, vPDQ, MD5, SHA-256) the item's media matched.",
                lambda f: f.get("hash_banks") or frozenset(), source="media",
                facts=("hash_banks",))
register_signal("hash_match", _B, "flag", "The item's media matched any hash bank.",
                lambda f: bool(f.get("hash_banks")), source="media", facts=("hash_banks",))
register_signal("dup_cluster_size", _I, "items",
                "Size of the item's largest near-duplicate cluster (same media or near-"
                "identical text); 1 when it is in none.",
                lambda f: max((f.get("clusters") or {}).values(), default=1),
                source="media", facts=("clusters",))
register_signal("text_cluster_size", _I, "items",
                "Size of the item's near-duplicate text cluster (MinHash LSH); 1 when none.",
                lambda f: (f.get("clusters") or {}).get("text", 1), source="media",
                facts=("clusters",))
register_signal("media_cluster_size", _I, "items",
                "Size of the item's same-media cluster (SHA-256 or PDQ); 1 when none.",
                lambda f: (f.get("clusters") or {}).get("media", 1), source="media",
                facts=("clusters",))


# -- user reports ------------------------------------------------------------------------------

def _report_count(f: Facts) -> int:
    n = _meta("report_count")(f)
    if isinstance(n, int | float) and not isinstance(n, bool):
        return int(n)
    return 1 if f.get("reported") else 0


register_signal("reported", _B, "flag", "Users reported the item.",
                lambda f: bool(f.get("reported")), source="reports", sql="i.user_reported")
register_signal("report_count", _I, "reports",
                "How many users reported it: metadata.report_count when the platform sends "
                "it, else 1 if reported, else 0.", _report_count, source="reports")
register_signal("report_age_hours", _N, "hours",
                "Hours since the first user report (reported_at); unknown when not reported.",
                lambda f: _hours_since(f.get("reported_at"), f.get("now")), source="reports")


# -- item metadata -----------------------------------------------------------------------------

register_signal("product", _S, "code", "Product key (short_video, live, comment, ad).",
                lambda f: f.get("product"), source="item", sql="p.key")
register_signal("region", _S, "ISO 3166 code",
                "The author's region as the platform sends it (metadata.author_region, else "
                "metadata.region).",
                lambda f: _meta("author_region")(f) or _meta("region")(f), source="item")
register_signal("views", _I, "views", "View count when routed.",
                lambda f: f.get("views"), source="item", sql="i.view_count")
register_signal("language", _S, "code", "Language code (ko, en, …).",
                lambda f: f.get("language"), source="item", sql="i.language")
register_signal("age_hours", _N, "hours",
                "Hours since the platform created the item (created_at, else ingested_at).",
                lambda f: _hours_since(f.get("created_at") or f.get("ingested_at"),
                                       f.get("now")), source="item")
register_family("meta.", _S, "as sent",
                "Any key of the item's metadata object, as sent by the platform "
                "(meta.source, meta.channel, …).", _meta, source="item",
                examples=("author_region", "source"))


# -- routing -------------------------------------------------------------------------------

register_signal("machine_route", _S, "code",
                "What the thresholds alone decide before rules: auto_action, auto_clear, "
                "human or unscored (in a backtest: the route recorded when the item was routed).",
                lambda f: f.get("route"), source="routing", sql="i.route")
