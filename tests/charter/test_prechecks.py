"""Pre-checks point at the part of a proposal a moderator should look at; they never decide."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderator_app.core.charter import Charter, default_charter_dir, load_charter
from moderator_app.core.charter.prechecks import (
    MAX_FINDINGS_PER_CHECK,
    MESSAGES,
    PRECHECK_KINDS,
    DuplicateIndex,
    Finding,
    normalize_for_duplicates,
    run_prechecks,
)
from tests.charter.conftest import MINIMAL_CHARTER


@dataclass(frozen=True)
class Question:
    language: str


FR = Question("fr")
EN = Question("en")
SHIPPED = load_charter(default_charter_dir())


def findings(content: str, question: Question = FR, **kwargs: object) -> list[Finding]:
    return run_prechecks(content, question, charter=SHIPPED, **kwargs)  # type: ignore[arg-type]


def flagged(content: str, question: Question = FR) -> list[tuple[str, str, str]]:
    """(check, clause, highlighted text) for each finding."""
    return [(f.check, f.clause_id, content[f.start : f.end]) for f in findings(content, question)]


def test_a_plain_proposal_has_no_finding() -> None:
    assert (
        findings("Il faut proposer un bilan de compétences à chaque détenu avant sa sortie") == []
    )


def test_too_short_is_a_violation_of_the_format_clause() -> None:
    [finding] = findings("Il faut")
    assert (finding.check, finding.kind, finding.clause_id) == ("too-short", "violation", "format")
    assert (finding.start, finding.end) == (0, 7)
    assert finding.message == "Too short: 7 characters (the form requires at least 12)."


def test_length_limits_count_characters_without_surrounding_spaces() -> None:
    assert [f.check for f in findings("  Il faut ça  ")] == ["too-short"]
    assert findings("Il faut ceci") == []  # exactly 12
    exactly_140 = "Il faut " + "a" * 132
    assert [f.check for f in findings(exactly_140)] == []


def test_too_long_highlights_what_goes_beyond_140_characters() -> None:
    content = "  Il faut " + "former " * 30
    [finding] = [f for f in findings(content) if f.check == "too-long"]
    assert finding.kind == "violation"
    assert content[finding.start : finding.end] == content.strip()[140:]
    assert (
        finding.message
        == f"Too long: {len(content.strip())} characters (the form allows at most 140)."
    )


def test_html_tags_comments_and_entities_are_violations() -> None:
    content = "Il faut <b>former</b> les détenus &amp; <!-- x --> <br/>"
    html = [(check, text) for check, _, text in flagged(content) if check == "html"]
    assert html == [
        ("html", "<b>"),
        ("html", "</b>"),
        ("html", "&amp;"),
        ("html", "<!--"),
        ("html", "<br/>"),
    ]


def test_comparison_signs_are_not_html() -> None:
    assert flagged("Il faut que 3 < 5 et 7 > 2 dans les salaires") == []


def test_missing_prefix_is_a_format_hint_depending_on_the_question_language() -> None:
    # The prefix is a convention of the form (clause 10), not a sign of a foreign language.
    assert flagged("Former les détenus au numérique") == [
        ("missing-prefix", "format", "Former les")
    ]
    assert flagged("We should train every prisoner", EN) == []
    assert flagged("Il faut former tous les détenus", EN) == [
        ("missing-prefix", "format", "Il faut")
    ]
    assert flagged("  il FAUT former tous les détenus") == []  # case and spaces do not matter
    assert flagged("Wir sollten alle Gefangenen ausbilden", Question("de")) == []


@pytest.mark.parametrize(
    "content",
    [
        "Il faudrait former tous les détenus au numérique",
        "Il ne faut pas attendre la sortie pour chercher un emploi",
        "Il ne faudrait pas attendre la sortie pour chercher un emploi",
        "IL FAUDRAIT former tous les détenus au numérique",
        "il ne faut pas attendre la sortie",
        "Il\u00a0faut former tous les détenus",  # no-break space after "Il"
        "Il  ne \tfaut pas attendre la sortie",
        "Il faut, avant tout, former les détenus",
        "Il faut qu'on forme tous les détenus",
    ],
)
def test_french_variants_of_the_prefix_are_accepted(content: str) -> None:
    assert [f for f in findings(content) if f.check == "missing-prefix"] == []


@pytest.mark.parametrize(
    "content",
    [
        "We should train every prisoner",
        "We must train every prisoner",
        "We need to train every prisoner",
        "We should not wait for release to train prisoners",
        "We shouldn't wait for release to train prisoners",
        "We shouldn\u2019t wait for release to train prisoners",  # typographic apostrophe
        "We shouldn\u02bct wait for release to train prisoners",
        "We mustn't wait for release to train prisoners",
        "WE MUST train every prisoner",
        "we  need\u00a0to train every prisoner",
    ],
)
def test_english_variants_of_the_prefix_are_accepted(content: str) -> None:
    assert [f for f in findings(content, EN) if f.check == "missing-prefix"] == []


@pytest.mark.parametrize(
    ("content", "question", "highlighted"),
    [
        ("Pourquoi ne pas former tous les détenus ?", FR, "Pourquoi ne"),
        ("Je pense qu'il faut former les détenus", FR, "Je pense"),
        ("Il fautrait former les détenus", FR, "Il fautrait"),  # not a word boundary
        ("Il peut former les détenus", FR, "Il peut"),
        ("  Former les détenus", FR, "Former les"),
        ("We needs more training", EN, "We needs"),
        ("We mustard the prisoners", EN, "We mustard"),
        ("Prisoners need training", EN, "Prisoners need"),
        ("Il faudrait former tous les détenus", EN, "Il faudrait"),
        ("Former" + "s" * 100, FR, "Former" + "s" * 34),  # one long word: capped
    ],
)
def test_a_real_miss_is_found_with_the_opening_words_highlighted(
    content: str, question: Question, highlighted: str
) -> None:
    [finding] = [f for f in findings(content, question) if f.check == "missing-prefix"]
    assert finding.kind == "hint"
    assert content[finding.start : finding.end] == highlighted


def test_missing_prefix_message_names_the_prefix_and_its_variants() -> None:
    [finding] = findings("Former les détenus au numérique")
    assert finding.message == (
        'Does not start with "Il faut" (or "Il faudrait", "Il ne faut"), '
        "the start the form pre-fills."
    )
    assert finding.kind == "hint"
    [english] = findings("Train every prisoner please", EN)
    assert english.message == (
        'Does not start with "We should" (or "We must", "We need to"), '
        "the start the form pre-fills."
    )


@pytest.mark.parametrize(
    ("content", "address"),
    [
        (
            "Il faut voir https://exemple.fr/page?a=1 pour tout savoir",
            "https://exemple.fr/page?a=1",
        ),
        ("Il faut une démo sur www.formapro-exemple.fr tout de suite", "www.formapro-exemple.fr"),
        ("Il faut lire formapro-exemple.com/offres avant tout", "formapro-exemple.com/offres"),
    ],
)
def test_web_addresses_are_advertising_hints(content: str, address: str) -> None:
    assert flagged(content) == [("url", "advertising", address)]


def test_email_address_is_one_hint_without_url_or_mention() -> None:
    content = "Il faut écrire à recrutement.ouest@exemple.fr pour postuler"
    assert flagged(content) == [("email", "advertising", "recrutement.ouest@exemple.fr")]


@pytest.mark.parametrize(
    "number", ["01 23 45 67 89", "0612345678", "+33 6 12 34 56 78", "06.12.34.56.78"]
)
def test_phone_numbers_are_hints(number: str) -> None:
    assert flagged(f"Il faut appeler le {number} pour un emploi") == [
        ("phone", "advertising", number)
    ]


def test_years_and_amounts_are_not_phone_numbers() -> None:
    assert flagged("Il faut 2000 places de formation en 2027 pour 15000 détenus") == []


def test_runs_of_capitals_are_hints_but_acronyms_are_fine() -> None:
    assert flagged("Il faut FORMER LES DÉTENUS tout de suite") == [
        ("all-caps", "hard-to-read", "FORMER LES DÉTENUS")
    ]
    assert flagged("Il faut que le SPIP et la PJJ travaillent avec France Travail") == []


def test_hashtags_and_mentions_are_hints() -> None:
    assert flagged("Il faut du travail pour tous #insertion @ministere") == [
        ("hashtag-or-mention", "hard-to-read", "#insertion"),
        ("hashtag-or-mention", "hard-to-read", "@ministere"),
    ]
    [finding] = findings("Il faut du travail pour tous #insertion")
    assert finding.message == 'Symbol "#": hashtags and mentions are hard to read.'


@pytest.mark.parametrize(
    ("content", "marked"),
    [
        ("Il faut des formations en prison!!!", "!!!"),
        ("Il faut des formations en prison ?!", "?!"),
        ("Il faut des formations en prison....", "...."),
        ("Il faut des formations,, en prison", ",,"),
    ],
)
def test_repeated_punctuation_is_a_hint(content: str, marked: str) -> None:
    assert flagged(content) == [("repeated-punctuation", "hard-to-read", marked)]


def test_a_plain_ellipsis_is_fine() -> None:
    assert flagged("Il faut des formations, des stages... et du suivi") == []


def test_only_prechecks_the_charter_declares_are_run() -> None:
    minimal = load_charter(MINIMAL_CHARTER)  # declares no phone, e-mail or duplicate check
    content = "Il faut appeler le 01 23 45 67 89 ou écrire à a.b@exemple.fr"
    others = ["Il faut appeler le 01 23 45 67 89 ou écrire à a.b@exemple.fr"]
    result = run_prechecks(content, FR, charter=minimal, others=others)
    assert [f.check for f in result] == []


def test_findings_are_ordered_by_position() -> None:
    result = findings("#emploi Il faut FORMER LES DÉTENUS!! www.exemple.fr")
    assert [f.start for f in result] == sorted(f.start for f in result)
    assert [f.check for f in result] == [
        "hashtag-or-mention",
        "missing-prefix",
        "all-caps",
        "repeated-punctuation",
        "url",
    ]


# --- possible duplicates ------------------------------------------------------------------------

EXISTING = [
    "Il faut plus de logements à la sortie de prison",
    "Il faut permettre de passer le permis de conduire pendant la détention",
    "Il faut des tuteurs en entreprise pour les sortants",
]


def test_same_text_with_other_case_accents_and_punctuation_is_a_possible_duplicate() -> None:
    content = "IL FAUT PERMETTRE DE PASSER LE PERMIS DE CONDUIRE PENDANT LA DETENTION !"
    [duplicate] = [f for f in findings(content, others=EXISTING) if f.check == "possible-duplicate"]
    assert (duplicate.clause_id, duplicate.kind, duplicate.related) == ("duplicate", "hint", 1)
    assert (duplicate.start, duplicate.end) == (0, len(content))
    assert duplicate.message == (
        "Possibly a duplicate (100% similar) of: "
        "“Il faut permettre de passer le permis de conduire pendant la détention”"
    )


def test_a_near_identical_text_is_a_possible_duplicate() -> None:
    content = "Il faut permettre de passer son permis de conduire pendant la détention"
    [duplicate] = [f for f in findings(content, others=EXISTING) if f.check == "possible-duplicate"]
    assert duplicate.related == 1
    assert "% similar" in duplicate.message


def test_a_different_idea_on_the_same_subject_is_not_a_duplicate() -> None:
    content = "Il faut financer le permis de conduire des personnes sortant de détention"
    assert [f for f in findings(content, others=EXISTING) if f.check == "possible-duplicate"] == []


def test_an_index_built_once_serves_many_proposals() -> None:
    index = DuplicateIndex(EXISTING)
    assert [
        f.related
        for f in findings("Il faut des tuteurs en entreprise pour les sortants.", others=index)
    ] == [2]
    assert findings("Il faut des ateliers de cuisine en détention", others=index) == []


def test_duplicate_message_shows_other_text_on_one_clean_line() -> None:
    hostile = "Il faut des\u202e tuteurs\n en entreprise\x00 pour les sortants"
    [duplicate] = findings("Il faut des tuteurs en entreprise pour les sortants", others=[hostile])
    assert duplicate.message.endswith("“Il faut des tuteurs en entreprise pour les sortants”")


def test_normalisation_drops_prefix_case_accents_and_punctuation() -> None:
    assert normalize_for_duplicates("Il faut : Former les DÉTENUS !") == "former les detenus"
    assert normalize_for_duplicates("We should train inmates.") == "train inmates"


def _jaccard_brute_force(query: str, texts: list[str], threshold: float) -> list[int]:
    def shingles(text: str) -> set[str]:
        normalized = normalize_for_duplicates(text)
        if not normalized:
            return set()
        padded = f" {normalized} "
        if len(padded) <= 3:
            return {padded}
        return {padded[i : i + 3] for i in range(len(padded) - 2)}

    query_set = shingles(query)
    if not query_set:
        return []
    found = []
    for position, text in enumerate(texts):
        other = shingles(text)
        if other and len(query_set & other) / len(query_set | other) >= threshold:
            found.append(position)
    return found


_SMALL_WORDS = st.lists(
    st.sampled_from(
        ["il", "faut", "former", "les", "détenus", "aux", "métiers", "du", "bâtiment", "!"]
    ),
    max_size=8,
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    query=_SMALL_WORDS,
    texts=st.lists(_SMALL_WORDS, max_size=12),
    threshold=st.sampled_from([0.5, 0.8, 1.0]),
)
def test_duplicate_index_finds_exactly_what_a_brute_force_comparison_finds(
    query: str, texts: list[str], threshold: float
) -> None:
    index = DuplicateIndex(texts, threshold=threshold)
    assert sorted(position for position, _ in index.similar(query)) == _jaccard_brute_force(
        query, texts, threshold
    )


# --- untrusted input ----------------------------------------------------------------------------


def assert_well_formed(content: str, result: list[Finding], charter: Charter) -> None:
    clause_ids = {clause.id for clause in charter.clauses}
    for finding in result:
        assert 0 <= finding.start <= finding.end <= len(content)
        assert finding.kind == PRECHECK_KINDS[finding.check]
        assert finding.clause_id in clause_ids
        assert finding.message


_FRAGMENTS = st.sampled_from(
    [
        "Il faut ",
        "Il ne faudrait ",
        "il\u00a0faudrait",
        "We should ",
        "We shouldn\u2019t ",
        "we need  to",
        "<b>",
        "</",
        "&amp;",
        "<!--",
        "https://",
        "www.",
        ".fr",
        "@",
        "#",
        "a.b",
        "+33 6 12 34 56 78",
        "01 23 45 67 89",
        "!!",
        "?!",
        "....",
        "ÉÉ ",
        "SPIP ",
        "ß",
        "ﬁ",
        "\u202e",
        "\x00",
        "\r\n",
        "\ud800",
        "İ",
        "ǅ",
        " ",
        "\u0301",
    ]
)
_MIXED_TEXT = st.lists(st.one_of(_FRAGMENTS, st.text(max_size=6)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    content=st.one_of(st.text(), _MIXED_TEXT),
    language=st.sampled_from(["fr", "en", "de", ""]),
    others=st.lists(st.one_of(st.text(max_size=30), _MIXED_TEXT), max_size=4),
)
def test_arbitrary_unicode_never_crashes_and_spans_stay_inside_the_text(
    content: str, language: str, others: list[str]
) -> None:
    result = run_prechecks(content, Question(language), charter=SHIPPED, others=others)
    assert_well_formed(content, result, SHIPPED)


@pytest.mark.parametrize(
    "content",
    [
        "a" * 1_000_000,
        "a-" * 500_000,
        "a." * 500_000,
        "@" * 1_000_000,
        "a@" * 500_000,
        "<a " * 300_000,
        "<!--" * 250_000,
        "0 " * 500_000,
        "!?" * 500_000,
        "ÉCRIRE " * 150_000,
        "\x00\u202e" * 500_000,
    ],
    ids=lambda content: repr(content[:6]),
)
def test_megabyte_proposals_are_handled(content: str) -> None:
    result = run_prechecks(content, FR, charter=SHIPPED, others=[content[:200]])
    assert_well_formed(content, result, SHIPPED)
    assert "too-long" in {f.check for f in result}


def test_messages_are_kept_in_one_table() -> None:
    assert set(MESSAGES) == set(PRECHECK_KINDS)


def test_every_shipped_precheck_belongs_to_a_clause() -> None:
    declared = list(itertools.chain.from_iterable(c.prechecks for c in SHIPPED.clauses))
    assert sorted(declared) == sorted(PRECHECK_KINDS)


def test_each_precheck_reports_a_bounded_number_of_highlights() -> None:
    content = "Il faut " + "#emploi " * 500
    result = findings(content)
    assert [f.check for f in result].count("hashtag-or-mention") == MAX_FINDINGS_PER_CHECK
