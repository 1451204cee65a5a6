"""Dashboard passwords, hashed with bcrypt (salted, slow on purpose)."""

from __future__ import annotations

import bcrypt

MIN_LENGTH = 8
_BCRYPT_MAX_BYTES = 72


def hash_password(password: str) -> str:
    check_password_rules(password)
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    data = password.encode("utf-8")
    if len(data) > _BCRYPT_MAX_BYTES:
        return False
    try:
        return bcrypt.checkpw(data, password_hash.encode("ascii"))
    except ValueError:  # not a bcrypt hash
        return False


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password.encode("utf-8")) > _BCRYPT_MAX_BYTES:
        raise ValueError(f"a password may have at most {_BCRYPT_MAX_BYTES} bytes (bcrypt's limit)")
