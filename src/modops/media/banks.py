"""Hash banks, HMA-compatible: lists of known-bad hashes and what a match does.

A bank has a name, the policy label a match carries, an action (``auto_action``: decide the
item with the bank's label; ``review``: serve it to humans first), an enabled switch and a
version that goes up with every change of content, so each recorded match says which list it
was made against. Content comes from a decision ("add to bank", reviewer or manager, audited)
or from a hash list in ThreatExchange's file format (one ``<signal_type> <signal>`` a line, as
``threatexchange``'s ``LocalFileSignalExchangeAPI`` reads and writes it and HMA exchanges).

Matching: PDQ within the bank's distance (31 by default) through ``PdqIndex`` (exact scan for
small banks, multi-index hashing for large; recall 1.0 either way), vPDQ with HMA's
frame-match thresholds, MD5/SHA-256 exactly. The matcher is cached per process and rebuilt
when any bank's version changes.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select

from modops.domain import NotFound, ValidationError
from modops.media.pdqindex import PdqIndex, hex_to_bytes
from modops.media.signals import (
    PDQ_MIN_QUALITY,
    SIGNAL_TYPES,
    bank_variants,
    validate,
    vpdq_match,
)
from modops.store import session_scope, utcnow
from modops.store.audit import record
from modops.store.models import User
from modops.store.models_media import BankEntry, HashBank, ItemMedia, MediaObject

BANK_ACTIONS = ("auto_action", "review")


def _key(signal: str) -> str:
    return hashlib.sha256(signal.encode()).hexdigest()


def bank_dict(b: HashBank, entries: int | None = None) -> dict[str, Any]:
    out = {"id": b.id, "name": b.name, "policy_label": b.policy_label, "action": b.action,
           "enabled": b.enabled, "version": b.version, "pdq_threshold": b.pdq_threshold,
           "description": b.description}
    if entries is not None:
        out["entries"] = entries
    return out


def create_bank(engine: Engine, name: str, policy_label: str, action: str, *,
                pdq_threshold: int | None = None, description: str | None = None,
                actor: User | str | None = "system") -> dict[str, Any]:
    if pdq_threshold is None:
        from modops.media.settings import media_settings

        pdq_threshold = media_settings().pdq_threshold
    if action not in BANK_ACTIONS:
        raise ValidationError(f"a bank's action is one of {', '.join(BANK_ACTIONS)}")
    if not 0 <= pdq_threshold <= 63:
        raise ValidationError("pdq_threshold must be 0-63 bits (31 is HMA's default)")
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("a bank needs a name of 1-100 characters")
    now = utcnow()
    with session_scope(engine, immediate=True) as s:
        if s.scalar(select(HashBank.id).where(HashBank.name == name)):
            raise ValidationError(f"a bank named {name!r} exists")
        bank = HashBank(name=name, policy_label=policy_label, action=action, enabled=True,
                        version=1, pdq_threshold=pdq_threshold, description=description,
                        created_at=now, updated_at=now)
        s.add(bank)
        s.flush()
        out = bank_dict(bank, 0)
        record(s, actor=actor, action="bank.create", entity="hash_bank", entity_id=bank.id,
               after=out)
    return out


def update_bank(engine: Engine, name: str, changes: dict[str, Any], *,
                actor: User | str | None = "system") -> dict[str, Any]:
    allowed = {"policy_label", "action", "enabled", "pdq_threshold", "description"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"cannot change {', '.join(sorted(unknown))} of a bank")
    if "action" in changes and changes["action"] not in BANK_ACTIONS:
        raise ValidationError(f"a bank's action is one of {', '.join(BANK_ACTIONS)}")
    with session_scope(engine, immediate=True) as s:
        bank = _bank(s, name)
        before = bank_dict(bank)
        for k, v in changes.items():
            setattr(bank, k, v)
        bank.version += 1  # what matches means changed: later matches cite the new version
        bank.updated_at = utcnow()
        record(s, actor=actor, action="bank.update", entity="hash_bank", entity_id=bank.id,
               before=before, after=bank_dict(bank))
        return bank_dict(bank)


def list_banks(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine, immediate=True) as s:
        counts = dict(s.execute(select(BankEntry.bank_id, func.count()).group_by(
            BankEntry.bank_id)).all())
        return [bank_dict(b, int(counts.get(b.id, 0)))
                for b in s.scalars(select(HashBank).order_by(HashBank.name))]


def _bank(s: Any, name: str) -> HashBank:
    bank = s.scalar(select(HashBank).where(HashBank.name == name))
    if bank is None:
        raise NotFound(f"no hash bank {name!r}")
    return bank


def add_signals(engine: Engine, name: str, signals: list[tuple[str, str]], *,
                actor: User | str | None = "system", note: str | None = None,
                source_item_id: int | None = None, source_media_id: int | None = None,
                audit_action: str = "bank.add") -> int:
    """Add ``(signal_type, signal)`` pairs (validated; duplicates ignored). Returns how many
    were new; the bank's version goes up once if any were."""
    clean: dict[tuple[str, str], str] = {}
    for i, (stype, signal) in enumerate(signals, 1):
        try:
            sig = validate(stype, signal)
        except ValueError as exc:
            raise ValidationError(f"signal {i}: {exc}") from None
        clean[(stype, _key(sig))] = sig
    actor_name = actor.username if isinstance(actor, User) else (actor or "system")
    with session_scope(engine, immediate=True) as s:
        bank = _bank(s, name)
        have = set(s.execute(select(BankEntry.signal_type, BankEntry.signal_key).where(
            BankEntry.bank_id == bank.id)).all())
        new = [(k, v) for k, v in clean.items() if k not in have]
        if not new:
            return 0
        bank.version += 1
        bank.updated_at = now = utcnow()
        s.add_all([BankEntry(bank_id=bank.id, signal_type=st, signal=sig, signal_key=key,
                             added_version=bank.version, source_item_id=source_item_id,
                             source_media_id=source_media_id, note=note, added_by=actor_name,
                             added_at=now) for (st, key), sig in new])
        by_type: dict[str, int] = defaultdict(int)
        for (st, _k), _sig in new:
            by_type[st] += 1
        record(s, actor=actor, action=audit_action, entity="hash_bank", entity_id=bank.id,
               after={"added": dict(by_type), "version": bank.version, "note": note,
                      "source_item_id": source_item_id})
    return len(new)


