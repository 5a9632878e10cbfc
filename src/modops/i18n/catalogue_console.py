"""The catalogue's entries for the admin and oversight console (issue 20): users, API tokens,
the audit log, teams and vendors, the item browser, alerts triage and scorecards, and the
error pages. Part of the one catalogue: ``catalogue.TEXT`` merges this table, so the same
tests (both languages, same fields, glossary) apply."""

from __future__ import annotations

# key -> (Korean, English)
CONSOLE_TEXT: dict[str, tuple[str, str]] = {
    # navigation
    "nav.admin": ("관리", "Admin"),
    "nav.tokens": ("API 토큰", "API tokens"),
    "nav.audit": ("감사 로그", "Audit log"),
    "admin.title": ("관리", "Administration"),
    # notices after a change (?m=…)
    "console.notice.role": ("역할을 바꿨습니다. 기록에 남았습니다.",
                            "Role changed. The change is in the audit log."),
    "console.notice.deactivated": ("계정을 비활성화했습니다. 세션이 끝나고 API 토큰이 "
                                   "폐기되었습니다.",
                                   "Account deactivated: its sessions ended and its API tokens "
                                   "were revoked."),
    "console.notice.activated": ("계정을 다시 활성화했습니다.", "Account activated again."),
    "console.notice.password": ("새 비밀번호를 설정했습니다. 이 사용자의 세션이 모두 끝났습니다.",
                                "New password set. Every session of this user has ended."),
    "console.notice.sessions": ("이 사용자의 모든 세션을 끝냈습니다.",
                                "Every session of this user has ended."),
    "console.notice.revoked": ("토큰을 폐기했습니다. 더 이상 쓸 수 없습니다.",
                               "Token revoked. It no longer works."),
    "console.notice.team": ("팀 정보를 저장했습니다.", "Team saved."),
    "console.notice.acknowledged": ("알림을 확인 처리했습니다.", "Alert acknowledged."),
    "console.notice.assigned": ("알림 담당자를 지정했습니다.", "Alert assigned."),
    "console.notice.snoozed": ("알림을 일시 중지했습니다.", "Alert snoozed."),
    "console.notice.resolved": ("알림을 해결 처리했습니다.", "Alert resolved."),
    # users
    "admin.user": ("사용자", "User"),
    "admin.created": ("생성", "Created"),
    "admin.active_tokens": ("사용 중인 API 토큰", "Active API tokens"),
    "admin.audit_of": ("이 계정의 변경 기록", "Changes to this account"),
    "admin.audit_by": ("이 사용자가 한 일", "What this user did"),
    "admin.self_note": ("본인 계정의 역할과 활성 상태는 다른 관리자만 바꿀 수 있습니다.",
                        "Only another admin can change your own role or switch your account "
                        "off."),
    "admin.change_role": ("역할 변경", "Change role"),
    "admin.save_role": ("역할 저장", "Save role"),
    "admin.access": ("로그인 허용", "Sign-in access"),
    "admin.deactivate_note": ("비활성화하면 로그인할 수 없고, 모든 세션이 끝나며 API 토큰이 "
                              "폐기됩니다.",
                              "Deactivating stops sign-ins, ends every session and revokes "
                              "every API token."),
    "admin.deactivate": ("비활성화", "Deactivate"),
    "admin.activate": ("다시 활성화", "Activate again"),
    "admin.reset_password": ("비밀번호 재설정", "Reset password"),
    "admin.password_note": ("8자 이상, 흔히 쓰이는 비밀번호는 안 됩니다. 이 사용자의 세션은 모두 "
                            "끝납니다.",
                            "At least 8 characters, not a commonly used password. Every "
                            "session of this user ends."),
    "admin.new_password": ("새 비밀번호", "New password"),
    "admin.sessions": ("세션", "Sessions"),
    "admin.sessions_note": ("이 사용자를 모든 브라우저에서 로그아웃시킵니다 (API 토큰은 그대로).",
                            "Signs this user out of every browser (API tokens stay)."),
    "admin.end_sessions": ("모든 세션 끝내기", "End every session"),
    "admin.edit": ("관리", "Manage"),
    "admin.error.self_role": ("본인의 역할은 바꿀 수 없습니다.",
                              "You cannot change your own role."),
    "admin.error.self_deactivate": ("본인 계정은 비활성화할 수 없습니다.",
                                    "You cannot deactivate your own account."),
    "admin.error.password": ("이 비밀번호는 쓸 수 없습니다: 8자 이상이고 흔히 쓰이지 않는 "
                             "비밀번호를 고르세요 "
                             "(관련 없는 단어 몇 개를 이으면 좋습니다).",
                             "That password is refused: choose at least 8 characters that are "
                             "not a commonly used password (a few unrelated words work well)."),
    # API tokens
    "tokens.title": ("API 토큰", "API tokens"),
    "tokens.create": ("토큰 만들기", "Create token"),
    "tokens.created": ("토큰 '{name}'을(를) 만들었습니다", "Token '{name}' created"),
    "tokens.once": ("지금 복사하세요. 이 값은 다시 보여 주지 않습니다.",
                    "Copy it now: it will not be shown again."),
    "tokens.value": ("토큰 값", "Token value"),
    "tokens.usage": ("요청 헤더에 넣어 사용합니다:", "Send it in a request header:"),
    "tokens.name": ("이름", "Name"),
    "tokens.name_hint": ("예: 야간 내보내기 스크립트", "e.g. nightly export script"),
    "tokens.days": ("유효 기간(일)", "Lifetime (days)"),
    "tokens.owner": ("소유자", "Owner"),
    "tokens.list": ("토큰 목록", "Tokens"),
    "tokens.prefix": ("앞자리", "Prefix"),
    "tokens.created_at": ("생성", "Created"),
    "tokens.expires_at": ("만료", "Expires"),
    "tokens.last_used": ("마지막 사용", "Last used"),
    "tokens.state": ("상태", "State"),
    "tokens.active": ("사용 중", "Active"),
    "tokens.revoked": ("폐기됨", "Revoked"),
    "tokens.never": ("만료 없음", "never"),
    "tokens.revoke": ("폐기", "Revoke"),
    "tokens.empty": ("아직 토큰이 없습니다.", "No token yet."),
    "tokens.times_kst": ("시각은 한국 표준시(KST)입니다.", "Times are Korea Standard Time (KST)."),
    "tokens.api_note": ("API로 첫 토큰을 만들 때: POST /api/v1/auth/login 응답의 X-CSRF-Token "
                        "헤더 값을 "
                        "쿠키와 함께 POST /api/v1/tokens 요청의 X-CSRF-Token 헤더로 보내세요. "
                        "토큰으로 인증한 요청에는 CSRF 헤더가 필요 없습니다.",
                        "Creating the first token through the API: send the X-CSRF-Token "
                        "header from the POST /api/v1/auth/login answer back as the "
                        "X-CSRF-Token header of POST /api/v1/tokens, with the cookie. Requests "
                        "made with a token need no CSRF header."),
    "tokens.error.days": ("유효 기간은 1 이상의 정수(일)여야 합니다.",
                          "The lifetime must be a whole number of days, 1 or more."),
    "tokens.error.invalid": ("토큰을 만들 수 없습니다: 이름(1~200자)과 허용된 유효 기간을 "
                             "확인하세요.",
                             "The token could not be created: check its name (1–200 "
                             "characters) and the allowed lifetime."),
    # the audit log
    "audit.title": ("감사 로그", "Audit log"),
    "audit.total": ("{n}건", "{n} entries"),
    "audit.csv": ("CSV로 내보내기", "Export CSV"),
    "audit.actor": ("수행자", "Actor"),
    "audit.action": ("동작", "Action"),
    "audit.entity": ("대상 종류", "Object type"),
    "audit.entity_id": ("대상 ID", "Object id"),
    "audit.object": ("대상", "Object"),
    "audit.project": ("프로젝트", "Project"),
    "audit.any": ("전체", "Any"),
    "audit.since": ("시작일 (KST)", "From (KST)"),
    "audit.until": ("종료일 (KST)", "To (KST)"),
    "audit.clear": ("필터 지우기", "Clear filters"),
    "audit.at": ("시각 (KST)", "Time (KST)"),
    "audit.change": ("변경 내용", "Change"),
    "audit.before": ("이전", "Before"),
    "audit.after": ("이후", "After"),
    "audit.note": ("동작은 앞부분으로 찾습니다 (예: 'user'는 user.role, user.deactivate 등). "
                   "기록은 추가만 되며 수정·삭제할 수 없습니다.",
                   "Actions match by prefix ('user' finds user.role, user.deactivate, …). "
                   "The log is append-only: entries cannot be changed or deleted."),
    "audit.newest": ("최신으로", "Newest"),
    "audit.older": ("이전 기록", "Older"),
    "audit.empty": ("조건에 맞는 기록이 없습니다.", "No entry matches."),
    # teams and vendors
    "teams.title": ("팀·협력사", "Teams & vendors"),
    "teams.vendor": ("협력사", "Vendor"),
    "teams.hourly_cost": ("시간당 비용", "Hourly cost"),
    "teams.currency": ("통화 (ISO 4217)", "Currency (ISO 4217)"),
    "teams.per_hour": ("{amount} {currency}/시간", "{amount} {currency}/h"),
    "teams.no_cost": ("미설정", "not set"),
    "teams.shift": ("근무 시간 (KST)", "Shift (KST)"),
    "teams.shift_value": ("{start}시부터 {hours}시간", "from {start}:00 for {hours} h"),
    "teams.members": ("인원", "Members"),
    "teams.note": ("비용은 항상 팀의 통화로 표시하며 환산하지 않습니다.",
                   "Costs are always shown in the team's own currency, never converted."),
    "teams.edit": ("팀 추가·수정", "Add or change a team"),
    "teams.shift_start": ("근무 시작 (UTC 시)", "Shift start (UTC hour)"),
    "teams.shift_hours": ("근무 시간 (시간)", "Shift length (hours)"),
    "teams.blank_keeps": ("비워 둔 항목은 바꾸지 않습니다.", "Fields left blank are not changed."),
    "teams.save": ("팀 저장", "Save team"),
    "teams.error.name": ("팀 이름을 입력하세요.", "Enter the team's name."),
    "teams.error.invalid": ("값을 확인하세요: 비용은 0 이상, 통화는 KRW 같은 세 글자, 근무 시작 "
                            "0~23, "
                            "근무 시간 1~24.",
                            "Check the values: cost 0 or more, currency three letters such as "
                            "KRW, shift start 0–23, shift length 1–24."),
    # error pages
    "error.403.detail": ("현재 역할({role})로는 이 페이지나 작업을 쓸 수 없습니다. 필요하면 "
                         "관리자에게 "
                         "권한을 요청하세요.",
                         "Your role ({role}) cannot open this page or do this. Ask an admin "
                         "if you need it."),
    "error.404.detail": ("주소가 잘못되었거나, 없거나, 볼 수 없는 항목입니다.",
                         "The address is wrong, or the thing does not exist or is not yours "
                         "to see."),
    "error.csrf": ("페이지가 오래되어 요청을 확인할 수 없습니다. 새로고침한 뒤 다시 시도하세요.",
                   "This page is too old to confirm the request. Reload it and try again."),
    "error.405": ("이 주소는 이런 방식으로 열 수 없습니다.",
                  "This address cannot be used this way."),
    "error.home": ("처음으로", "Home"),
}
