"""Read-only views of the cache: the status counters and the proposal listing with search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from moderator_app.core.models import (
    ACTIVE_SYNC_STATES,
    Claim,
    Decision,
    HubSyncState,
    MailOutbox,
    Proposal,
    format_utc,
)

HUB_STATUSES = ("pending", "accepted", "refused", "postponed", "withdrawn")
_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """An FTS5 query matching every word of `text` (the last one as a prefix), or None when
    `text` has no word at all. User text never reaches FTS5 syntax unquoted."""
    words = _WORD.findall(text)
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def search_ids(session: Session, text: str, limit: int, *, status: str | None = None) -> list[int]:
    """Ids of the cached proposals matching every word of `text`, oldest first (hub ids grow
    with arrival), optionally only those in `status`.

    FTS5 walks its matches in rowid order and stops at `limit`, so a word found in half a
    million proposals costs no more than a rare one (ranking by relevance would score them all).
    """
    query = fts_query(text)
    if query is None:
        return []
    if status is None:
        sql = "SELECT rowid FROM proposals_fts WHERE proposals_fts MATCH ? ORDER BY rowid LIMIT ?"
        parameters: tuple[object, ...] = (query, limit)
    else:
        sql = (
            "SELECT proposals.id FROM proposals_fts JOIN proposals "
            "ON proposals.id = proposals_fts.rowid "
            "WHERE proposals_fts MATCH ? AND proposals.status = ? "
            "ORDER BY proposals_fts.rowid LIMIT ?"
        )
        parameters = (query, status, limit)
    return [row[0] for row in session.connection().exec_driver_sql(sql, parameters)]


@dataclass(frozen=True)
class Status:
    hub_url: str | None
    user: str | None
    pending: int
    claimed_by_me: int
    decisions_unsent: int
    conflicts: int
    mails_queued: int
    mails_failed: int
    last_sync: datetime | None
    last_error: str | None
    cursor: int

    def as_json(self) -> dict[str, Any]:
        return {
            "hub": self.hub_url,
            "user": self.user,
            "pending": self.pending,
            "claimed_by_me": self.claimed_by_me,
            "decisions_unsent": self.decisions_unsent,
            "conflicts": self.conflicts,
            "mails_queued": self.mails_queued,
            "mails_failed": self.mails_failed,
            "last_sync": format_utc(self.last_sync) if self.last_sync else None,
            "last_error": self.last_error,
            "cursor": self.cursor,
        }


def status(session: Session, *, hub_url: str | None, user: str | None, now: datetime) -> Status:
    def count(query: Any) -> int:
        return int(session.scalar(query) or 0)

    # Pending at the hub minus those decided here and not yet confirmed (at most one waiting
    # decision per proposal): an index range count and a small join, instead of probing the
    # decisions of every pending proposal.
    pending = count(
        select(func.count()).select_from(Proposal).where(Proposal.status == "pending")
    ) - count(
        select(func.count())
        .select_from(Decision)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .where(Decision.sync_state.in_(ACTIVE_SYNC_STATES), Proposal.status == "pending")
    )
    claimed = count(
        select(func.count())
        .select_from(Claim)
        .where(Claim.moderator == (user or ""), Claim.expires_at > now)
    )
    unsent = count(select(func.count()).where(Decision.sync_state.in_(ACTIVE_SYNC_STATES)))
    conflicts = count(select(func.count()).where(Decision.sync_state == "conflict"))
    mails_queued = count(
        select(func.count()).where(MailOutbox.state.in_(("waiting_hub", "sendable")))
    )
    mails_failed = count(select(func.count()).where(MailOutbox.state == "failed"))
    state = session.get(HubSyncState, hub_url) if hub_url else None
    return Status(
        hub_url=hub_url,
        user=user,
        pending=pending,
        claimed_by_me=claimed,
        decisions_unsent=unsent,
        conflicts=conflicts,
        mails_queued=mails_queued,
        mails_failed=mails_failed,
        last_sync=state.last_sync_at if state else None,
        last_error=state.last_error if state else None,
        cursor=state.cursor if state else 0,
    )


def list_proposals(
    session: Session,
    *,
    now: datetime,
    status: str | None = None,
    search: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Cached proposals as JSON-ready dicts, oldest first (by hub id when searching), each with
    who holds the claim and the latest local decision and its sync state."""
    latest_decision = aliased(Decision)
    latest_id = (
        select(Decision.id)
        .where(Decision.proposal_id == Proposal.id)
        .order_by(Decision.decided_at.desc(), Decision.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Proposal, Claim, latest_decision)
        .outerjoin(Claim, and_(Claim.proposal_id == Proposal.id, Claim.expires_at > now))
        .outerjoin(latest_decision, latest_decision.id == latest_id)
    )
    if search is not None:
        found = search_ids(session, search, limit, status=status)
        query = query.where(Proposal.id.in_(found)).order_by(Proposal.id)
    else:
        if status is not None:
            query = query.where(Proposal.status == status)
        query = query.order_by(Proposal.created_at, Proposal.id).limit(limit)
    rows = session.execute(query).all()
    return [_item(proposal, claim, decision) for proposal, claim, decision in rows]


