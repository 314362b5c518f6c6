"""Alembic environment: always runs on the connection `core.database` hands over (never a URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from moderator_app.core.models import Base

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
)
with context.begin_transaction():
    context.run_migrations()
