"""Who may see an item's media, and the short-lived signed URLs that serve it.

A file is served only through the app: ``/api/v1/media/{token}``, where the token names the
file (its SHA-256), the item it was shown for, the user it was minted for and an expiry, under
an HMAC with the app's secret key. The route also requires the caller to be signed in as that
user, so a URL copied out of a reviewer's browser opens for nobody else, and stops working
after ``MODOPS_MEDIA_URL_TTL_S`` (default 5 minutes).

Who may see an item's media is the API's policy (``policies.item_media``): reviewers and up
of the item's project, and a labeler only while a task on that item is leased to them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from modops.domain import NotFound


def _mac(key: str, payload: str) -> str:
    digest = hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def sign(key: str, sha256: str, item_id: int, user_id: int, ttl_s: int) -> str:
    payload = f"{sha256}.{item_id}.{user_id}.{int(time.time()) + ttl_s}"
    return f"{payload}.{_mac(key, payload)}"


def verify(key: str, token: str, user_id: int) -> tuple[str, int]:
    """(sha256, item id) of a valid, unexpired token minted for ``user_id``; else NotFound."""
    parts = token.split(".")
    missing = NotFound("no such media (the link may have expired)")
    if len(parts) != 5:
        raise missing
    sha, item, uid, exp, mac = parts
    if not hmac.compare_digest(mac, _mac(key, ".".join(parts[:4]))):
        raise missing
    if not (uid.isdigit() and int(uid) == user_id and exp.isdigit()
            and int(exp) >= time.time() and item.isdigit()):
        raise missing
    return sha, int(item)
