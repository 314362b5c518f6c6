"""Alembic environment for the hub: always run programmatically with a connection given in
`config.attributes["connection"]` (see moderation_hub.database.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from moderation_hub.schema import Base


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("the hub's migrations run through moderation_hub.database.migrate()")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
