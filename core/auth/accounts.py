"""Dashboard accounts and the sign-in policy: when a password is asked, what each role may do."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.auth.passwords import hash_password, verify_password

LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}
# What only an admin may do; a marketer does everything else.
ADMIN_ONLY = frozenset({"keys", "users", "rollback"})
LOCAL_ACTOR = "local"


@dataclass(frozen=True)
class SignedIn:
    username: str
    role: str

    def can(self, permission: str) -> bool:
        return self.role == "admin" or permission not in ADMIN_ONLY


LOCAL = SignedIn(LOCAL_ACTOR, "admin")  # sign-in off: the one local user may do everything


def sign_in_required(bind_address: str | None = None) -> bool:
    """RECOLM_AUTH=on, or the dashboard listens on anything but loopback (RECOLM_AUTH=off cannot undo that)."""
    flag = os.environ.get("RECOLM_AUTH", "").strip().lower()
    if flag in ("on", "1", "true", "yes"):
        return True
    address = (bind_address or "127.0.0.1").strip()
    return address not in LOOPBACK and not address.startswith("127.")


def add_user(session: Session, username: str, password: str, role: str, actor: str = "cli") -> None:
    from db.accounts import add_account
    from db.audit import record

    username = username.strip()
    if not username:
        raise ValueError("a user needs a name")
    add_account(session, username, hash_password(password), role)
    record(session, actor, "add_user", username, {"role": role})


def authenticate(session: Session, username: str, password: str) -> SignedIn | None:
    """The account when the password is right and it is not disabled; None otherwise (never says which)."""
    from db.accounts import get_account

    row = get_account(session, username.strip())
    if row is None:
        verify_password(password, _DUMMY_HASH)  # same time either way: no probing for user names
        return None
    if row.disabled or not verify_password(password, row.password_hash):
        return None
    return SignedIn(row.username, row.role)


_DUMMY_HASH = "$2b$12$DTufmXH4I0DfGqEhMZtTyuYEvJzCAPyrC.zBX6tehs/62qiQusTRy"  # bcrypt of a throw-away word
