"""Stored API keys: hashes only (the key itself is shown once, by whoever created it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.tables import ApiKey, utcnow


def add_key(session: Session, name: str, key_hash: str, prefix: str, rate_per_minute: int | None = None,
            created_by: str | None = None) -> ApiKey:
    row = ApiKey(name=name, key_hash=key_hash, prefix=prefix, rate_per_minute=rate_per_minute, created_by=created_by)
    session.add(row)
    session.flush()
    return row


def list_keys(session: Session) -> list[ApiKey]:
    """Newest first, revoked ones included (they show when and stay unusable)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


def revoke_key(session: Session, key_ref: int | str) -> ApiKey:
    """Revoke by id or by the key's shown prefix; KeyError naming the reference when no key matches."""
    if isinstance(key_ref, int) or str(key_ref).isdigit():
        row = session.get(ApiKey, int(key_ref))
    else:
        row = session.scalar(select(ApiKey).where(ApiKey.prefix == str(key_ref)))
    if row is None:
        raise KeyError(f"no API key with id or prefix {key_ref!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
