"""Initial schema: users, questions, proposals, decisions, receipts, audit log, change counter.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hub_counter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO hub_counter (id, value) VALUES (1, 0)")
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_sha256", sa.String(64), unique=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("revoked_at", Stamp),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(200), nullable=False, unique=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("rewrite_url_template", sa.Text()),
    )
    op.create_table(
        "proposals",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("question_id", sa.Integer(), sa.ForeignKey("questions.id"), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("original_content", sa.Text()),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("country", sa.String(64)),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("author_first_name", sa.String(200), nullable=False),
        sa.Column("author_email", sa.String(320)),
        sa.Column("author_reachable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("claim_user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("claim_expires_at", Stamp),
        sa.Column("decision_id", sa.String(36)),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("question_id", "external_id", name="uq_proposals_question_external"),
    )
    op.create_index("ix_proposals_seq", "proposals", ["seq"], unique=True)
    op.create_index("ix_proposals_queue", "proposals", ["status", "created_at", "id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("proposal_id", BigId, sa.ForeignKey("proposals.id"), nullable=False),
        sa.Column("moderator_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("clause", sa.String(200)),
        sa.Column("charter_version", sa.String(64), nullable=False),
        sa.Column("edited_content", sa.Text()),
        sa.Column("published_content", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.Column("decided_at", Stamp, nullable=False),
        sa.Column("received_at", Stamp, nullable=False),
        sa.Column("proposal_version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_decisions_seq", "decisions", ["seq"], unique=True)
    op.create_table(
        "decision_receipts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("proposal_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("conflict", sa.String(32)),
        sa.Column("detail", sa.Text()),
        sa.Column("received_at", Stamp, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("proposal_id", sa.BigInteger()),
        sa.Column("from_state", sa.Text()),
        sa.Column("to_state", sa.Text()),
        sa.Column("detail", sa.Text()),
        sa.Column("seq", sa.BigInteger()),
    )
    op.create_index("ix_audit_log_proposal_id", "audit_log", ["proposal_id"])
    _make_audit_append_only()


def _make_audit_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_log is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    for table in (
        "audit_log",
        "decision_receipts",
        "decisions",
        "proposals",
        "questions",
        "users",
        "hub_counter",
    ):
        op.drop_table(table)