def add_item_to_bank(engine: Engine, name: str, item_id: int, *,
                     actor: User | str | None, note: str | None = None) -> int:
    """"Add to bank" from a decision: every processed file of the item goes in: an image as
    its PDQ and crop/mirror variants (``signals.bank_variants``), a video as its vPDQ, each
    file's exact MD5 too."""
    from modops.media.blobstore import media_store
    from modops.media.decode import MediaRejected, load_image
    from modops.media.settings import media_settings

    store = media_store()
    with session_scope(engine, immediate=True) as s:
        rows = s.execute(select(MediaObject).join(ItemMedia, ItemMedia.media_id == MediaObject.id)
                         .where(ItemMedia.item_id == item_id, MediaObject.state == "ready")
                         ).scalars().all()
        s.expunge_all()
    signals: list[tuple[str, str]] = []
    for m in rows:
        if m.kind == "image" and m.pdq and (m.pdq_quality or 0) >= PDQ_MIN_QUALITY:
            try:
                probe = load_image(store.path(m.sha256), m.mime or "", media_settings())
                signals.extend(("pdq", h) for h in bank_variants(probe.frames[0].rgb))
            except (MediaRejected, OSError):  # the file is gone: its stored hash still counts
                signals.append(("pdq", m.pdq))
        if m.vpdq:
            signals.append(("vpdq", m.vpdq))
        signals.append(("md5", m.md5))
    if not signals:
        raise ValidationError(f"item {item_id} has no processed media to add to a bank")
    return add_signals(engine, name, signals, actor=actor, note=note, source_item_id=item_id,
                       audit_action="bank.add_from_item")


# --- ThreatExchange / HMA hash-list files ------------------------------------------------------

def export_hash_list(engine: Engine, name: str) -> str:
    """The bank as a ThreatExchange file-exchange list: ``<signal_type> <signal>`` a line."""
    with session_scope(engine, immediate=True) as s:
        bank = _bank(s, name)
        rows = s.execute(select(BankEntry.signal_type, BankEntry.signal).where(
            BankEntry.bank_id == bank.id).order_by(BankEntry.id)).all()
    return "".join(f"{st} {sig}\n" for st, sig in rows)


def read_hash_list(text: str, *, default_type: str | None = None) -> list[tuple[str, str]]:
    """Parse a hash list with ``threatexchange``'s own file reader (the format HMA and the
    ``threatexchange`` CLI exchange). ``default_type`` reads a bare list of hashes."""
    from threatexchange.exchanges.impl.file_api import (
        FileCollaborationConfig,
        LocalFileSignalExchangeAPI,
    )

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hashes.txt"
        path.write_text(text, encoding="utf-8")
        api = LocalFileSignalExchangeAPI(FileCollaborationConfig(
            name="import", enabled=True, api=LocalFileSignalExchangeAPI.get_name(),
            filename=str(path), signal_type=default_type))
        out: list[tuple[str, str]] = []
        for delta in api.fetch_iter([], None):
            out.extend((st, sig) for st, sig in delta.updates)
    for i, (st, _sig) in enumerate(out, 1):
        if st not in SIGNAL_TYPES:
            raise ValidationError(f"line {i}: unknown signal type {st!r}; known: "
                                  f"{', '.join(SIGNAL_TYPES)}")
    return out


