"""Alembic migration chain of the client's local cache (applied by `core.database` at open)."""
