"""The colleague's earlier work the demo starts from: planned from the corpus, deterministic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from moderator_app.demo.history import UNTOUCHED_AGE, plan_history
from moderator_app.demo.seed import CLAUSE_OF_FLAW, build_corpus

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
CORPUS = build_corpus(NOW)
BY_ID = {item.proposal.external_id: item for item in CORPUS}


def test_the_plan_is_deterministic_and_covers_about_a_third_of_older_proposals() -> None:
    plan = plan_history(CORPUS, NOW, seed=7)
    assert plan == plan_history(CORPUS, NOW, seed=7)
    older = [i for i in CORPUS if NOW - i.proposal.created_at >= UNTOUCHED_AGE]
    assert 0.2 * len(older) < len(plan) < 0.4 * len(older)
    assert Counter(d.outcome for d in plan).keys() == {"accept", "refuse", "postpone"}


def test_each_decision_fits_its_proposal() -> None:
    for decision in plan_history(CORPUS, NOW, seed=7):
        item = BY_ID[decision.external_id]
        assert item.proposal.created_at < decision.decided_at < NOW
        assert NOW - item.proposal.created_at >= UNTOUCHED_AGE
        if decision.outcome == "refuse":
            assert item.flaw is not None
            assert decision.clause == CLAUSE_OF_FLAW[item.flaw]
        elif decision.outcome == "accept":
            assert item.kind == "acceptable"
            assert decision.edited_content == item.corrected
        # Hostile texts without a clear flaw are left for the demo moderator.
        assert not (item.kind == "hostile" and item.flaw is None)
