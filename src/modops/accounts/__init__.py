"""Users, teams and credentials (passwords, browser sessions, API tokens)."""

from modops.accounts.credentials import (
    create_token,
    end_session,
    end_user_sessions,
    list_tokens,
    revoke_token,
    revoke_user_tokens,
    rotate_token,
    session_user,
    start_session,
    token_user,
)
from modops.accounts.service import (
    activate_user,
    add_user,
    change_role,
    deactivate_user,
    get_user,
    hash_password,
    list_users,
    set_password,
    update_team,
    verify_password,
)

__all__ = [
    "activate_user",
    "add_user",
    "change_role",
    "create_token",
    "deactivate_user",
    "end_session",
    "end_user_sessions",
    "get_user",
    "hash_password",
    "list_tokens",
    "list_users",
    "revoke_token",
    "revoke_user_tokens",
    "rotate_token",
    "session_user",
    "set_password",
    "start_session",
    "token_user",
    "update_team",
    "verify_password",
]
