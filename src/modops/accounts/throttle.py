"""Sign-in throttling: per account and per client address, exponential back-off.

After ``free`` failed attempts within the forget window, every further attempt for that
account (or from that address) must wait ``base_s · 2^(n − free)`` seconds after the last
failure, capped at ``max_s``; an attempt during the wait is refused before the password is
looked at, so even the right password does not get in (the lockout). A success clears the
account's count; an address's count only decays (``forget_s`` after its last failure), or a
guesser with one real account could reset it between guesses.

Counts live in the process (every app worker keeps its own): with W workers a guesser gets at
most W × the allowance, which the back-off still turns into hours for a few hundred guesses.
The API's ``/auth/login`` and the web ``/login`` form share the one instance of their app.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    free_per_account: int = 5
    free_per_address: int = 20  # an office behind one NAT address signs in together
    base_s: float = 1.0
    max_s: float = 900.0
    forget_s: float = 3600.0


class SignInThrottle:
    MAX_KEYS = 100_000

    def __init__(self, config: ThrottleConfig | None = None) -> None:
        self.config = config or ThrottleConfig()
        self._fails: dict[str, tuple[int, float]] = {}  # key -> (failures, last failure)
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str | None) -> tuple[tuple[str, int], ...]:
        return ((f"u:{username.strip().lower()}", 0), (f"a:{address or '?'}", 1))

    def _delay(self, n: int, free: int) -> float:
        if n < free:
            return 0.0
        return min(self.config.max_s, self.config.base_s * 2.0 ** (n - free))

    def retry_after(self, username: str, address: str | None) -> float:
        """Seconds until an attempt for ``username`` from ``address`` may be checked; 0: now."""
        now = time.monotonic()
        frees = (self.config.free_per_account, self.config.free_per_address)
        wait = 0.0
        with self._lock:
            for key, which in self._keys(username, address):
                hit = self._fails.get(key)
                if hit is None:
                    continue
                n, last = hit
                if now - last > self.config.forget_s:
                    del self._fails[key]
                    continue
                wait = max(wait, last + self._delay(n, frees[which]) - now)
        return max(0.0, wait)

    def failed(self, username: str, address: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._fails) >= self.MAX_KEYS:
                self._forget_old(now)
            for key, _ in self._keys(username, address):
                n, last = self._fails.get(key, (0, now))
                if now - last > self.config.forget_s:
                    n = 0
                self._fails[key] = (n + 1, now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._fails.pop(self._keys(username, None)[0][0], None)

    def _forget_old(self, now: float) -> None:
        old = [k for k, (_, last) in self._fails.items() if now - last > self.config.forget_s]
        for k in old:
            del self._fails[k]
        if len(self._fails) >= self.MAX_KEYS:  # a flood of fresh keys: start over
            self._fails.clear()
