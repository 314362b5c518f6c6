"""Charter clauses: the clause ids of each released charter version the hub was told about.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "charter_clauses",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("clause", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("charter_clauses")
