"""Initial schema: cache of the hub's proposals, local decisions, sync state, audit, mail.

Times are stored as sortable UTC text (see models.UtcDateTime).

Revision ID: 0001
Revises:
Create Date: 2026-11-29 19:29:41.110711
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_proposal_id"), ["proposal_id"], unique=False)

    op.create_table(
        "hub_sync_state",
        sa.Column("hub_url", sa.String(), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("last_pull_at", sa.String(length=27), nullable=True),
        sa.Column("last_push_at", sa.String(length=27), nullable=True),
        sa.Column("last_sync_at", sa.String(length=27), nullable=True),
        sa.Column("last_attempt_at", sa.String(length=27), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("hub_url", name=op.f("pk_hub_sync_state")),
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=True),
        sa.Column("to_name", sa.Text(), nullable=True),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("clause_id", sa.String(), nullable=True),
        sa.Column("charter_version", sa.String(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.String(length=27), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("sent_at", sa.String(length=27), nullable=True),
        sa.Column("resend_of", sa.String(length=36), nullable=True),
        sa.Column("resend_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('waiting_hub', 'sendable', 'sent', 'failed', 'cancelled', 'not_sent')",
            name=op.f("ck_mail_outbox_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_mail_outbox_message_id")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_outbox_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mail_outbox_proposal_id"), ["proposal_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mail_outbox_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_mail_outbox_to_address"), ["to_address"], unique=False)

    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("external_id", sa.String(), nullable=False),
        sa.Column("question", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("original_content", sa.Text(), nullable=True),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("country", sa.String(), nullable=True),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_first_name", sa.Text(), nullable=False),
        sa.Column("author_email", sa.Text(), nullable=True),
        sa.Column("author_reachable", sa.Boolean(), nullable=False),
        sa.Column("rewrite_url", sa.Text(), nullable=True),
        sa.Column("hub_decision_id", sa.String(length=36), nullable=True),
        sa.Column("hub_decision_outcome", sa.String(), nullable=True),
        sa.Column("hub_decision_clause", sa.String(), nullable=True),
        sa.Column("hub_decision_charter_version", sa.String(), nullable=True),
        sa.Column("hub_decision_moderator", sa.String(), nullable=True),
        sa.Column("hub_decision_at", sa.String(length=27), nullable=True),
        sa.Column("hub_decision_edited_content", sa.Text(), nullable=True),
        sa.Column("hub_decision_note", sa.Text(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposals_question"), ["question"], unique=False)
        batch_op.create_index("ix_proposals_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "questions",
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("rewrite_url_template", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_questions")),
    )
    op.create_table(
        "claims",
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("moderator", sa.String(), nullable=False),
        sa.Column("expires_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_claims_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_claims")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_moderator"), ["moderator"], unique=False)

    op.create_table(
        "decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("proposal_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("clause_id", sa.String(), nullable=True),
        sa.Column("charter_version", sa.String(), nullable=False),
        sa.Column("edited_content", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("moderator", sa.String(), nullable=False),
        sa.Column("decided_at", sa.String(length=27), nullable=False),
        sa.Column("sync_state", sa.String(), nullable=False),
        sa.Column("conflict_kind", sa.String(), nullable=True),
        sa.Column("hub_detail", sa.Text(), nullable=True),
        sa.Column("hub_state", sa.Text(), nullable=True),
        sa.Column("push_attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.String(length=27), nullable=True),
        sa.Column("answered_at", sa.String(length=27), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('accept', 'refuse', 'postpone')", name=op.f("ck_decisions_outcome")
        ),
        sa.CheckConstraint(
            "sync_state IN ('unsent', 'sent', 'applied', 'conflict', 'dropped')",
            name=op.f("ck_decisions_sync_state"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_decisions_proposal_id_proposals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_proposal_id"), ["proposal_id"], unique=False)
        batch_op.create_index("ix_decisions_sync_state", ["sync_state"], unique=False)
        batch_op.create_index(
            "uq_decisions_active_proposal",
            ["proposal_id"],
            unique=True,
            sqlite_where=sa.text("sync_state IN ('unsent', 'sent')"),
        )

    op.create_table(
        "mail_attempt",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mail_id", sa.String(length=36), nullable=False),
        sa.Column("attempted_at", sa.String(length=27), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("smtp_code", sa.Integer(), nullable=True),
        sa.Column("smtp_reply", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('sent', 'transient', 'permanent')", name=op.f("ck_mail_attempt_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["mail_id"], ["mail_outbox.id"], name=op.f("fk_mail_attempt_mail_id_mail_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_attempt")),
    )
    with op.batch_alter_table("mail_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_attempt_mail_id"), ["mail_id"], unique=False)

    # Full-text index over proposal content: an external-content FTS5 table (the text lives once, in
    # proposals) kept in step by triggers; unicode61 folds case and French diacritics.
    op.execute(
        "CREATE VIRTUAL TABLE proposals_fts USING fts5("
        "content, content='proposals', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(
        "CREATE TRIGGER proposals_fts_insert AFTER INSERT ON proposals BEGIN "
        "INSERT INTO proposals_fts(rowid, content) VALUES (new.id, new.content); END"
    )
    op.execute(
        "CREATE TRIGGER proposals_fts_delete AFTER DELETE ON proposals BEGIN "
        "INSERT INTO proposals_fts(proposals_fts, rowid, content) "
        "VALUES ('delete', old.id, old.content); END"
    )
    # Only a changed text touches the index: a pull rewrites every row it receives.
    op.execute(
        "CREATE TRIGGER proposals_fts_update AFTER UPDATE OF content ON proposals "
        "WHEN old.content IS NOT new.content BEGIN "
        "INSERT INTO proposals_fts(proposals_fts, rowid, content) "
        "VALUES ('delete', old.id, old.content); "
        "INSERT INTO proposals_fts(rowid, content) VALUES (new.id, new.content); END"
    )


def downgrade() -> None:
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER proposals_fts_{trigger}")
    op.execute("DROP TABLE proposals_fts")
    with op.batch_alter_table("mail_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_attempt_mail_id"))

    op.drop_table("mail_attempt")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_decisions_active_proposal", sqlite_where=sa.text("sync_state IN ('unsent', 'sent')")
        )
        batch_op.drop_index("ix_decisions_sync_state")
        batch_op.drop_index(batch_op.f("ix_decisions_proposal_id"))

    op.drop_table("decisions")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claims_moderator"))

    op.drop_table("claims")
    op.drop_table("questions")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_status_created")
        batch_op.drop_index(batch_op.f("ix_proposals_question"))

    op.drop_table("proposals")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_outbox_to_address"))
        batch_op.drop_index(batch_op.f("ix_mail_outbox_state"))
        batch_op.drop_index(batch_op.f("ix_mail_outbox_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_mail_outbox_decision_id"))

    op.drop_table("mail_outbox")
    op.drop_table("hub_sync_state")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_proposal_id"))

    op.drop_table("audit_log")
