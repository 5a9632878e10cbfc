"""Users, teams and credentials."""

from modops.accounts.service import (
    add_user,
    get_user,
    hash_password,
    list_users,
    set_password,
    verify_password,
)

__all__ = ["add_user", "get_user", "hash_password", "list_users", "set_password", "verify_password"]
