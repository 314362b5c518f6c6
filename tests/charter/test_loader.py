"""Loading the charter, and loading the version a past decision cited."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderator_app.core.charter import (
    CharterError,
    default_charter_dir,
    load_charter,
    load_charter_version,
)
from moderator_app.core.charter.loader import build_charter
from moderator_app.core.charter.releases import read_releases, record_release
from moderator_app.core.errors import UserError
from tests.charter.conftest import BROKEN, MINIMAL_CHARTER

SHIPPED_IDS = [
    "incomprehensible",
    "off-topic",
    "discriminatory-or-illegal",
    "partisan",
    "advertising",
    "multiple-ideas",
    "insults",
    "wrong-language",
    "hard-to-read",
    "format",
    "duplicate",
    "other",
]


def test_shipped_charter_has_every_clause_in_both_languages() -> None:
    charter = load_charter(default_charter_dir())
    assert charter.version == "1.0.1"
    assert charter.languages == ("fr", "en")
    assert charter.in_force == dt.date(2026, 12, 1)
    assert [clause.id for clause in charter.clauses] == SHIPPED_IDS
    assert [clause.number for clause in charter.clauses] == list(range(1, 13))
    for clause in charter.clauses:
        for lang in ("fr", "en"):
            assert clause.title[lang]
            assert clause.text[lang]
            assert clause.tips[lang]
        assert clause.mail_template == "refusal"
        assert clause.examples_accept
        assert clause.examples_refuse
    assert charter.public_url["fr"].startswith("https://")
    assert charter.contest_text["en"].startswith("Do you think")


def test_clause_lookup_by_id() -> None:
    charter = load_charter(default_charter_dir())
    assert charter.clause("off-topic").title == {"fr": "Hors sujet", "en": "Off-topic"}
    assert charter.clause_for_precheck("url") == charter.clause("advertising")
    with pytest.raises(KeyError):
        charter.clause("no-such-clause")


def test_charter_is_immutable() -> None:
    charter = load_charter(MINIMAL_CHARTER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        charter.version = "9.9.9"  # type: ignore[misc]


def test_a_charter_file_or_its_directory_can_be_loaded() -> None:
    assert load_charter(MINIMAL_CHARTER) == load_charter(MINIMAL_CHARTER.parent)


def test_loading_a_broken_charter_is_a_user_error_naming_the_problem() -> None:
    with pytest.raises(CharterError) as raised:
        load_charter(BROKEN / "missing-tips.toml")
    assert str(raised.value) == (
        f"{BROKEN / 'missing-tips.toml'}: clause 'format': missing tips in en; "
        "run 'moderator-app charter check' for details."
    )
    assert isinstance(raised.value, UserError)


def test_syntax_errors_give_line_and_column() -> None:
    with pytest.raises(CharterError) as raised:
        load_charter(BROKEN / "syntax-error.toml")
    [problem] = raised.value.problems
    assert (problem.line, problem.column) == (45, 8)


def test_a_file_that_is_not_utf8_is_a_user_error(tmp_path: Path) -> None:
    file = tmp_path / "charter.toml"
    file.write_bytes(b'version = "1.0.0"\ntitle.fr = "Charte \xe9"\n')
    with pytest.raises(CharterError, match="not valid UTF-8"):
        load_charter(file)


def _problems_for(
    edit: dict[str, object], clause_edit: dict[str, object] | None = None
) -> list[str]:
    data = tomllib.loads(MINIMAL_CHARTER.read_text())
    data.update(edit)
    if clause_edit is not None:
        data["clause"][0].update(clause_edit)
    return [problem.message for problem in build_charter(data, MINIMAL_CHARTER)[1]]


def test_wrong_types_and_typos_are_problems_not_crashes() -> None:
    assert _problems_for({}, {"number": "two"}) == ["'number' must be a positive integer"]
    assert _problems_for({}, {"number": True}) == ["'number' must be a positive integer"]
    assert _problems_for({}, {"tip": {"fr": "x"}}) == ["unknown key 'tip'"]
    assert _problems_for({}, {"title": "Hors sujet"}) == [
        "'title' must be a table with one text per language",
        "missing title in fr",
        "missing title in en",
    ]
    assert _problems_for({}, {"examples_accept": "Il faut"}) == [
        "'examples_accept' must be a list of strings"
    ]
    assert _problems_for({}, {"title": {"fr": "Hors sujet", "en": "Off-topic", "de": "Thema"}}) == [
        "title in undeclared language 'de'"
    ]
    assert _problems_for({"languages": []}) == [
        "'languages' must be a non-empty list of language codes such as \"fr\""
    ]
    assert _problems_for({"in_force": "2026-12-01"}) == [
        "'in_force' must be a date such as 2026-12-01"
    ]
    assert _problems_for({"clause": []}) == ["the charter has no [[clause]]"]
    assert _problems_for({"contest_url": {"fr": "javascript:alert(1)", "en": ""}}) == [
        "contest_url in fr must be an http(s) address without spaces"
    ]


def _release_minimal_then_remove_a_clause(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    text = charter.read_text()
    without = text[: text.index('[[clause]]\nid = "hard-to-read"')]
    charter.write_text(without.replace('version = "1.0.0"', 'version = "1.1.0"'))
    record_release(charter_dir, dt.date(2027, 1, 5))


def test_a_removed_clause_stays_readable_in_the_version_a_decision_cited(
    charter_dir: Path,
) -> None:
    _release_minimal_then_remove_a_clause(charter_dir)

    current = load_charter(charter_dir)
    cited = load_charter_version(charter_dir, "1.0.0")

    with pytest.raises(KeyError):
        current.clause("hard-to-read")
    assert cited.version == "1.0.0"
    assert cited.clause("hard-to-read").text["fr"] == "Pas de majuscules ni de symboles."
    assert load_charter_version(charter_dir, "1.1.0") == current
    assert [release.version for release in read_releases(charter_dir)] == ["1.0.0", "1.1.0"]


def test_an_unknown_version_is_a_user_error(charter_dir: Path) -> None:
    with pytest.raises(UserError, match=r"Charter version 3\.0\.0 is not recorded"):
        load_charter_version(charter_dir, "3.0.0")


def test_an_altered_released_copy_is_refused(charter_dir: Path) -> None:
    _release_minimal_then_remove_a_clause(charter_dir)
    copy = charter_dir / "releases" / "1.0.0.toml"
    copy.write_text(copy.read_text().replace("Pas de majuscules", "Pas de minuscules"))
    with pytest.raises(UserError, match=r"was modified after charter 1\.0\.0 was released"):
        load_charter_version(charter_dir, "1.0.0")


def test_the_current_version_loads_before_it_is_released(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    charter.write_text(charter.read_text().replace('version = "1.0.0"', 'version = "1.0.1"'))
    assert load_charter_version(charter_dir, "1.0.1").version == "1.0.1"


def test_release_refuses_a_version_not_newer_than_the_last(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    charter.write_text(charter.read_text().replace('version = "1.0.0"', 'version = "0.9.0"'))
    with pytest.raises(UserError, match=r"must be newer than the last release 1\.0\.0"):
        record_release(charter_dir, dt.date(2027, 1, 1))


def test_shipped_release_record_matches_the_shipped_charter() -> None:
    assert load_charter_version(default_charter_dir(), "1.0.1") == load_charter(
        default_charter_dir()
    )
    assert [release.version for release in read_releases(default_charter_dir())] == [
        "1.0.0",
        "1.0.1",
    ]


def test_a_decision_citing_shipped_charter_1_0_0_still_shows_that_version() -> None:
    current = load_charter(default_charter_dir())
    cited = load_charter_version(default_charter_dir(), "1.0.0")
    assert cited.version == "1.0.0"
    # 1.0.1 moved the "Il faut" convention from the language clause to the format clause.
    old_language, new_language = (c.clause("wrong-language") for c in (cited, current))
    assert old_language.prechecks == ("missing-prefix",)
    assert "« Il faut »" in old_language.tips["fr"]
    assert new_language.prechecks == ()
    assert "Il faut" not in new_language.tips["fr"]
    assert "We should" not in new_language.tips["en"]
    assert old_language.text == new_language.text
    assert "missing-prefix" in current.clause("format").prechecks
    assert "« Il faut »" in current.clause("format").tips["fr"]
    assert '"We should"' in current.clause("format").tips["en"]


_TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.dates(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["fr", "en", "id", "x"]), children, max_size=3)
    ),
    max_leaves=10,
)
_KEYS = st.sampled_from(
    ["version", "languages", "in_force", "title", "public_url", "contest", "other"]
)
_CLAUSE_KEYS = st.sampled_from(
    ["id", "number", "title", "text", "tips", "mail_template", "prechecks", "examples_accept"]
)


@settings(max_examples=200, deadline=None)
@given(
    header=st.dictionaries(_KEYS, _TOML_VALUES, max_size=6),
    clauses=st.lists(st.dictionaries(_CLAUSE_KEYS, _TOML_VALUES, max_size=8), max_size=3),
)
def test_any_parsed_toml_gives_problems_never_a_crash(
    header: dict[str, object], clauses: list[dict[str, object]]
) -> None:
    data = {**header, "clause": clauses}
    charter, problems = build_charter(data, MINIMAL_CHARTER)
    assert problems  # nothing random is a complete charter
    assert all(str(problem).startswith(str(MINIMAL_CHARTER)) for problem in problems)
    messages = [problem.message for problem in problems]
    if not clauses:
        assert "the charter has no [[clause]]" in messages
    assert len(charter.clauses) <= len(clauses)
