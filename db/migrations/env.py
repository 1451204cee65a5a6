"""Alembic environment for the RecoLM store: runs on the connection db.migrate hands it (never reads alembic.ini).

SQLite cannot ALTER most things in place, so revisions run in batch mode there (`op.batch_alter_table`).
"""

from __future__ import annotations

from alembic import context

from db.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only db.migrate drives this environment
    raise RuntimeError("run migrations through db.migrate (python -m core db upgrade), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
