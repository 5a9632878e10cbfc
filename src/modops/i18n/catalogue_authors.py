"""Strings of the author panel and account enforcement (issue 19, part B): key → (KO, EN)."""

from __future__ import annotations

AUTHORS_TEXT: dict[str, tuple[str, str]] = {
    "author.title": ("작성자", "Author"),
    "author.verified": ("인증됨", "Verified"),
    "author.age": ("계정 나이 (일)", "Account age (days)"),
    "author.followers": ("팔로워", "Followers"),
    "author.items": ("게시물", "Items"),
    "author.removed": ("조치됨", "Actioned"),
    "author.strikes": ("유효 경고 (정책별)", "Live strikes (per policy)"),
    "author.enforcements": ("계정 조치", "Account enforcement"),
    "author.recent": ("최근 게시물", "Recent items"),
    "author.posted": ("게시", "Posted"),
    "author.text": ("내용", "Text"),
    "author.undecided": ("미결정", "Not decided"),
    "author.status.active": ("정상", "Active"),
    "author.status.warned": ("경고", "Warned"),
    "author.status.restricted": ("제한", "Restricted"),
    "author.status.suspended": ("정지", "Suspended"),
    "author.status.banned": ("영구 정지", "Banned"),
    "author.action.warn": ("경고", "Warn"),
    "author.action.restrict": ("제한", "Restrict"),
    "author.action.suspend": ("정지", "Suspend"),
    "author.action.ban": ("영구 정지", "Ban"),
    "author.state.in_force": ("유효", "In force"),
    "author.state.appealed": ("이의신청됨", "Appealed"),
    "author.state.upheld": ("유지", "Upheld"),
    "author.state.overturned": ("번복", "Overturned"),
}