def import_hash_list(engine: Engine, name: str, text: str, *, default_type: str | None = None,
                     actor: User | str | None = "system") -> int:
    return add_signals(engine, name, read_hash_list(text, default_type=default_type),
                       actor=actor, note="imported hash list", audit_action="bank.import")


# --- matching ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BankMatch:
    bank_id: int
    bank_name: str
    bank_version: int
    policy_label: str
    action: str
    entry_id: int
    signal_type: str
    distance: float
    detail: dict[str, Any]


@dataclass
class _Bank:
    id: int
    name: str
    version: int
    policy_label: str
    action: str
    threshold: int


class BankMatcher:
    """Every enabled bank's signals in memory, indexed for matching."""

    def __init__(self, engine: Engine) -> None:
        with session_scope(engine, immediate=True) as s:
            banks = s.scalars(select(HashBank).where(HashBank.enabled.is_(True))).all()
            self.banks = {b.id: _Bank(b.id, b.name, b.version, b.policy_label, b.action,
                                      b.pdq_threshold) for b in banks}
            rows = s.execute(select(BankEntry.id, BankEntry.bank_id, BankEntry.signal_type,
                                    BankEntry.signal).where(
                BankEntry.bank_id.in_(list(self.banks)))).all()
        pdq_ids: list[int] = []
        pdq_hex: list[str] = []
        self.exact: dict[tuple[str, str], list[tuple[int, int]]] = {}
        self.vpdq = []
        for entry_id, bank_id, st, sig in rows:
            if st == "pdq":
                pdq_ids.append(entry_id)
                pdq_hex.append(sig)
            elif st == "vpdq":
                self.vpdq.append((entry_id, bank_id, sig))
            else:
                self.exact.setdefault((st, sig), []).append((entry_id, bank_id))
        self.entry_bank = {e: b for e, b, _st, _sig in rows}
        self.pdq = PdqIndex(hex_to_bytes(pdq_hex), np.asarray(pdq_ids, dtype=np.int64))
        self.max_threshold = max((b.threshold for b in self.banks.values()), default=31)

    def _hit(self, entry_id: int, st: str, distance: float, detail: dict[str, Any]) \
            -> BankMatch:
        b = self.banks[self.entry_bank[entry_id]]
        return BankMatch(b.id, b.name, b.version, b.policy_label, b.action, entry_id, st,
                         distance, detail)

    def match_pdq(self, hashes: list[tuple[str, int, dict[str, Any]]]) -> list[BankMatch]:
        """(hex, quality, detail) per image or keyframe; low-quality hashes are not matched."""
        usable = [(h, d) for h, q, d in hashes if q >= PDQ_MIN_QUALITY]
        if not usable or not len(self.pdq):
            return []
        found = self.pdq.search(hex_to_bytes([h for h, _d in usable]), self.max_threshold)
        out = []
        for (_h, detail), hits in zip(usable, found, strict=True):
            for entry_id, dist in hits:
                if dist <= self.banks[self.entry_bank[entry_id]].threshold:
                    out.append(self._hit(entry_id, "pdq", float(dist), detail))
        return out

    def match_exact(self, signal_type: str, value: str) -> list[BankMatch]:
        return [self._hit(e, signal_type, 0.0, {})
                for e, _b in self.exact.get((signal_type, value), [])]

    def match_vpdq(self, signal: str) -> list[BankMatch]:
        out = []
        for entry_id, _bank_id, ref in self.vpdq:
            ok, q_pct, r_pct = vpdq_match(signal, ref)
            if ok:
                out.append(self._hit(entry_id, "vpdq", round(100.0 - q_pct, 2),
                                     {"query_match_pct": q_pct, "reference_match_pct": r_pct}))
        return out


_cache: weakref.WeakKeyDictionary[Engine, tuple[tuple[Any, ...], BankMatcher]] = \
    weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def matcher(engine: Engine) -> BankMatcher:
    """The cached matcher, rebuilt when a bank is added, changed or enabled/disabled."""
    with session_scope(engine, immediate=True) as s:
        stamp = tuple(s.execute(select(HashBank.id, HashBank.version, HashBank.enabled)
                                .order_by(HashBank.id)).all())
    with _cache_lock:
        hit = _cache.get(engine)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    built = BankMatcher(engine)
    with _cache_lock:
        _cache[engine] = (stamp, built)
    return built
