"""Recording decisions locally: validation, durability, the in-transaction hook, undo."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.models import AuditEntry, Claim, Decision, MailOutbox, Proposal
from moderator_app.core.triage import (
    CharterRef,
    decide,
    drop_conflict,
    drop_conflicts_on_proposal,
    undo,
    undo_on_proposal,
)

CHARTER = CharterRef.of("1.2.0", {"off-topic", "insults"})
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def cached(cache: Database) -> Database:
    with cache.write() as session:
        for number, status in enumerate(("pending", "postponed", "accepted", "withdrawn"), 1):
            session.add(
                Proposal(
                    id=number,
                    external_id=f"e{number}",
                    question="insertion",
                    content=f"Il faut une proposition {number}",
                    language="fr",
                    created_at=NOW,
                    status=status,
                    version=3,
                    author_first_name="Ana",
                    author_reachable=True,
                    seq=number,
                )
            )
    return cache


def _decide(database: Database, proposal_id: int, outcome: str, **kwargs: object) -> Decision:
    return decide(
        database,
        proposal_id,
        outcome,
        moderator="alice",
        charter=CHARTER,
        now=lambda: NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def test_decision_is_on_disk_when_decide_returns(cached: Database) -> None:
    decision = _decide(cached, 1, "refuse", clause_id="off-topic", note="hors sujet")
    # Another connection (another process would do the same) sees it at once.
    with closing(sqlite3.connect(cached.path)) as other:
        row = other.execute(
            "SELECT proposal_id, proposal_version, outcome, clause_id, charter_version, "
            "sync_state, note FROM decisions WHERE id = ?",
            (decision.id,),
        ).fetchone()
    assert row == (1, 3, "refuse", "off-topic", "1.2.0", "unsent", "hors sujet")
    with cached.session() as session:
        audit = session.scalars(select(AuditEntry.action)).all()
    assert audit == ["decide"]


def test_postponed_proposal_can_be_decided(cached: Database) -> None:
    assert _decide(cached, 2, "accept").sync_state == "unsent"


@pytest.mark.parametrize(
    ("proposal_id", "outcome", "kwargs", "message"),
    [
        (1, "refuse", {}, "needs the charter clause"),
        (1, "refuse", {"clause_id": "made-up"}, "unknown charter clause 'made-up'"),
        (1, "accept", {"clause_id": "off-topic"}, "only a refusal cites"),
        (1, "postpone", {"edited_content": "Il faut autre chose"}, "only with accept"),
        (1, "accept", {"edited_content": "   "}, "corrected text is empty"),
        (1, "accept", {"edited_content": "Il faut\x00"}, "NUL character"),
        (1, "accept", {"edited_content": "Il faut \x01\x02 ctrl"}, r"\(U\+0001\) at character 9"),
        (1, "accept", {"edited_content": "Il faut\x7f"}, r"control character \(U\+007F\)"),
        (1, "accept", {"edited_content": "Il faut\x9b2J"}, r"control character \(U\+009B\)"),
        (1, "accept", {"edited_content": "Il faut\tdes"}, "a tab"),
        (1, "accept", {"edited_content": "Il faut\ndes"}, r"line break \(U\+000A\)"),
        (1, "accept", {"edited_content": "Il faut\r\ndes"}, r"line break \(U\+000D\)"),
        (1, "accept", {"edited_content": "Il faut\u2028des"}, "line break"),
        (1, "accept", {"edited_content": "txt.\u202eexe"}, r"text-direction control \(U\+202E\)"),
        (1, "accept", {"edited_content": "a\u2066b\u2069"}, "text-direction control"),
        (1, "accept", {"note": "ligne 1\r\nligne 2"}, r"note contains a line break \(U\+000D\)"),
        (1, "accept", {"note": "voir\x1b[2J"}, r"note contains a control character \(U\+001B\)"),
        (1, "accept", {"note": "\u200fvoir"}, "note contains a text-direction control"),
        (1, "accept", {"note": "x" * 10_001}, "longer than 10000"),
        (1, "ban", {}, "unknown decision"),
        (99, "accept", {}, "not in the local cache"),
        (3, "accept", {}, "already accepted"),
        (4, "refuse", {"clause_id": "insults"}, "already withdrawn"),
    ],
)
def test_decisions_that_cannot_be_sent_are_refused_at_once(
    cached: Database, proposal_id: int, outcome: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(UserError, match=message):
        _decide(cached, proposal_id, outcome, **kwargs)
    with cached.session() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 0


def test_hostile_looking_text_without_controls_is_stored_exactly(cached: Database) -> None:
    hostile = "<b>gras</b> Bcc: x@example.org\u00a0txt.exe 🙂 \u200b" + "é" * 9_000
    note = "Première ligne\n<script>alert(1)</script>\n\nfin " + "ü" * 5_000
    decision = _decide(cached, 1, "accept", edited_content=hostile, note=note)
    with cached.session() as session:
        stored = session.get(Decision, decision.id)
        assert stored is not None
        assert stored.edited_content == hostile
        assert stored.note == note  # a note may have several lines


def test_unchanged_correction_is_no_correction(cached: Database) -> None:
    decision = _decide(cached, 1, "accept", edited_content="Il faut une proposition 1")
    assert decision.edited_content is None


def test_one_waiting_decision_per_proposal(cached: Database) -> None:
    _decide(cached, 1, "accept")
    with pytest.raises(UserError, match="undo it first"):
        _decide(cached, 1, "postpone")


def test_proposal_claimed_by_someone_else_is_refused_until_the_claim_expires(
    cached: Database,
) -> None:
    with cached.write() as session:
        session.add(Claim(proposal_id=1, moderator="bob", expires_at=NOW + timedelta(hours=1)))
        session.add(Claim(proposal_id=2, moderator="bob", expires_at=NOW - timedelta(seconds=1)))
    with pytest.raises(UserError, match="claimed by bob"):
        _decide(cached, 1, "accept")
    assert _decide(cached, 2, "accept").sync_state == "unsent"


def test_hook_runs_inside_the_transaction(cached: Database) -> None:
    seen: list[int] = []

    def queue_mail(session: Session, decision: Decision) -> None:
        # The decision is visible to the hook's session: same transaction.
        seen.append(session.scalar(select(func.count()).select_from(Decision)) or 0)
        session.add(
            MailOutbox(
                id="mail-1",
                decision_id=decision.id,
                proposal_id=decision.proposal_id,
                language="fr",
                template="refusal",
                charter_version=decision.charter_version,
                message_id="<m1@example>",
                subject="s",
                body_text="t",
                body_html="h",
                state="waiting_hub",
                attempts=0,
                created_at=NOW,
            )
        )

    decision = _decide(cached, 1, "refuse", clause_id="off-topic", on_recorded=queue_mail)
    assert seen == [1]
    with cached.session() as session:
        mail = session.get(MailOutbox, "mail-1")
        assert mail is not None
        assert mail.decision_id == decision.id


def test_a_failing_hook_records_nothing(cached: Database) -> None:
    def broken(session: Session, decision: Decision) -> None:
        raise UserError("the mail template is missing")

    with pytest.raises(UserError, match="template is missing"):
        _decide(cached, 1, "refuse", clause_id="off-topic", on_recorded=broken)
    with cached.session() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


@pytest.mark.parametrize("mail_state", ["waiting_hub", "not_sent"])
def test_undo_takes_back_an_unsent_decision_and_its_mail(cached: Database, mail_state: str) -> None:
    decision = _decide(cached, 1, "refuse", clause_id="off-topic")
    with cached.write() as session:
        session.add(
            MailOutbox(
                id="mail-1",
                decision_id=decision.id,
                proposal_id=1,
                language="fr",
                template="refusal",
                charter_version="1.2.0",
                message_id="<m1@example>",
                subject="s",
                body_text="t",
                body_html="h",
                state=mail_state,
                attempts=0,
                created_at=NOW,
            )
        )
    undone = undo(cached, decision.id, actor="alice", now=lambda: NOW)
    assert undone.id == decision.id
    with cached.session() as session:
        assert session.get(Decision, decision.id) is None
        assert session.get(MailOutbox, "mail-1") is None
        assert session.scalars(select(AuditEntry.action)).all() == ["decide", "undo"]
    # The proposal can be decided again.
    assert _decide(cached, 1, "accept").sync_state == "unsent"


@pytest.mark.parametrize("state", ["sent", "applied", "conflict"])
def test_undo_refuses_once_the_hub_may_have_it(cached: Database, state: str) -> None:
    decision = _decide(cached, 1, "accept")
    with cached.write() as session:
        stored = session.get(Decision, decision.id)
        assert stored is not None
        stored.sync_state = state
    with pytest.raises(UserError, match="can no longer be undone"):
        undo(cached, decision.id, actor="alice")
    with cached.session() as session:
        assert session.get(Decision, decision.id) is not None


def test_drop_conflict_is_explicit(cached: Database) -> None:
    decision = _decide(cached, 1, "accept")
    with pytest.raises(UserError, match="no conflicted decision"):
        drop_conflict(cached, decision.id, actor="alice")
    with cached.write() as session:
        stored = session.get(Decision, decision.id)
        assert stored is not None
        stored.sync_state = "conflict"
    assert drop_conflict(cached, decision.id, actor="alice").sync_state == "dropped"


def test_undo_by_proposal_takes_back_its_unsent_decision(cached: Database) -> None:
    with pytest.raises(UserError, match="proposal 1 has no local decision waiting to be sent"):
        undo_on_proposal(cached, 1, actor="alice")
    decision = _decide(cached, 1, "refuse", clause_id="off-topic")
    _decide(cached, 2, "accept")
    undone = undo_on_proposal(cached, 1, actor="alice", now=lambda: NOW)
    assert undone.id == decision.id
    with cached.session() as session:
        assert session.scalars(select(Decision.proposal_id)).all() == [2]
    sent = _decide(cached, 1, "accept")
    with cached.write() as session:
        stored = session.get(Decision, sent.id)
        assert stored is not None
        stored.sync_state = "sent"
    with pytest.raises(UserError, match="can no longer be undone"):
        undo_on_proposal(cached, 1, actor="alice")


def test_drop_by_proposal_drops_only_its_conflicted_decision(cached: Database) -> None:
    first = _decide(cached, 1, "accept")
    second = _decide(cached, 2, "accept")
    with pytest.raises(UserError, match="proposal 1 has no conflicted decision"):
        drop_conflicts_on_proposal(cached, 1, actor="alice")
    with cached.write() as session:
        for decision_id in (first.id, second.id):
            stored = session.get(Decision, decision_id)
            assert stored is not None
            stored.sync_state = "conflict"
    dropped = drop_conflicts_on_proposal(cached, 1, actor="alice")
    assert [decision.id for decision in dropped] == [first.id]
    with cached.session() as session:
        states = {
            row.proposal_id: row.sync_state
            for row in session.execute(select(Decision.proposal_id, Decision.sync_state))
        }
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert states == {1: "dropped", 2: "conflict"}
    assert actions[-1] == "drop_conflict"
