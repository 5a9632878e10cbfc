"""Users, teams and credentials (passwords, browser sessions, API tokens)."""

from modops.accounts.credentials import (
    create_token,
    end_session,
    list_tokens,
    revoke_token,
    session_user,
    start_session,
    token_user,
)
from modops.accounts.service import (
    add_user,
    get_user,
    hash_password,
    list_users,
    set_password,
    update_team,
    verify_password,
)

__all__ = [
    "add_user",
    "create_token",
    "end_session",
    "get_user",
    "hash_password",
    "list_tokens",
    "list_users",
    "revoke_token",
    "session_user",
    "set_password",
    "start_session",
    "token_user",
    "update_team",
    "verify_password",
]
