"""Roles, claims, email visibility, withdraw, reopen and the audit log, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from moderation_hub import wire
from moderation_hub.embedded import EmbeddedHub
from tests.hub.conftest import Api, claim, decide, decision, seed

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/me", None),
    ("GET", "/questions", None),
    ("GET", "/proposals", None),
    ("POST", "/claims", {"count": 1}),
    ("POST", "/claims/renew", {}),
    ("POST", "/decisions", {"decisions": []}),
    ("POST", "/proposals", {"proposals": []}),
    ("GET", "/decisions", None),
]

# Which roles may call each endpoint above (the rest get 403).
ALLOWED = {
    "/me": {"moderator", "lead", "support", "platform"},
    "/questions": {"moderator", "lead", "support", "platform"},
    "GET /proposals": {"moderator", "lead", "support"},
    "/claims": {"moderator", "lead"},
    "/claims/renew": {"moderator", "lead"},
    "/decisions POST": {"moderator", "lead"},
    "POST /proposals": {"platform"},
    "GET /decisions": {"platform", "lead", "support"},
}


def _allowed(method: str, path: str) -> set[str]:
    for key in (f"{method} {path}", f"{path} {method}", path):
        if key in ALLOWED:
            return ALLOWED[key]
    raise KeyError(path)


def test_health_needs_no_token(hub: EmbeddedHub) -> None:
    anonymous = Api(hub, None)
    try:
        response = anonymous.get("/health")
        assert response.status_code == 200
        assert wire.Health.model_validate_json(response.content).status == "ok"
    finally:
        anonymous.close()


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_missing_or_bad_token_is_401_with_json(
    hub: EmbeddedHub, method: str, path: str, body: dict[str, Any] | None
) -> None:
    for token in (None, "not-a-real-token"):
        client = Api(hub, token)
        try:
            response = client.http.request(method, path, json=body)
        finally:
            client.close()
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        error = wire.ErrorBody.model_validate_json(response.content)
        assert error.error == "unauthorized"


@pytest.mark.parametrize("role", ["moderator", "lead", "support", "platform"])
def test_each_role_reaches_only_its_endpoints(make_api: Any, role: str) -> None:
    api = make_api(role)
    for method, path, body in ENDPOINTS:
        response = api.http.request(method, path, json=body)
        if role in _allowed(method, path):
            assert response.status_code == 200, (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"] == "forbidden"


def test_me_names_the_caller(hub: EmbeddedHub) -> None:
    token = hub.add_user("support-sam", "support")
    api = Api(hub, token)
    try:
        assert api.get("/me").json() == {"name": "support-sam", "role": "support"}
    finally:
        api.close()


def test_revoked_token_is_refused_and_its_claims_are_released(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 2)
    token = hub.add_user("leaving-mod", "moderator")
    leaving = Api(hub, token)
    try:
        taken = claim(leaving, question, 2)
        hub.storage.revoke_user("leaving-mod")
        assert leaving.get("/me").status_code == 401
    finally:
        leaving.close()
    other = make_api("moderator")
    assert [p["id"] for p in claim(other, question, 2)] == [p["id"] for p in taken]


def test_claims_take_oldest_unclaimed_first_and_never_someone_elses(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    ids = seed(hub, question, 5)
    alice, bob = make_api("moderator"), make_api("moderator")
    first = claim(alice, question, 2)
    assert [p["id"] for p in first] == ids[:2]
    assert all(p["claim"]["moderator"].startswith("moderator-") for p in first)
    second = claim(bob, question, 10)
    assert [p["id"] for p in second] == ids[2:]
    assert claim(make_api("moderator"), question, 3) == []
    # Nothing left: what alice and bob hold is not handed out again, not even to themselves.
    assert claim(alice, question, 5) == []


def test_claim_lease_is_bounded_and_renewable(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 2)
    alice = make_api("moderator")
    short = claim(alice, question, 2, ttl_seconds=60)
    too_long = alice.post("/claims", json={"count": 1, "ttl_seconds": 24 * 3600 + 1})
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "ttl_seconds"
    renewed = alice.post("/claims/renew", json={"ttl_seconds": 3600}).json()["items"]
    assert {p["id"] for p in renewed} >= {p["id"] for p in short}
    by_id = {p["id"]: p for p in renewed}
    for item in short:
        assert by_id[item["id"]]["claim"]["expires_at"] > item["claim"]["expires_at"]
    only_one = alice.post(
        "/claims/renew", json={"proposal_ids": [short[0]["id"]], "ttl_seconds": 7200}
    )
    assert [p["id"] for p in only_one.json()["items"]] == [short[0]["id"]]


def test_release_gives_the_proposal_back(hub: EmbeddedHub, question: str, make_api: Any) -> None:
    seed(hub, question, 1)
    alice, bob = make_api("moderator"), make_api("moderator")
    (item,) = claim(alice, question)
    refused = bob.delete(f"/claims/{item['id']}")
    assert refused.status_code == 409
    assert refused.json()["field"] == "proposal_id"
    released = alice.delete(f"/claims/{item['id']}")
    assert released.status_code == 200
    assert released.json()["claim"] is None
    assert [p["id"] for p in claim(bob, question)] == [item["id"]]
    assert alice.delete("/claims/999999999").status_code == 404


def test_author_email_only_for_holder_decider_support_and_lead(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    seed(hub, question, 2)
    holder, other = make_api("moderator"), make_api("moderator")
    support, lead = make_api("support"), make_api("lead")
    held, decided = claim(holder, question, 2)
    decide(holder, decision(decided, "refuse"))

    def email_seen_by(api: Api, proposal_id: int) -> str | None:
        response = api.get(f"/proposals/{proposal_id}")
        assert response.status_code == 200
        value: str | None = response.json()["author_email"]
        return value

    for proposal in (held, decided):
        assert email_seen_by(holder, proposal["id"]) == proposal["author_email"]
        assert email_seen_by(other, proposal["id"]) is None
        assert email_seen_by(support, proposal["id"]) == proposal["author_email"]
        assert email_seen_by(lead, proposal["id"]) == proposal["author_email"]
    # The change feed applies the same rule.
    feed = other.get("/proposals", params={"limit": 1000}).json()["items"]
    assert all(p["author_email"] is None for p in feed)


def test_withdraw_takes_a_proposal_out_of_the_queue(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    ids = seed(hub, question, 2)
    platform, moderator = make_api("platform"), make_api("moderator")
    response = platform.post(f"/proposals/{ids[0]}/withdraw", json={"reason": "author deleted"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "withdrawn"
    assert body["author_email"] is None  # the platform does not read personal data back
    again = platform.post(f"/proposals/{ids[0]}/withdraw")
    assert again.status_code == 200
    assert again.json()["version"] == body["version"]  # idempotent, nothing changed
    assert [p["id"] for p in claim(moderator, question, 5)] == [ids[1]]
    assert platform.post("/proposals/99999999/withdraw").status_code == 404


def test_lead_reopens_a_decided_proposal(hub: EmbeddedHub, question: str, make_api: Any) -> None:
    seed(hub, question, 1)
    moderator, lead = make_api("moderator"), make_api("lead")
    (item,) = claim(moderator, question)
    (result,) = decide(moderator, decision(item, "refuse"))
    assert result["status"] == "applied"
    pending = lead.post(f"/proposals/{item['id']}/reopen", json={"reason": "clause misapplied"})
    assert pending.status_code == 200
    assert pending.json()["status"] == "pending"
    assert pending.json()["decision"]["outcome"] == "refuse"  # the history stays visible
    # A pending proposal cannot be reopened again; a moderator may not reopen at all.
    assert lead.post(f"/proposals/{item['id']}/reopen", json={"reason": "x"}).status_code == 409
    forbidden = moderator.post(f"/proposals/{item['id']}/reopen", json={"reason": "x"})
    assert forbidden.status_code == 403
    missing_reason = lead.post(f"/proposals/{item['id']}/reopen", json={})
    assert missing_reason.status_code == 422
    assert missing_reason.json()["field"] == "reason"
    (again,) = claim(moderator, question)
    assert again["id"] == item["id"]
    (second,) = decide(moderator, decision(again, "accept"))
    assert second["status"] == "applied"


def test_every_change_is_in_the_append_only_audit_log(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    (proposal_id,) = seed(hub, question, 1)
    moderator, lead = make_api("moderator"), make_api("lead")
    (item,) = claim(moderator, question)
    decide(moderator, decision(item, "refuse"))
    lead.post(f"/proposals/{proposal_id}/reopen", json={"reason": "second look"})
    entries = hub.storage.audit_log(proposal_id)
    assert [e["action"] for e in entries] == ["ingested", "claimed", "decided", "reopened"]
    assert entries[2]["from"] == "pending"
    assert entries[2]["to"] == "refused"
    assert entries[3]["detail"] == "second look"
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    with hub.storage.engine.connect() as connection:
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text(statement))
            connection.rollback()
    assert len(hub.storage.audit_log(proposal_id)) == 4


def test_ingest_is_idempotent_by_external_id(
    hub: EmbeddedHub, question: str, make_api: Any
) -> None:
    platform, moderator = make_api("platform"), make_api("moderator")
    row = {
        "external_id": "ext-1",
        "question": question,
        "content": "Il faut plus de stages",
        "author_first_name": "Nour",
        "language": "fr",
        "created_at": "2026-02-01T12:00:00Z",
    }
    first = platform.post("/proposals", json={"proposals": [row]}).json()["results"]
    second = platform.post("/proposals", json={"proposals": [row]}).json()["results"]
    assert first[0]["status"] == "created"
    assert second == [{**first[0], "status": "unchanged"}]
    edited = platform.post(
        "/proposals", json={"proposals": [{**row, "content": "Il faut plus de stages payés"}]}
    ).json()["results"]
    assert edited == [{**first[0], "status": "updated"}]
    (item,) = claim(moderator, question)
    assert item["content"] == "Il faut plus de stages payés"
    assert item["version"] == 2