def _item(proposal: Proposal, claim: Claim | None, decision: Decision | None) -> dict[str, Any]:
    hub_decision = None
    if proposal.hub_decision_id is not None:
        hub_decision = {
            "id": proposal.hub_decision_id,
            "outcome": proposal.hub_decision_outcome,
            "clause": proposal.hub_decision_clause,
            "charter_version": proposal.hub_decision_charter_version,
            "moderator": proposal.hub_decision_moderator,
            "decided_at": format_utc(proposal.hub_decision_at)
            if proposal.hub_decision_at
            else None,
        }
    local = None
    if decision is not None:
        local = {
            "id": decision.id,
            "outcome": decision.outcome,
            "clause_id": decision.clause_id,
            "charter_version": decision.charter_version,
            "edited_content": decision.edited_content,
            "note": decision.note,
            "decided_at": format_utc(decision.decided_at),
            "sync_state": decision.sync_state,
            "conflict_kind": decision.conflict_kind,
            "hub_detail": decision.hub_detail,
        }
    return {
        "id": proposal.id,
        "external_id": proposal.external_id,
        "question": proposal.question,
        "content": proposal.content,
        "original_content": proposal.original_content,
        "language": proposal.language,
        "country": proposal.country,
        "created_at": format_utc(proposal.created_at),
        "status": proposal.status,
        "version": proposal.version,
        "author_first_name": proposal.author_first_name,
        "author_reachable": proposal.author_reachable,
        "claimed_by": claim.moderator if claim else None,
        "claim_expires_at": format_utc(claim.expires_at) if claim else None,
        "hub_decision": hub_decision,
        "decision": local,
    }


def list_conflicts(session: Session) -> list[dict[str, Any]]:
    """Local decisions the hub answered with a conflict, oldest first, each with the proposal as
    the cache now knows it (its status and who decided it at the hub), for review."""
    rows = session.execute(
        select(Decision, Proposal)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .where(Decision.sync_state == "conflict")
        .order_by(Decision.decided_at, Decision.id)
    ).all()
    return [
        {
            "decision_id": decision.id,
            "proposal_id": decision.proposal_id,
            "outcome": decision.outcome,
            "clause_id": decision.clause_id,
            "edited_content": decision.edited_content,
            "decided_at": format_utc(decision.decided_at),
            "answered_at": format_utc(decision.answered_at) if decision.answered_at else None,
            "conflict_kind": decision.conflict_kind,
            "hub_detail": decision.hub_detail,
            "content": proposal.content,
            "hub_status": proposal.status,
            "hub_decision_outcome": proposal.hub_decision_outcome,
            "hub_decision_moderator": proposal.hub_decision_moderator,
        }
        for decision, proposal in rows
    ]
