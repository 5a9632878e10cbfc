"""Password policy: long enough, not a known-common password, not trivial.

"Common" is the 30,000 most frequent passwords of public breach corpora as shipped by the
``zxcvbn`` package (Dropbox's strength estimator, MIT), plus ``common_passwords_ko.txt``
beside this file: keyboard and romanised patterns Korean users favour that the English list
ranks low. A password is refused if it, or it with its trailing digits and symbols removed
("password1!" → "password"), is on the list; if it is a run of one to three distinct
characters; or if it is a straight run of the alphabet, the digits or a keyboard row (either
way). (A password containing its username is allowed: the demo's documented sign-ins are
"admin-pass-1" and the like, and length plus the list already stop the guessable ones.)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from modops.domain import ValidationError

MIN_LENGTH = 8
_RUNS = ("abcdefghijklmnopqrstuvwxyz", "01234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm",
         "1qaz2wsx3edc4rfv5tgb", "1q2w3e4r5t6y7u8i9o0p", "q1w2e3r4t5y6u7i8o9p0")
_TAIL = "0123456789!@#$%^&*()-_=+.,?~ "


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    ko = Path(__file__).with_name("common_passwords_ko.txt").read_text(encoding="utf-8")
    extra = (w.strip().lower() for w in ko.splitlines() if w.strip() and not w.startswith("#"))
    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(extra)


def _straight_run(pw: str) -> bool:
    return any(pw in run or pw in run[::-1] for run in _RUNS)


def check_password(password: str) -> None:
    """Raise ValidationError saying why ``password`` is refused; return if it is acceptable."""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"a password needs at least {MIN_LENGTH} characters")
    low = password.lower()
    if len(set(low)) <= 3:
        raise ValidationError("that password repeats too few characters; choose a longer "
                              "phrase")
    common = common_passwords()
    base = low.rstrip(_TAIL)
    if low in common or (len(base) >= 4 and base in common) or _straight_run(base or low):
        raise ValidationError("that password is on the list of commonly used passwords; "
                              "choose another (a few unrelated words work well)")
