"""The queue model over a real cache file: lazy batches, order, filters, search, refresh."""

from __future__ import annotations

import uuid
from datetime import timedelta

from PySide6.QtCore import QModelIndex, Qt

from moderator_app.core.models import Claim, Decision
from moderator_app.gui.queue_model import QueueFilters, QueueModel, fts_query
from tests.gui.conftest import T0, fill_cache, make_proposal


def model_over(cache, **kwargs) -> QueueModel:
    model = QueueModel(cache.session, "alice", now=lambda: T0 + timedelta(hours=47), **kwargs)
    model.reload()
    return model


def test_model_passes_the_model_tester(qtmodeltester, cache) -> None:
    fill_cache(cache, 30)
    model = model_over(cache, batch_size=10)
    qtmodeltester.check(model)


def test_rows_arrive_in_batches_oldest_first(cache) -> None:
    fill_cache(cache, 25)
    model = model_over(cache, batch_size=10)
    assert model.rowCount() == 10
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 25
    assert not model.canFetchMore(QModelIndex())
    ids = [model.row_at(row).id for row in range(25)]
    assert ids == list(range(1, 26))


def test_newest_first_reverses_the_order(cache) -> None:
    fill_cache(cache, 5)
    model = model_over(cache)
    model.set_filters(QueueFilters(newest_first=True))
    assert [model.row_at(row).id for row in range(5)] == [5, 4, 3, 2, 1]


