"""Index proposals by arrival time: the queue and `proposals` list oldest first over all statuses.

Without it, listing the oldest 50 of a million cached proposals sorts the whole table; the index
holds (created_at, rowid), so keyset pages on (created_at, id) are index range scans.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 20:25:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index("ix_proposals_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_created_at")
