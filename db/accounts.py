"""Dashboard accounts (sign-in): user name, password hash, role."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.tables import Account

ROLES = ("admin", "marketer")


def add_account(session: Session, username: str, password_hash: str, role: str) -> Account:
    if role not in ROLES:
        raise ValueError(f"role {role!r}; choose one of {', '.join(ROLES)}")
    if get_account(session, username) is not None:
        raise ValueError(f"a user named {username!r} already exists")
    row = Account(username=username, password_hash=password_hash, role=role)
    session.add(row)
    session.flush()
    return row


def get_account(session: Session, username: str) -> Account | None:
    return session.scalar(select(Account).where(Account.username == username))


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.username)))


def count_accounts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Account)) or 0)


def set_disabled(session: Session, username: str, disabled: bool = True) -> Account:
    row = get_account(session, username)
    if row is None:
        raise KeyError(f"no user named {username!r}")
    row.disabled = disabled
    return row


def set_password_hash(session: Session, username: str, password_hash: str) -> Account:
    row = get_account(session, username)
    if row is None:
        raise KeyError(f"no user named {username!r}")
    row.password_hash = password_hash
    return row