def test_age_is_measured_against_the_48_hour_promise(cache) -> None:
    with cache.write() as session:
        session.add(make_proposal(1, created_at=T0 - timedelta(hours=3)))
        session.add(make_proposal(2, created_at=T0 + timedelta(hours=40)))
    model = model_over(cache)
    overdue, fresh = model.index(0, QueueModel.AGE), model.index(1, QueueModel.AGE)
    assert model.data(overdue, Qt.ItemDataRole.DisplayRole) == "50 h ⚠"
    assert model.data(overdue, Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(fresh, Qt.ItemDataRole.DisplayRole) == "7 h"
    assert model.data(fresh, Qt.ItemDataRole.ForegroundRole) is None


def test_filters_by_question_language_and_claim(cache) -> None:
    with cache.write() as session:
        session.add(make_proposal(1))
        session.add(make_proposal(2, question="other"))
        session.add(make_proposal(3, language="en"))
        session.add(make_proposal(4))
        session.flush()
        session.add(Claim(proposal_id=4, moderator="alice", expires_at=T0 + timedelta(days=1)))
        session.add(Claim(proposal_id=1, moderator="bob", expires_at=T0 + timedelta(days=1)))
    model = model_over(cache)
    model.set_filters(QueueFilters(question="other"))
    assert [model.row_at(r).id for r in range(model.rowCount())] == [2]
    model.set_filters(QueueFilters(language="en"))
    assert [model.row_at(r).id for r in range(model.rowCount())] == [3]
    model.set_filters(QueueFilters(claimed_by_me=True))
    assert [model.row_at(r).id for r in range(model.rowCount())] == [4]
    assert model.total_matching() == 1


def test_status_filter_separates_decided_here_from_to_decide(cache) -> None:
    fill_cache(cache, 4)
    with cache.write() as session:
        session.add(make_proposal(5, status="accepted"))
        session.add(
            Decision(
                id=str(uuid.uuid4()),
                proposal_id=2,
                proposal_version=1,
                outcome="refuse",
                clause_id="off-topic",
                charter_version="1.0.0",
                moderator="alice",
                decided_at=T0,
                sync_state="unsent",
            )
        )
    model = model_over(cache)
    assert [model.row_at(r).id for r in range(model.rowCount())] == [1, 3, 4]
    model.set_filters(QueueFilters(status="decided_here"))
    assert [model.row_at(r).id for r in range(model.rowCount())] == [2]
    assert model.data(model.index(0, QueueModel.STATUS)) == "refuse (off-topic) · unsynced"
    model.set_filters(QueueFilters(status="accepted"))
    assert [model.row_at(r).id for r in range(model.rowCount())] == [5]
    model.set_filters(QueueFilters(status="all"))
    assert model.rowCount() == 5


def test_full_text_search_uses_the_cache_index(cache) -> None:
    with cache.write() as session:
        session.add(make_proposal(1, content="Il faut développer l'apprentissage en prison"))
        session.add(make_proposal(2, content="Il faut des ateliers de menuiserie"))
        session.add(make_proposal(3, content='Il faut "quoted" AND OR NOT * ( )'))
    model = model_over(cache)
    model.set_filters(QueueFilters(search="apprent"))
    assert [model.row_at(r).id for r in range(model.rowCount())] == [1]
    model.set_filters(QueueFilters(search="DEVELOPPER"))  # case and accents folded
    assert [model.row_at(r).id for r in range(model.rowCount())] == [1]
    # FTS syntax typed by a user is searched for, never interpreted (nor an error).
    model.set_filters(QueueFilters(search='"quoted" AND ('))
    assert [model.row_at(r).id for r in range(model.rowCount())] == [3]


def test_fts_query_quotes_every_word() -> None:
    assert fts_query('a "b" NOT') == '"a" "b" "NOT"*'
    assert fts_query("  *** ") == ""


def test_finding_filter_checks_fetched_rows(cache) -> None:
    fill_cache(cache, 30)

    class Finding:
        def __init__(self, clause_id: str, kind: str) -> None:
            self.clause_id, self.kind = clause_id, kind

    def findings_for(row):
        if row.id % 10 == 0:
            return [Finding("advertising", "hint")]
        if row.id == 7:
            return [Finding("length", "violation")]
        return []

    model = model_over(cache, findings_for=findings_for, batch_size=5)
    model.set_filters(QueueFilters(finding="any"))
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert [model.row_at(r).id for r in range(model.rowCount())] == [7, 10, 20, 30]
    model.set_filters(QueueFilters(finding="violation"))
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert [model.row_at(r).id for r in range(model.rowCount())] == [7]
    model.set_filters(QueueFilters(finding="advertising"))
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert [model.row_at(r).id for r in range(model.rowCount())] == [10, 20, 30]
    assert model.data(model.index(0, QueueModel.CHECKS)) == "1 ?"


def test_refresh_ids_updates_a_loaded_row_in_place(qtbot, cache) -> None:
    fill_cache(cache, 3)
    model = model_over(cache)
    with cache.write() as session:
        session.add(
            Decision(
                id=str(uuid.uuid4()),
                proposal_id=2,
                proposal_version=1,
                outcome="accept",
                charter_version="1.0.0",
                moderator="alice",
                decided_at=T0,
            )
        )
    with qtbot.waitSignal(model.dataChanged):
        model.refresh_ids([2, 99])
    assert model.row_at(1).local_outcome == "accept"
    assert model.row_at(1).decided
    assert model.rowCount() == 3


def test_postponed_proposals_can_still_be_decided_and_claims_of_others_show(cache) -> None:
    with cache.write() as session:
        session.add(make_proposal(1, status="postponed"))
        session.add(make_proposal(2, status="accepted"))
        session.add(make_proposal(3))
        session.flush()
        session.add(Claim(proposal_id=3, moderator="bob", expires_at=T0 + timedelta(days=9)))
    model = model_over(cache)
    model.set_filters(QueueFilters(status="all"))
    assert [model.row_at(r).decided for r in range(3)] == [False, True, False]
    assert model.data(model.index(2, QueueModel.HOLDER)) == "bob"
    assert model.data(model.index(2, QueueModel.HOLDER), Qt.ItemDataRole.FontRole).bold()
    assert model.data(model.index(2, QueueModel.STATUS)) == "pending"
    assert "bob" in model.data(model.index(2, QueueModel.HOLDER), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(2, QueueModel.CONTENT), Qt.ItemDataRole.ForegroundRole)


def test_to_decide_hides_live_claims_of_others_unless_asked(cache) -> None:
    with cache.write() as session:
        for number in range(1, 5):
            session.add(make_proposal(number))
        session.flush()
        session.add(Claim(proposal_id=1, moderator="bob", expires_at=T0 + timedelta(days=9)))
        session.add(Claim(proposal_id=2, moderator="alice", expires_at=T0 + timedelta(days=9)))
        # An expired claim of bob's no longer holds the proposal.
        session.add(Claim(proposal_id=3, moderator="bob", expires_at=T0 - timedelta(minutes=1)))
    model = model_over(cache)
    model.set_filters(QueueFilters())
    assert [model.row_at(r).id for r in range(model.rowCount())] == [2, 3, 4]
    assert model.total_matching() == 3
    assert model.data(model.index(0, QueueModel.HOLDER)) == "me"
    assert model.data(model.index(1, QueueModel.HOLDER)) == ""
    model.set_filters(QueueFilters(others_claims=True))
    assert [model.row_at(r).id for r in range(model.rowCount())] == [1, 2, 3, 4]
    assert model.total_matching() == 4


def test_checks_count_distinct_findings_not_one_per_tag(cache) -> None:
    from moderator_app.core.charter.prechecks import Finding

    fill_cache(cache, 1)
    html = [
        Finding("format", "violation", start, start + 3, "HTML markup", "html")
        for start in (0, 9, 20)
    ]
    hint = Finding("advertising", "hint", 0, 2, "Contains a URL", "url")
    model = model_over(cache, findings_for=lambda _row: [*html, hint])
    assert model.data(model.index(0, QueueModel.CHECKS)) == "2 ✗"
