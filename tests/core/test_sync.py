"""The sync engine against a real hub on loopback and a real SQLite cache file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, func, select

from moderation_hub import wire
from moderator_app.core.database import Database, cache_path, open_database
from moderator_app.core.errors import UserError
from moderator_app.core.hubclient import HubClient
from moderator_app.core.models import Claim, Decision, MailOutbox, Proposal, Question
from moderator_app.core.sync import SyncEngine, SyncProgress, SyncReport, run_sync
from moderator_app.core.triage import CharterRef, decide
from tests.core.conftest import Hub

CHARTER = CharterRef.of("1.0.0", {"off-topic", "insults"})


class Network(httpx.HTTPTransport):
    """The real loopback connection, with failures switched on by the test."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []
        self.fail: Callable[[httpx.Request], BaseException | None] = lambda _request: None
        self.lose_answer: Callable[[httpx.Request], bool] = lambda _request: False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        failure = self.fail(request)
        if failure is not None:
            raise failure
        response = super().handle_request(request)
        if self.lose_answer(request):
            response.read()
            response.close()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


@pytest.fixture
def network() -> Iterator[tuple[Network, httpx.Client]]:
    transport = Network()
    with httpx.Client(transport=transport, timeout=10) as client:
        yield transport, client


def _engine(
    cache: Database,
    hub: Hub,
    http: httpx.Client,
    *,
    user: str = "alice",
    page_size: int = 1000,
    progress: Callable[[SyncProgress], None] | None = None,
    sleeps: list[float] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SyncEngine:
    naps = sleeps if sleeps is not None else []
    client = HubClient(http, hub.url, hub.tokens[user], sleep=naps.append)
    return SyncEngine(
        cache, client, moderator=user, page_size=page_size, progress=progress, now=now
    )


def _local_rows(cache: Database) -> dict[int, tuple[int, str, int]]:
    with cache.session() as session:
        return {
            row.id: (row.version, row.status, row.seq)
            for row in session.scalars(select(Proposal)).all()
        }


def _hub_rows(hub: Hub) -> dict[int, tuple[int, str, int]]:
    rows: dict[int, tuple[int, str, int]] = {}
    cursor = 0
    while True:
        page = wire.ProposalPage.model_validate(
            hub.call("lead", "GET", "/proposals", params={"since": cursor, "limit": 1000})
        )
        rows.update({item.id: (item.version, item.status, item.seq) for item in page.items})
        cursor = page.next_cursor
        if not page.has_more:
            return rows


def _decision(cache: Database, decision_id: str) -> Decision:
    with cache.session() as session:
        decision = session.get(Decision, decision_id)
        assert decision is not None
        return decision


def test_first_sync_fetches_everything_then_nothing(
    cache: Database, hub: Hub, http: httpx.Client
) -> None:
    hub.seed(1_200)
    seen: list[SyncProgress] = []
    report = _engine(cache, hub, http, page_size=500, progress=seen.append).sync()
    assert report.online
    assert report.pulled == 1_200
    assert _local_rows(cache) == _hub_rows(hub)
    with cache.session() as session:
        assert session.get(Question, "insertion") is not None
    pulls = [p.done for p in seen if p.phase == "pull"]
    assert pulls == [500, 1_000, 1_200]  # one report per page, growing
    again = _engine(cache, hub, http).sync()
    assert again.pulled == 0
    assert again.cursor == report.cursor


def test_interrupted_pull_resumes_after_the_last_committed_page(
    cache: Database, hub: Hub, network: tuple[Network, httpx.Client]
) -> None:
    transport, client = network
    hub.seed(1_000)
    pages = 0

    def cut_after_three_pages(request: httpx.Request) -> BaseException | None:
        nonlocal pages
        if request.url.path.endswith("/proposals"):
            pages += 1
            if pages > 3:
                return httpx.ConnectError("cable pulled", request=request)
        return None

    transport.fail = cut_after_three_pages
    report = _engine(cache, hub, client, page_size=100).sync()
    assert not report.online
    assert "unreachable" in (report.offline_reason or "")
    assert report.pulled == 300
    assert len(_local_rows(cache)) == 300
    # Meanwhile the hub keeps changing: new proposals, claims, a decision by someone else.
    hub.seed(150)
    first = min(_local_rows(cache))
    assert hub.decide_as("lead", first)["status"] == "applied"
    hub.call("bob", "POST", "/claims", json={"count": 20})
    transport.fail = lambda _request: None
    resumed = _engine(cache, hub, client, page_size=100).sync()
    assert resumed.online
    assert _local_rows(cache) == _hub_rows(hub)  # nothing skipped, nothing stale
    with cache.session() as session:
        claims = session.scalars(select(Claim).where(Claim.moderator == "bob")).all()
    assert len(claims) == 20


def test_decision_pushed_with_lost_answer_is_applied_once(
    cache: Database, hub: Hub, network: tuple[Network, httpx.Client]
) -> None:
    transport, client = network
    ids = hub.seed(5)
    _engine(cache, hub, client).sync()
    decision = decide(cache, ids[0], "accept", moderator="alice", charter=CHARTER)
    # Every answer to the push is lost: the hub applies it, the client never hears back.
    transport.lose_answer = lambda request: request.url.path.endswith("/decisions")
    sleeps: list[float] = []
    report = _engine(cache, hub, client, sleeps=sleeps).sync()
    assert not report.online
    assert sleeps == [0.5, 1.0, 2.0]  # backoff between the four attempts
    assert transport.requests.count("POST /api/v1/decisions") == 4
    assert _decision(cache, decision.id).sync_state == "sent"
    transport.lose_answer = lambda _request: False
    report = _engine(cache, hub, client).sync()
    assert report.online
    assert report.applied == 1
    assert _decision(cache, decision.id).sync_state == "applied"
    feed = [item.decision_id for item in hub.feed()]
    assert feed.count(uuid.UUID(decision.id)) == 1
    assert len(feed) == 1


def test_a_pull_confirms_a_push_whose_answer_never_came(
    cache: Database, hub: Hub, http: httpx.Client
) -> None:
    ids = hub.seed(3)
    engine = _engine(cache, hub, http)
    engine.sync()
    decision = decide(cache, ids[1], "accept", moderator="alice", charter=CHARTER)
    with cache.write() as session:
        stored = session.get(Decision, decision.id)
        assert stored is not None
        stored.sync_state = "sent"
    wire_decision = wire.DecisionIn(
        id=uuid.UUID(decision.id),
        proposal_id=decision.proposal_id,
        proposal_version=decision.proposal_version,
        outcome="accept",
        charter_version="1.0.0",
        decided_at=decision.decided_at,
    )
    assert engine.hub.push([wire_decision])[0].status == "applied"  # the crash: answer dropped
    report = SyncReport(hub_url=hub.url)
    engine.pull(report)
    assert report.applied == 1
    assert _decision(cache, decision.id).sync_state == "applied"


def _queue_mail(session: object, decision: Decision) -> None:
    """Stands in for the mail part's hook: one waiting mail per refusal, same transaction."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    session.add(
        MailOutbox(
            id=f"mail-{decision.id}",
            decision_id=decision.id,
            proposal_id=decision.proposal_id,
            to_address="author@example.org",
            language="fr",
            template="refusal",
            clause_id=decision.clause_id,
            charter_version=decision.charter_version,
            message_id=f"<{decision.id}@moderator.example>",
            subject="Votre proposition",
            body_text="texte",
            body_html="<p>texte</p>",
            state="waiting_hub",
            attempts=0,
            created_at=decision.decided_at,
        )
    )


def _mail_state(cache: Database, decision_id: str) -> str:
    with cache.session() as session:
        state = session.scalar(
            select(MailOutbox.state).where(MailOutbox.decision_id == decision_id)
        )
        assert state is not None
        return state


def test_applied_refusal_releases_its_mail(cache: Database, hub: Hub, http: httpx.Client) -> None:
    ids = hub.seed(2)
    _engine(cache, hub, http).sync()
    decision = decide(
        cache,
        ids[0],
        "refuse",
        moderator="alice",
        charter=CHARTER,
        clause_id="off-topic",
        on_recorded=_queue_mail,
    )
    assert _mail_state(cache, decision.id) == "waiting_hub"
    report = _engine(cache, hub, http).sync()
    assert report.applied == 1
    assert _mail_state(cache, decision.id) == "sendable"
    assert hub.proposal(ids[0]).status == "refused"
    assert hub.proposal(ids[0]).decision is not None
    assert hub.proposal(ids[0]).decision.clause == "off-topic"  # type: ignore[union-attr]


def _make_conflict(kind: str, hub: Hub, proposal_id: int) -> None:
    if kind == "decided_by_other":
        assert hub.decide_as("bob", proposal_id)["status"] == "applied"
    elif kind == "claimed_by_other":
        claimed = hub.call("bob", "POST", "/claims", json={"count": 10})["items"]
        assert proposal_id in [item["id"] for item in claimed]
    elif kind == "withdrawn":
        hub.call("platform", "POST", f"/proposals/{proposal_id}/withdraw", json={})
    elif kind == "version_changed":
        item = hub.proposal(proposal_id)
        hub.server.ingest(
            question=item.question,
            proposals=[
                {
                    "external_id": item.external_id,
                    "content": item.content,
                    "author_first_name": item.author_first_name,
                    "author_email": "corrected@example.org",
                    "author_reachable": True,
                    "language": item.language,
                    "country": "FR",
                    "created_at": item.created_at,
                }
            ],
        )
        assert hub.proposal(proposal_id).version == item.version + 1
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["decided_by_other", "claimed_by_other", "withdrawn", "version_changed"]
)
def test_each_conflict_keeps_the_local_decision_for_review(
    kind: str, cache: Database, hub: Hub, http: httpx.Client
) -> None:
    ids = hub.seed(3)
    _engine(cache, hub, http).sync()
    decision = decide(
        cache,
        ids[0],
        "refuse",
        moderator="alice",
        charter=CHARTER,
        clause_id="insults",
        on_recorded=_queue_mail,
    )
    _make_conflict(kind, hub, ids[0])
    report = _engine(cache, hub, http).sync()
    assert report.online
    assert report.conflicts == 1
    assert report.applied == 0
    kept = _decision(cache, decision.id)
    assert (kept.sync_state, kept.conflict_kind) == ("conflict", kind)
    assert (kept.outcome, kept.clause_id) == ("refuse", "insults")  # nothing lost
    assert kept.hub_detail
    assert kept.hub_state is not None
    hub_state = wire.ProposalItem.model_validate_json(kept.hub_state)
    assert hub_state.id == ids[0]
    assert _mail_state(cache, decision.id) == "cancelled"
    # Syncing again neither resends it nor forgets it.
    again = _engine(cache, hub, http).sync()
    assert again.pushed == 0
    assert _decision(cache, decision.id).sync_state == "conflict"


def test_redo_after_a_version_change_is_applied(
    cache: Database, hub: Hub, http: httpx.Client
) -> None:
    ids = hub.seed(2)
    _engine(cache, hub, http).sync()
    first = decide(cache, ids[0], "accept", moderator="alice", charter=CHARTER)
    _make_conflict("version_changed", hub, ids[0])
    _engine(cache, hub, http).sync()
    assert _decision(cache, first.id).sync_state == "conflict"
    second = decide(cache, ids[0], "accept", moderator="alice", charter=CHARTER)
    assert second.proposal_version == hub.proposal(ids[0]).version
    report = _engine(cache, hub, http).sync()
    assert report.applied == 1
    assert _decision(cache, second.id).sync_state == "applied"
    assert _decision(cache, first.id).sync_state == "dropped"  # superseded by the moderator


def test_invalid_answer_is_kept_as_a_conflict(
    cache: Database, hub: Hub, http: httpx.Client
) -> None:
    ids = hub.seed(1)
    _engine(cache, hub, http).sync()
    decision = decide(cache, ids[0], "accept", moderator="alice", charter=CHARTER)
    with cache.write() as session:  # a refusal without its clause, as an older client might send
        stored = session.get(Decision, decision.id)
        assert stored is not None
        stored.outcome = "refuse"
    report = _engine(cache, hub, http).sync()
    assert report.conflicts == 1
    kept = _decision(cache, decision.id)
    assert (kept.sync_state, kept.conflict_kind) == ("conflict", "invalid")
    assert "reason" in (kept.hub_detail or "")
    assert hub.proposal(ids[0]).status == "pending"


def test_offline_decisions_are_pushed_when_the_hub_is_back(
    cache: Database, hub: Hub, network: tuple[Network, httpx.Client]
) -> None:
    transport, client = network
    ids = hub.seed(30)
    _engine(cache, hub, client).sync(claim=10)
    transport.fail = lambda request: httpx.ConnectError("no network", request=request)
    offline = _engine(cache, hub, client).sync()
    assert not offline.online
    decided = [
        decide(cache, proposal_id, "accept", moderator="alice", charter=CHARTER).id
        for proposal_id in ids[:10]
    ]
    still_offline = _engine(cache, hub, client).sync()
    assert not still_offline.online
    assert {_decision(cache, d).sync_state for d in decided} == {"sent"}
    transport.fail = lambda _request: None
    back = _engine(cache, hub, client).sync()
    assert back.online
    assert back.applied == 10
    assert {_decision(cache, d).sync_state for d in decided} == {"applied"}
    assert {hub.proposal(p).status for p in ids[:10]} == {"accepted"}
    assert len(hub.feed()) == 10


def test_pushes_go_in_batches(cache: Database, hub: Hub, http: httpx.Client) -> None:
    ids = hub.seed(12)
    engine = _engine(cache, hub, http)
    engine.sync()
    for proposal_id in ids:
        decide(cache, proposal_id, "postpone", moderator="alice", charter=CHARTER)
    engine.push_batch_size = 5
    report = engine.sync()
    assert (report.pushed, report.applied) == (12, 12)
    assert {hub.proposal(p).status for p in ids} == {"postponed"}


def test_claim_renew_and_release(cache: Database, hub: Hub, http: httpx.Client) -> None:
    hub.seed(20)
    engine = _engine(cache, hub, http)
    report = engine.sync(claim=6)
    assert report.claimed == 6
    with cache.session() as session:
        mine = sorted(
            session.scalars(select(Claim.proposal_id).where(Claim.moderator == "alice")).all()
        )
    assert len(mine) == 6
    first_expiry = hub.proposal(mine[0]).claim
    assert first_expiry is not None
    decide(cache, mine[0], "accept", moderator="alice", charter=CHARTER)
    fresh = engine.sync()
    assert fresh.renewed == 0  # fresh leases are left alone: renewing is a change for everyone
    later = _engine(cache, hub, http, now=lambda: datetime.now(UTC) + timedelta(hours=5))
    renewed = later.sync()
    assert renewed.renewed == 5
    renewed_claim = hub.proposal(mine[1]).claim
    assert renewed_claim is not None
    assert renewed_claim.expires_at > first_expiry.expires_at
    released = engine.sync(release=True)
    assert released.released == 5
    for proposal_id in mine[1:]:
        assert hub.proposal(proposal_id).claim is None
    with cache.session() as session:
        left = session.scalar(select(func.count()).where(Claim.moderator == "alice"))
    assert left == 0
    # bob can now take what alice gave back
    taken = hub.call("bob", "POST", "/claims", json={"count": 20})["items"]
    assert set(mine[1:]) <= {item["id"] for item in taken}


def test_release_of_an_expired_claim_just_forgets_it(
    cache: Database, hub: Hub, http: httpx.Client
) -> None:
    hub.seed(3)
    engine = _engine(cache, hub, http)
    engine.sync(claim=1)
    with cache.write() as session:  # our cache believes in a claim the hub no longer has
        proposal = session.scalars(
            select(Proposal).where(Proposal.id.not_in(select(Claim.proposal_id)))
        ).first()
        assert proposal is not None
        session.add(Claim(proposal_id=proposal.id, moderator="alice", expires_at=datetime.now(UTC)))
    report = engine.sync(release=True)
    assert report.online
    assert report.released == 1
    with cache.session() as session:
        assert session.scalar(select(func.count()).select_from(Claim)) == 0


def test_cache_of_one_hub_refuses_another(
    cache: Database, hub: Hub, http: httpx.Client, tmp_path: Path
) -> None:
    hub.seed(1)
    _engine(cache, hub, http).sync()
    other = HubClient(http, "http://127.0.0.1:9", "token")
    with pytest.raises(UserError, match="another --home"):
        SyncEngine(cache, other, moderator="alice").sync()


def test_a_refused_token_is_one_clear_error(cache: Database, hub: Hub, http: httpx.Client) -> None:
    with pytest.raises(UserError, match="rejected the token"):
        run_sync(cache, http, hub_url=hub.url, token="wrong", moderator="alice")


def test_closed_port_is_offline_not_a_crash(home: Path, http: httpx.Client) -> None:
    with open_database(cache_path(home)) as database:
        naps: list[float] = []
        report = run_sync(
            database,
            http,
            hub_url="http://127.0.0.1:9",
            token="t",
            moderator="a",
            sleep=naps.append,
        )
    assert not report.online
    assert "unreachable after 4 attempts" in (report.offline_reason or "")
    assert len(naps) == 3


def test_sync_state_records_the_outcome(cache: Database, hub: Hub, http: httpx.Client) -> None:
    from moderator_app.core.queries import status

    hub.seed(4)
    _engine(cache, hub, http).sync(claim=2)
    with cache.session() as session:
        now = status(session, hub_url=hub.url, user="alice", now=datetime.now(UTC))
    assert now.last_sync is not None
    assert now.last_error is None
    assert (now.pending, now.claimed_by_me) == (4, 2)
    assert json.loads(json.dumps(now.as_json()))["last_sync"]


def test_an_older_snapshot_never_overwrites_a_newer_one(cache: Database) -> None:
    """Two syncs at once (the GUI's and a CLI's) may store pages out of order."""
    from moderator_app.core.sync import store_items

    def snapshot(seq: int, content: str, holder: str | None) -> wire.ProposalItem:
        return wire.ProposalItem.model_validate(
            {
                "id": 7,
                "external_id": "e7",
                "question": "insertion",
                "content": content,
                "language": "fr",
                "country": None,
                "created_at": "2026-01-01T00:00:00Z",
                "status": "pending",
                "version": 1,
                "author_first_name": "Ana",
                "author_email": None,
                "author_reachable": False,
                "rewrite_url": None,
                "claim": {"moderator": holder, "expires_at": "2099-01-01T00:00:00Z"}
                if holder
                else None,
                "decision": None,
                "seq": seq,
            }
        )

    now = datetime.now(UTC)
    with cache.write() as session:
        store_items(session, [snapshot(20, "Il faut le texte récent", None)], now)
    with cache.write() as session:
        store_items(session, [snapshot(10, "Il faut le vieux texte", "bob")], now)
    with cache.session() as session:
        proposal = session.get(Proposal, 7)
        assert proposal is not None
        assert (proposal.seq, proposal.content) == (20, "Il faut le texte récent")
        assert session.get(Claim, 7) is None
    with cache.write() as session:
        store_items(session, [snapshot(30, "Il faut le texte récent", "alice")], now)
    with cache.session() as session:
        claim = session.get(Claim, 7)
        assert claim is not None
        assert claim.moderator == "alice"


def test_a_sync_pushes_only_its_own_moderators_decisions(
    cache: Database, hub: Hub, http: httpx.Client
) -> None:
    ids = hub.seed(2)
    _engine(cache, hub, http, user="alice").sync()
    alices = decide(cache, ids[0], "accept", moderator="alice", charter=CHARTER)
    report = _engine(cache, hub, http, user="bob").sync()
    assert report.pushed == 0
    assert _decision(cache, alices.id).sync_state == "unsent"
    assert hub.proposal(ids[0]).status == "pending"
    assert _engine(cache, hub, http, user="alice").sync().applied == 1


def test_pulled_pages_skip_the_fsync_and_decisions_keep_it(
    cache: Database, hub: Hub, http: httpx.Client
) -> None:
    """A pulled page can be fetched again (its cursor is lost with it), a decision cannot: only
    the latter pays for a flush to disk at commit."""
    ids = hub.seed(25)
    modes: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("PRAGMA synchronous="):
            modes.append(statement.removeprefix("PRAGMA synchronous="))

    event.listen(cache.engine, "before_cursor_execute", record)
    try:
        engine = _engine(cache, hub, http, page_size=10)
        report = SyncReport(hub_url=hub.url)
        engine.prepare()
        modes.clear()
        engine.pull(report)
        assert report.pulled == 25
        assert modes == ["NORMAL"] * 4  # the questions and three pages, none flushed
        modes.clear()
        decide(
            cache,
            ids[0],
            "accept",
            moderator="alice",
            charter=CharterRef.of("1.0.0", {"off-topic"}),
        )
        assert modes == ["FULL"]
    finally:
        event.remove(cache.engine, "before_cursor_execute", record)
