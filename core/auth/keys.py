"""API keys: random, shown once, stored as a SHA-256 hash; checked with a constant-time compare."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

KEY_PREFIX = "rk_"
PREFIX_CHARS = 10  # "rk_" + 7 characters: enough to tell keys apart in a list, useless to guess the rest


@dataclass(frozen=True)
class NewKey:
    id: int
    name: str
    key: str  # the only time the full key exists outside the client
    prefix: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), key_hash)


def create_key(session: Session, name: str, rate_per_minute: int | None = None, actor: str = "cli") -> NewKey:
    """A new key, stored as its hash, with an audit entry (both in the caller's transaction)."""
    from db.api_keys import add_key
    from db.audit import record

    name = name.strip()
    if not name:
        raise ValueError("an API key needs a name (what will use it, e.g. 'web shop')")
    if rate_per_minute is not None and rate_per_minute < 1:
        raise ValueError(f"rate limit must be at least 1 request per minute, not {rate_per_minute}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = add_key(session, name, hash_key(key), key[:PREFIX_CHARS], rate_per_minute, actor)
    record(session, actor, "create_key", f"key {row.id} ({row.prefix}…)", {"name": name})
    return NewKey(row.id, name, key, row.prefix)


def revoke(session: Session, key_ref: int | str, actor: str = "cli") -> int:
    from db.api_keys import revoke_key
    from db.audit import record

    row = revoke_key(session, key_ref)
    record(session, actor, "revoke_key", f"key {row.id} ({row.prefix}…)", {"name": row.name})
    return row.id
