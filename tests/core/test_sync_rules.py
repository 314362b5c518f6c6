"""The sync engine's conflict rules, as tables (pure functions, no hub, no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from moderation_hub import wire
from moderator_app.core.queries import fts_query
from moderator_app.core.sync import (
    Resolution,
    claimed_by_someone_else,
    confirmed_by_hub,
    resolve_answer,
)

DECISION = uuid.UUID("12345678-1234-5678-1234-567812345678")
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _result(status: str, conflict: str | None = None, errors: bool = False) -> wire.DecisionResult:
    return wire.DecisionResult.model_validate(
        {
            "id": str(DECISION),
            "status": status,
            "conflict": conflict,
            "errors": [{"field": "reason", "message": "required"}] if errors else None,
        }
    )


@pytest.mark.parametrize(
    ("status", "conflict", "errors", "expected"),
    [
        ("applied", None, False, Resolution("applied", None, "sendable")),
        ("duplicate", None, False, Resolution("applied", None, "sendable")),
        (
            "conflict",
            "decided_by_other",
            False,
            Resolution("conflict", "decided_by_other", "cancelled"),
        ),
        (
            "conflict",
            "claimed_by_other",
            False,
            Resolution("conflict", "claimed_by_other", "cancelled"),
        ),
        ("conflict", "withdrawn", False, Resolution("conflict", "withdrawn", "cancelled")),
        (
            "conflict",
            "version_changed",
            False,
            Resolution("conflict", "version_changed", "cancelled"),
        ),
        # A replay of a decision that first conflicted stays a conflict, whatever the status says.
        ("duplicate", "withdrawn", False, Resolution("conflict", "withdrawn", "cancelled")),
        ("invalid", None, True, Resolution("conflict", "invalid", "cancelled")),
        ("duplicate", None, True, Resolution("conflict", "invalid", "cancelled")),
        # A conflict without a kind is still a conflict (kept for review), never an "applied".
        ("conflict", None, False, Resolution("conflict", None, "cancelled")),
    ],
)
def test_every_answer_has_one_local_outcome(
    status: str, conflict: str | None, errors: bool, expected: Resolution
) -> None:
    assert resolve_answer(_result(status, conflict, errors)) == expected


@pytest.mark.parametrize(
    ("local_state", "hub_decision", "confirmed"),
    [
        ("sent", str(DECISION), True),  # pushed, answer lost: the hub holds it
        ("unsent", str(DECISION), True),
        ("sent", str(uuid.uuid4()), False),  # someone else's decision
        ("sent", None, False),
        ("applied", str(DECISION), False),  # already known
        ("conflict", str(DECISION), False),
        ("dropped", str(DECISION), False),
    ],
)
def test_a_pull_confirms_only_a_waiting_decision_of_ours(
    local_state: str, hub_decision: str | None, confirmed: bool
) -> None:
    assert confirmed_by_hub(local_state, str(DECISION), hub_decision) is confirmed


@pytest.mark.parametrize(
    ("holder", "expires_in", "blocks"),
    [
        ("bob", timedelta(minutes=5), True),
        ("bob", timedelta(0), False),  # expired this very instant
        ("bob", timedelta(minutes=-1), False),
        ("alice", timedelta(minutes=5), False),  # my own claim
        (None, None, False),
    ],
)
def test_only_a_live_claim_of_someone_else_blocks_a_decision(
    holder: str | None, expires_in: timedelta | None, blocks: bool
) -> None:
    expires_at = NOW + expires_in if expires_in is not None else None
    assert claimed_by_someone_else(holder, expires_at, "alice", NOW) is blocks


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("emploi", '"emploi"*'),
        ("insertion  emploi", '"insertion" "emploi"*'),
        ('il faut "AND" OR', '"il" "faut" "AND" "OR"*'),
        ("métier-à-tisser", '"métier" "à" "tisser"*'),
        ("*** ()", None),
        ("", None),
    ],
)
def test_search_text_becomes_quoted_words(text: str, query: str | None) -> None:
    assert fts_query(text) == query
