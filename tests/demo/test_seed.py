"""The demo consultation: realistic, reproducible, covering every way a proposal goes wrong."""

from __future__ import annotations

import tomllib
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from moderation_hub.wire import MAX_INGEST_PER_BATCH, IngestBatch
from moderator_app.core.paths import project_root
from moderator_app.demo.seed import (
    CLAUSE_OF_FLAW,
    DEFAULT_COUNT,
    FLAWS,
    MAX_CHARS,
    MIN_CHARS,
    PROMISE,
    QUESTION_SLUG,
    THEMES,
    SeedProposal,
    build_corpus,
    ingest_models,
)

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def corpus() -> list[SeedProposal]:
    return build_corpus(NOW)


def test_the_corpus_has_the_size_of_the_real_consultation(corpus: list[SeedProposal]) -> None:
    assert len(corpus) == DEFAULT_COUNT == 840
    assert len({item.proposal.external_id for item in corpus}) == len(corpus)


def test_same_seed_and_clock_give_the_same_corpus(corpus: list[SeedProposal]) -> None:
    again = build_corpus(NOW)
    assert [item.proposal for item in again] == [item.proposal for item in corpus]
    other_seed = build_corpus(NOW, seed=1)
    assert [i.proposal.content for i in other_seed] != [i.proposal.content for i in corpus]


def test_every_theme_has_many_distinct_ideas(corpus: list[SeedProposal]) -> None:
    acceptable = [item for item in corpus if item.kind == "acceptable"]
    per_theme = Counter(item.theme for item in acceptable)
    assert set(per_theme) == set(THEMES)
    assert min(per_theme.values()) >= 60
    contents = [item.proposal.content for item in acceptable]
    assert len(set(contents)) == len(contents)
    # Not a handful of lines repeated: without opening and complement, still many ideas per theme.
    for theme in THEMES:
        stems = {
            item.proposal.content.split(" ", 3)[2]
            for item in acceptable
            if item.theme == theme and item.proposal.content.startswith("Il faut ")
        }
        assert len(stems) >= 15, theme


def test_acceptable_proposals_look_like_the_submission_form(corpus: list[SeedProposal]) -> None:
    acceptable = [item.proposal.content for item in corpus if item.kind == "acceptable"]
    assert all(MIN_CHARS <= len(text) <= MAX_CHARS for text in acceptable)
    assert sum(text.startswith("Il faut") for text in acceptable) > 0.7 * len(acceptable)
    assert not any("<" in text or "\u200b" in text for text in acceptable)


def test_every_length_class_is_present(corpus: list[SeedProposal]) -> None:
    classes = Counter(item.length_class for item in corpus)
    assert classes["too_short"] >= 5
    assert classes["too_long"] >= 5
    assert classes["normal"] > 0.9 * len(corpus)
    assert any(len(item.proposal.content) > 5_000 for item in corpus)


def test_every_flaw_and_every_charter_clause_is_represented(corpus: list[SeedProposal]) -> None:
    flaws = Counter(item.flaw for item in corpus if item.flaw is not None)
    assert set(flaws) == set(FLAWS)
    assert min(flaws.values()) >= 5
    charter = tomllib.loads((project_root() / "charter" / "charter.toml").read_text("utf-8"))
    clause_ids = {clause["id"] for clause in charter["clause"]}
    assert set(CLAUSE_OF_FLAW.values()) == clause_ids


def test_flawed_proposals_are_what_they_claim(corpus: list[SeedProposal]) -> None:
    by_flaw: dict[str, list[str]] = {}
    for item in corpus:
        if item.flaw is not None:
            by_flaw.setdefault(item.flaw, []).append(item.proposal.content)
    assert all(len(text) < MIN_CHARS for text in by_flaw["too_short"])
    assert all(len(text) > MAX_CHARS for text in by_flaw["too_long"])
    assert all("<" in text or "&" in text or "](" in text for text in by_flaw["html"])
    assert all(", et aussi " in text for text in by_flaw["multiple_ideas"])
    acceptable = {item.proposal.content.lower() for item in corpus if item.kind == "acceptable"}
    # A near-duplicate shares most of its words with an accepted-looking proposal.
    for text in by_flaw["near_duplicate"]:
        visible = "".join(" " if unicodedata.category(c) == "Cf" else c for c in text)
        words = set(visible.lower().split())
        best = max(len(words & set(other.split())) / len(words) for other in acceptable)
        assert best >= 0.6, text


def test_hostile_texts_are_included(corpus: list[SeedProposal]) -> None:
    hostile = [item.proposal for item in corpus if item.kind == "hostile"]
    texts = " ".join(p.content + p.author_first_name for p in hostile)
    for needle in ("\u202e", "\u200b", "<b>", "<script>", "\r\n", "{{", "\x1b"):
        assert needle in texts, repr(needle)
    # A header-injecting first name on a reachable author: the demo's mails must neutralise it.
    assert any("\r\nBcc:" in p.author_first_name and p.author_reachable for p in hostile)


def test_authors_are_realistic(corpus: list[SeedProposal]) -> None:
    proposals = [item.proposal for item in corpus]
    emails = [p.author_email for p in proposals if p.author_email is not None]
    assert all(email.endswith("@example.org") for email in emails)
    assert all(p.author_email is not None for p in proposals if p.author_reachable)
    unreachable = sum(not p.author_reachable for p in proposals)
    assert 0.05 * len(proposals) < unreachable < 0.3 * len(proposals)
    # Some people wrote several proposals.
    assert Counter(emails).most_common(1)[0][1] >= 2
    assert len({p.author_first_name for p in proposals}) >= 50


def test_creation_times_spread_over_the_last_days(corpus: list[SeedProposal]) -> None:
    times = [item.proposal.created_at for item in corpus]
    assert times == sorted(times)
    assert all(NOW - timedelta(days=7) < t <= NOW for t in times)
    late = sum(NOW - t > PROMISE for t in times)
    assert 0.05 * len(times) < late < 0.3 * len(times)
    assert len({t.date() for t in times}) >= 5


def test_all_proposals_fit_the_hubs_ingest_batches(corpus: list[SeedProposal]) -> None:
    models = ingest_models(corpus)
    assert {model.question for model in models} == {QUESTION_SLUG}
    for start in range(0, len(models), MAX_INGEST_PER_BATCH):
        batch = IngestBatch(proposals=models[start : start + MAX_INGEST_PER_BATCH])
        assert IngestBatch.model_validate_json(batch.model_dump_json()) == batch


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_corpus(datetime(2026, 11, 29, 20, 0))
