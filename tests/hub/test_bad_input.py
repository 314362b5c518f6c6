"""Untrusted input: always a JSON 4xx naming the field, never a 500, never a partial write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from moderation_hub import wire
from moderation_hub.embedded import EmbeddedHub
from tests.hub.conftest import Api, claim, proposal_dicts


def _ingest_body(question: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"proposals": [{"question": question, **row} for row in rows]}


def _error(response: Any, status: int, field: str | None) -> wire.ErrorBody:
    assert response.status_code == status, response.text
    body = wire.ErrorBody.model_validate_json(response.content)
    assert body.field == field, body
    assert body.detail
    return body


@pytest.fixture
def platform(make_api: Any) -> Api:
    api: Api = make_api("platform")
    return api


@pytest.fixture
def moderator(make_api: Any) -> Api:
    api: Api = make_api("moderator")
    return api


def _count(hub: EmbeddedHub) -> int:
    return hub.storage.count_proposals()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.update(content="x" * 10_001), "proposals.1.content"),
        (lambda r: r.update(content=""), "proposals.1.content"),
        (lambda r: r.update(content="Il faut\x00 du travail"), "proposals.1.content"),
        (lambda r: r.update(author_first_name="Jo\x00"), "proposals.1.author_first_name"),
        (lambda r: r.update(content="Il faut \ud800"), "proposals.1.content"),
        (lambda r: r.update(nickname="jo"), "proposals.1.nickname"),
        (lambda r: r.update(created_at="yesterday"), "proposals.1.created_at"),
        (lambda r: r.update(author_reachable="perhaps"), "proposals.1.author_reachable"),
        (lambda r: r.pop("external_id"), "proposals.1.external_id"),
        (lambda r: r.update(question="no-such-question"), "proposals.1.question"),
        (lambda r: r.update(external_id="dup"), "proposals.1.external_id"),
        (lambda r: r.update(author_email="not-an-email"), "proposals.1.author_email"),
        (
            lambda r: r.update(author_email="a@example.org\r\nBcc: x@evil.org"),
            "proposals.1.author_email",
        ),
        (lambda r: r.update(author_email="a b@example.org"), "proposals.1.author_email"),
        (lambda r: r.update(author_email="a@b@example.org"), "proposals.1.author_email"),
        (lambda r: r.update(author_email="a@localhost"), "proposals.1.author_email"),
        (lambda r: r.update(author_email="a@example..org"), "proposals.1.author_email"),
        (lambda r: r.update(author_email="@example.org"), "proposals.1.author_email"),
        (lambda r: r.update(author_email="a\u202e@example.org"), "proposals.1.author_email"),
        (lambda r: r.update(author_email="a" * 65 + "@example.org"), "proposals.1.author_email"),
        (lambda r: r.update(language="klingon"), "proposals.1.language"),
        (lambda r: r.update(language="FR"), "proposals.1.language"),
        (lambda r: r.update(country="ZZZ"), "proposals.1.country"),
        (lambda r: r.update(country="fr"), "proposals.1.country"),
    ],
)
def test_bad_ingest_row_rejects_the_whole_batch(
    hub: EmbeddedHub, question: str, platform: Api, mutate: Any, field: str
) -> None:
    first, second = proposal_dicts(2)
    first["external_id"] = "dup"
    mutate(second)
    before = _count(hub)
    # json.dumps escapes a lone surrogate (as a hostile client could send it).
    response = platform.post(
        "/proposals",
        content=json.dumps(_ingest_body(question, [first, second])).encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (404, 422)
    _error(response, response.status_code, field)
    assert _count(hub) == before  # nothing of the batch was written


@pytest.mark.parametrize(
    "email", ["camille+consultation@example.org", "zoé@exämple.fr", "o'neil@sub.example.co.uk"]
)
def test_unusual_but_valid_addresses_languages_and_countries_are_kept(
    question: str, platform: Api, make_api: Any, email: str
) -> None:
    support: Api = make_api("support")
    cursor, has_more = 0, True
    while has_more:  # to the end of the change feed
        page = support.get("/proposals", params={"since": cursor, "limit": 1000}).json()
        cursor, has_more = page["next_cursor"], page["has_more"]
    (row,) = proposal_dicts(1)
    row.update(author_email=email, language="fr-BE", country="BE")
    response = platform.post("/proposals", json=_ingest_body(question, [row]))
    assert response.status_code == 200, response.text
    (item,) = support.get("/proposals", params={"since": cursor}).json()["items"]
    assert (item["author_email"], item["language"], item["country"]) == (email, "fr-BE", "BE")


def test_content_of_exactly_10000_characters_is_kept(
    hub: EmbeddedHub, question: str, platform: Api, moderator: Api
) -> None:
    (row,) = proposal_dicts(1)
    row["content"] = "é" * 10_000
    response = platform.post("/proposals", json=_ingest_body(question, [row]))
    assert response.status_code == 200
    (item,) = claim(moderator, question)
    assert item["content"] == "é" * 10_000


def test_hostile_text_is_stored_and_served_verbatim(
    hub: EmbeddedHub, question: str, platform: Api, moderator: Api
) -> None:
    hostile = "<script>alert(1)</script>\r\nIl faut \u202eesrever\u202c 'quotes'; DROP TABLE x;--"
    (row,) = proposal_dicts(1)
    row.update(content=hostile, author_first_name="<b>Zoé</b>\u200f")
    assert platform.post("/proposals", json=_ingest_body(question, [row])).status_code == 200
    (item,) = claim(moderator, question)
    assert item["content"] == hostile
    assert item["author_first_name"] == "<b>Zoé</b>\u200f"


def test_body_over_one_megabyte_is_413(platform: Api) -> None:
    big = b'{"proposals": [' + b" " * 1_000_001 + b"]}"
    response = platform.post(
        "/proposals", content=big, headers={"content-type": "application/json"}
    )
    _error(response, 413, "body")


def test_streamed_body_over_one_megabyte_is_413(platform: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"proposals": ['
        for _ in range(20):
            yield b" " * 100_000
        yield b"]}"

    response = platform.post(
        "/proposals", content=chunks(), headers={"content-type": "application/json"}
    )
    _error(response, 413, "body")


def test_malformed_json_is_422(platform: Api) -> None:
    response = platform.post(
        "/proposals", content=b'{"proposals": [', headers={"content-type": "application/json"}
    )
    assert _error(response, 422, "body").error == "invalid_json"


def test_malformed_json_says_so(moderator: Api) -> None:
    response = moderator.post(
        "/claims", content=b"{bad", headers={"content-type": "application/json"}
    )
    body = _error(response, 422, "body")
    assert body.detail.startswith("malformed JSON: ")
    assert "character 1" in body.detail


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": "many"}, "count"),
        ({"count": 0}, "count"),
        ({"count": 1001}, "count"),
        ({"count": 1, "colour": "red"}, "colour"),
        ({"count": 1, "question": "a\x00b"}, "question"),
        ([1, 2], "body"),
        ({}, "count"),
    ],
)
def test_bad_claim_requests_name_the_field(moderator: Api, body: Any, field: str) -> None:
    _error(moderator.post("/claims", json=body), 422, field)


def test_claim_on_unknown_question_is_404(moderator: Api) -> None:
    _error(moderator.post("/claims", json={"count": 1, "question": "nope"}), 404, "question")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"since": -1}, "since"),
        ({"since": 2**64}, "since"),
    ],
)
def test_page_parameters_out_of_range(moderator: Api, params: dict[str, Any], field: str) -> None:
    _error(moderator.get("/proposals", params=params), 422, field)


def test_unknown_ids_are_404(make_api: Any) -> None:
    lead, platform, moderator = make_api("lead"), make_api("platform"), make_api("moderator")
    _error(lead.post("/proposals/424242/reopen", json={"reason": "x"}), 404, "proposal_id")
    _error(platform.post("/proposals/424242/withdraw"), 404, "proposal_id")
    _error(moderator.get("/proposals/424242"), 404, "proposal_id")
    _error(moderator.get("/proposals/0"), 422, "proposal_id")
    _error(moderator.get(f"/proposals/{2**70}"), 422, "proposal_id")


def test_decision_envelope_errors(moderator: Api) -> None:
    _error(moderator.post("/decisions", json={"decisions": {}}), 422, "decisions")
    _error(moderator.post("/decisions", json={"decisions": [], "force": True}), 422, "force")
    too_many = {"decisions": [{}] * (wire.MAX_DECISIONS_PER_BATCH + 1)}
    _error(moderator.post("/decisions", json=too_many), 422, "decisions")


def test_unknown_route_and_method_are_json(moderator: Api) -> None:
    assert _error(moderator.get("/nothing-here"), 404, None).error == "not_found"
    assert _error(moderator.http.put("/claims"), 405, None).error == "method_not_allowed"


def test_body_that_is_not_declared_json_is_422(platform: Api) -> None:
    response = platform.post(
        "/proposals", content=b'{"proposals": []}', headers={"content-type": "text/plain"}
    )
    assert "Content-Type: application/json" in _error(response, 422, "body").detail


def test_deeply_nested_json_is_a_4xx(platform: Api) -> None:
    body = b"[" * 200_000 + b"]" * 200_000
    response = platform.post(
        "/proposals", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    wire.ErrorBody.model_validate_json(response.content)
