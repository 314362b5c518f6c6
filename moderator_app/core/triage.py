"""Recording a decision locally: offline, durable before it returns, undoable while unsent.

The charter is passed in as what a decision needs from it (its version and the valid clause ids),
so this module does not depend on how the charter is loaded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from moderation_hub.wire import MAX_CONTENT_CHARS
from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.models import (
    ACTIVE_SYNC_STATES,
    AuditEntry,
    Claim,
    Decision,
    MailOutbox,
    Proposal,
)
from moderator_app.core.sync import claimed_by_someone_else

OUTCOMES: Final = ("accept", "refuse", "postpone")
DECIDABLE_STATUSES: Final = ("pending", "postponed")

# Hooks run inside the decision's transaction: (session, decision).
DecisionHook = Callable[[Session, Decision], None]


@dataclass(frozen=True)
class CharterRef:
    """What a decision cites: the charter version and the clause ids it knows."""

    version: str
    clause_ids: frozenset[str]

    @classmethod
    def of(cls, version: str, clause_ids: Collection[str]) -> CharterRef:
        return cls(version=version, clause_ids=frozenset(clause_ids))


# Characters a moderator's text must not carry: C0 and C1 controls (NUL included) and DEL would
# reach the platform's pages and the authors' mails as invisible bytes; bidirectional controls
# reorder what follows them (a corrected text could read differently from what it says).
_BIDI_CONTROLS: Final = frozenset(
    chr(codepoint)
    for codepoint in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
_LINE_SEPARATORS: Final = frozenset("\u2028\u2029")


def _forbidden(character: str, allow_newline: bool) -> bool:
    codepoint = ord(character)
    if character == "\n":
        return not allow_newline
    return (
        codepoint < 0x20
        or 0x7F <= codepoint < 0xA0
        or character in _BIDI_CONTROLS
        or (not allow_newline and character in _LINE_SEPARATORS)
    )


def _describe(character: str) -> str:
    if character == "\x00":
        return "a NUL character"
    if character in "\n\r\u2028\u2029":
        return f"a line break (U+{ord(character):04X})"
    if character == "\t":
        return "a tab (U+0009)"
    if character in _BIDI_CONTROLS:
        return f"a text-direction control (U+{ord(character):04X})"
    return f"a control character (U+{ord(character):04X})"


def check_moderator_text(label: str, value: str | None, *, allow_newline: bool) -> str | None:
    """`value` if it can go to the hub as a moderator's text, else a `UserError` naming the first
    character to remove and where it is. A one-line text (a corrected proposal) allows no line
    break; a note may have several lines (\\n only). Spaces, letters, emoji, HTML-looking text
    are all fine: they are shown as plain text everywhere."""
    if value is None:
        return None
    if len(value) > MAX_CONTENT_CHARS:
        raise UserError(f"the {label} is longer than {MAX_CONTENT_CHARS} characters")
    for position, character in enumerate(value, start=1):
        if _forbidden(character, allow_newline):
            raise UserError(
                f"the {label} contains {_describe(character)} at character {position}; remove it"
            )
    return value


def _utc_now() -> datetime:
    return datetime.now(UTC)


def decide(
    database: Database,
    proposal_id: int,
    outcome: str,
    *,
    moderator: str,
    charter: CharterRef,
    clause_id: str | None = None,
    edited_content: str | None = None,
    note: str | None = None,
    now: Callable[[], datetime] = _utc_now,
    on_recorded: DecisionHook | None = None,
) -> Decision:
    """Record a decision on a cached proposal; committed (durably) before this returns.

    `on_recorded(session, decision)` runs inside the same transaction (the mail outbox queues the
    refusal mail there), so the decision and what depends on it are stored together or not at all.
    A conflicted earlier decision on the same proposal is superseded (marked dropped).
    """
    if outcome not in OUTCOMES:
        raise UserError(f"unknown decision {outcome!r}: use accept, refuse or postpone")
    if outcome == "refuse":
        if not clause_id:
            raise UserError("a refusal needs the charter clause it relies on (--reason CLAUSE)")
        if clause_id not in charter.clause_ids:
            known = ", ".join(sorted(charter.clause_ids))
            raise UserError(
                f"unknown charter clause {clause_id!r} (charter {charter.version}: {known})"
            )
    elif clause_id:
        raise UserError("only a refusal cites a charter clause")
    if edited_content is not None and outcome != "accept":
        raise UserError("a corrected text goes only with accept")
    edited_content = check_moderator_text("corrected text", edited_content, allow_newline=False)
    if edited_content is not None and not edited_content.strip():
        raise UserError("the corrected text is empty")
    note = check_moderator_text("note", note, allow_newline=True) or None
    decided_at = now()

    with database.write() as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None:
            raise UserError(
                f"proposal {proposal_id} is not in the local cache; run `moderator-app sync`"
            )
        if proposal.status not in DECIDABLE_STATUSES:
            raise UserError(
                f"proposal {proposal_id} is already {proposal.status} at the hub "
                "(as of the last sync)"
            )
        waiting = session.scalar(
            select(Decision).where(
                Decision.proposal_id == proposal_id, Decision.sync_state.in_(ACTIVE_SYNC_STATES)
            )
        )
        if waiting is not None:
            raise UserError(
                f"proposal {proposal_id} already has a decision ({waiting.outcome}) waiting to be "
                "sent; undo it first"
            )
        claim = session.get(Claim, proposal_id)
        if claim is not None and claimed_by_someone_else(
            claim.moderator, claim.expires_at, moderator, decided_at
        ):
            raise UserError(
                f"proposal {proposal_id} is claimed by {claim.moderator} until "
                f"{claim.expires_at:%Y-%m-%d %H:%M} UTC"
            )
        if edited_content == proposal.content:
            edited_content = None
        for superseded in session.scalars(
            select(Decision).where(
                Decision.proposal_id == proposal_id, Decision.sync_state == "conflict"
            )
        ):
            superseded.sync_state = "dropped"
            session.add(_audit(decided_at, moderator, "decision_superseded", superseded))
        decision = Decision(
            id=str(uuid.uuid4()),
            proposal_id=proposal_id,
            proposal_version=proposal.version,
            outcome=outcome,
            clause_id=clause_id if outcome == "refuse" else None,
            charter_version=charter.version,
            edited_content=edited_content,
            note=note,
            moderator=moderator,
            decided_at=decided_at,
            sync_state="unsent",
            push_attempts=0,
        )
        session.add(decision)
        session.flush()
        session.add(_audit(decided_at, moderator, "decide", decision))
        if on_recorded is not None:
            on_recorded(session, decision)
    return decision


def undo(
    database: Database,
    decision_id: str,
    *,
    actor: str,
    now: Callable[[], datetime] = _utc_now,
    on_undone: DecisionHook | None = None,
) -> Decision:
    """Take back a decision not yet sent to the hub; its queued mails go with it.

    Once a sync has sent it, undo is refused (the hub may already have applied it).
    """
    with database.write() as session:
        decision = session.get(Decision, decision_id)
        if decision is None:
            raise UserError(f"no local decision {decision_id}")
        return _undo_in(session, decision, actor=actor, now=now, on_undone=on_undone)


def undo_on_proposal(
    database: Database,
    proposal_id: int,
    *,
    actor: str,
    now: Callable[[], datetime] = _utc_now,
    on_undone: DecisionHook | None = None,
) -> Decision:
    """`undo` of the decision on hub proposal `proposal_id` still waiting for the hub (there is
    at most one)."""
    with database.write() as session:
        decision = session.scalar(
            select(Decision).where(
                Decision.proposal_id == proposal_id, Decision.sync_state.in_(ACTIVE_SYNC_STATES)
            )
        )
        if decision is None:
            raise UserError(f"proposal {proposal_id} has no local decision waiting to be sent")
        return _undo_in(session, decision, actor=actor, now=now, on_undone=on_undone)


def _undo_in(
    session: Session,
    decision: Decision,
    *,
    actor: str,
    now: Callable[[], datetime],
    on_undone: DecisionHook | None,
) -> Decision:
    if decision.sync_state != "unsent":
        raise UserError(
            f"the decision on proposal {decision.proposal_id} was already sent to the hub "
            f"({decision.sync_state}); it can no longer be undone here"
        )
    if on_undone is not None:
        on_undone(session, decision)
    # Mails of an unsent decision never left: those waiting for the hub, and those recorded as
    # not to be sent (author unreachable), go with the decision they belonged to.
    session.execute(
        delete(MailOutbox).where(
            MailOutbox.decision_id == decision.id,
            MailOutbox.state.in_(("waiting_hub", "not_sent")),
        )
    )
    session.add(_audit(now(), actor, "undo", decision))
    session.delete(decision)
    return decision


def drop_conflict(
    database: Database,
    decision_id: str,
    *,
    actor: str,
    now: Callable[[], datetime] = _utc_now,
) -> Decision:
    """The moderator has reviewed a conflicted decision and lets the hub's state stand."""
    with database.write() as session:
        decision = session.get(Decision, decision_id)
        if decision is None or decision.sync_state != "conflict":
            raise UserError(f"no conflicted decision {decision_id}")
        decision.sync_state = "dropped"
        session.add(_audit(now(), actor, "drop_conflict", decision))
    return decision


def drop_conflicts_on_proposal(
    database: Database,
    proposal_id: int,
    *,
    actor: str,
    now: Callable[[], datetime] = _utc_now,
) -> list[Decision]:
    """`drop_conflict` for each conflicted decision on hub proposal `proposal_id`."""
    with database.session() as session:
        conflicted = session.scalars(
            select(Decision.id)
            .where(Decision.proposal_id == proposal_id, Decision.sync_state == "conflict")
            .order_by(Decision.decided_at, Decision.id)
        ).all()
    if not conflicted:
        raise UserError(f"proposal {proposal_id} has no conflicted decision")
    return [
        drop_conflict(database, decision_id, actor=actor, now=now) for decision_id in conflicted
    ]


def _audit(at: datetime, actor: str, action: str, decision: Decision) -> AuditEntry:
    return AuditEntry(
        at=at,
        actor=actor,
        action=action,
        proposal_id=decision.proposal_id,
        decision_id=decision.id,
        detail=json.dumps(
            {
                "outcome": decision.outcome,
                "clause": decision.clause_id,
                "charter_version": decision.charter_version,
                "sync_state": decision.sync_state,
            }
        ),
    )
