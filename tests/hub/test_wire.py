"""The wire format's compatibility rules: answers tolerate new fields, requests do not."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from moderation_hub import wire


def _page_json() -> dict[str, object]:
    return {
        "items": [
            {
                "id": 7,
                "external_id": "prop-7",
                "question": "insertion",
                "content": "Il faut des stages",
                "language": "fr",
                "country": "FR",
                "created_at": "2026-03-01T08:00:00Z",
                "status": "refused",
                "version": 2,
                "author_first_name": "Camille",
                "author_email": None,
                "author_reachable": True,
                "rewrite_url": None,
                "claim": {"moderator": "alice", "expires_at": "2026-03-01T16:00:00Z"},
                "decision": {
                    "id": str(uuid.uuid4()),
                    "outcome": "refuse",
                    "clause": "off-topic",
                    "charter_version": "1.0.1",
                    "moderator": "alice",
                    "decided_at": "2026-03-01T09:00:00Z",
                },
                "seq": 12,
            }
        ],
        "next_cursor": 12,
        "has_more": False,
    }


def test_an_answer_from_a_newer_hub_with_extra_fields_still_parses() -> None:
    page = _page_json()
    page["served_by"] = "hub-2"
    item = page["items"][0]  # type: ignore[index]
    item["priority"] = "high"
    item["claim"]["renewals"] = 3
    item["decision"]["mail_sent"] = True
    parsed = wire.ProposalPage.model_validate_json(json.dumps(page))
    assert parsed.items[0].id == 7
    assert parsed.items[0].decision is not None
    assert parsed.items[0].decision.clause == "off-topic"
    assert parsed.next_cursor == 12
    assert not hasattr(parsed.items[0], "priority")
    result = wire.DecisionResults.model_validate_json(
        json.dumps({"results": [{"id": None, "status": "applied", "hint": "x"}], "took_ms": 3})
    )
    assert result.results[0].status == "applied"
    assert (
        wire.ErrorBody.model_validate({"error": "e", "detail": "d", "trace_id": "t"}).detail == "d"
    )


def test_an_answer_still_needs_its_required_fields() -> None:
    page = _page_json()
    del page["items"][0]["status"]  # type: ignore[index]
    with pytest.raises(ValidationError):
        wire.ProposalPage.model_validate_json(json.dumps(page))


def test_requests_still_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="surprise"):
        wire.ClaimRequest.model_validate({"count": 1, "surprise": True})
    with pytest.raises(ValidationError, match="colour"):
        wire.WithdrawRequest.model_validate({"reason": None, "colour": "red"})
