"""The refusal mail renderer: shipped templates, statement-of-reasons content, hostile input."""

from __future__ import annotations

import html as html_lib
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from moderator_app.core.mail.render import (
    MAIL_VARIABLES,
    MailRenderer,
    MailTemplateError,
    default_templates_dir,
    sample_context,
)
from moderator_app.core.paths import project_root

TEMPLATES = default_templates_dir(project_root())
LANGUAGES = ("fr", "en")
HOSTILE_NAME = 'Bob\r\nBcc: x@example.org\n<script>alert("n")</script>\u202eevil\x00'


@pytest.fixture(scope="module")
def renderer() -> MailRenderer:
    return MailRenderer(TEMPLATES)


def _charter_clauses() -> list[dict[str, Any]]:
    with (project_root() / "charter" / "charter.toml").open("rb") as charter:
        clauses: list[dict[str, Any]] = tomllib.load(charter)["clause"]
    return clauses


CLAUSES = _charter_clauses()


def test_every_template_a_clause_names_exists_in_both_languages(renderer: MailRenderer) -> None:
    names = renderer.template_names()
    assert {clause["mail_template"] for clause in CLAUSES} == names
    for name in names:
        assert renderer.languages(name) == set(LANGUAGES), name


def test_each_clause_gets_its_own_explanation(renderer: MailRenderer) -> None:
    for language in LANGUAGES:
        bodies = {
            renderer.render(
                clause["mail_template"],
                language,
                {**sample_context(language), "clause_id": clause["id"]},
            ).text
            for clause in CLAUSES
        }
        assert len(bodies) == len(CLAUSES)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("clause", CLAUSES, ids=[clause["id"] for clause in CLAUSES])
def test_each_clause_mail_is_a_complete_statement_of_reasons(
    renderer: MailRenderer, clause: dict[str, Any], language: str
) -> None:
    context = sample_context(language)
    context.update(
        clause_id=clause["id"],
        clause_number=clause["number"],
        clause_title=clause["title"][language],
        clause_text=" ".join(clause["text"][language].split()),
        clause_tips=" ".join(clause["tips"][language].split()),
    )
    mail = renderer.render(clause["mail_template"], language, context)
    assert mail.subject
    assert "\n" not in mail.subject
    for part in (mail.text, html_lib.unescape(mail.html)):
        # What was refused and the facts: the proposal as written, the question, the dates.
        assert str(context["proposal_text"]) in part
        assert str(context["question_title"]) in part
        assert str(context["submitted_date"]) in part
        assert str(context["decision_date"]) in part
        # The ground: clause number, title and text, with the charter version.
        assert str(context["clause_title"]) in part
        assert str(context["clause_text"]) in part
        assert str(context["charter_version"]) in part
        # How to rewrite and how to contest, with the reference to quote.
        assert str(context["clause_tips"]) in part
        assert str(context["rewrite_url"]) in part
        assert str(context["contest_text"]) in part
        assert str(context["reference"]) in part
        assert str(context["charter_url"]) in part
        assert str(context["first_name"]) in part
    assert f'<html lang="{language}">' in mail.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_automated_checks_statement_follows_the_flag(renderer: MailRenderer, language: str) -> None:
    context = sample_context(language)
    human_only = renderer.render("refusal", language, {**context, "automated_checks": False})
    flagged = renderer.render("refusal", language, {**context, "automated_checks": True})
    assert human_only.text != flagged.text
    marker = "automatiques ont signalé" if language == "fr" else "Automatic checks flagged"
    assert marker in flagged.text
    assert marker in flagged.html
    assert marker not in human_only.text
    assert marker not in human_only.html


def test_hostile_name_and_text_inject_nothing(renderer: MailRenderer) -> None:
    context = sample_context("en")
    context["first_name"] = HOSTILE_NAME
    context["proposal_text"] = '<img src=x onerror=alert(1)>\r\nBcc: y@example.org\u2066"&amp;'
    context["personal_note"] = "</blockquote><a href='javascript:alert(1)'>click</a>"
    mail = renderer.render("refusal", "en", context)
    # HTML part: no markup from the author or the note survives as markup.
    for tag in ("<script", "<img", "javascript:alert(1)'>", "</blockquote><a"):
        assert tag not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "&lt;img src=x" in mail.html
    assert "&amp;amp;" in mail.html  # an entity the author typed shows as typed
    # Text part: the name stays on one line, control and bidi characters are gone.
    assert "\r" not in mail.text
    assert "\x00" not in mail.text
    assert "\u202e" not in mail.text + mail.html
    assert "\u2066" not in mail.text + mail.html
    assert not any(line.startswith("Bcc:") for line in mail.text.splitlines())
    greeting = mail.text.splitlines()[0]
    assert greeting.startswith("Hello Bob Bcc: x@example.org")
    # The author's own newline stays inside the quoted block.
    assert "> Bcc: y@example.org" in mail.text
    assert "\n" not in mail.subject
    assert "\r" not in mail.subject


def test_one_megabyte_texts_are_capped_not_crashing(renderer: MailRenderer) -> None:
    context = sample_context("fr")
    context["first_name"] = "A" * 1_000_000
    context["proposal_text"] = ("Il faut " + "x" * 100 + "\n") * 10_000
    mail = renderer.render("refusal", "fr", context)
    assert len(mail.text) < 20_000
    assert len(mail.html) < 30_000
    assert "…" in mail.text


def test_lone_surrogates_are_dropped_so_the_mail_can_be_encoded(renderer: MailRenderer) -> None:
    context = sample_context("en")
    context["proposal_text"] = "We should \ud800 fix this"
    mail = renderer.render("refusal", "en", context)
    mail.text.encode("utf-8")
    mail.html.encode("utf-8")
    assert "We should  fix this" in mail.text


def test_links_other_than_http_are_dropped(renderer: MailRenderer) -> None:
    context = sample_context("en")
    context["rewrite_url"] = "javascript:alert(1)"
    mail = renderer.render("refusal", "en", context)
    assert "javascript:" not in mail.html
    assert "javascript:" not in mail.text
    assert "Rewrite my proposal" not in mail.html


def test_context_must_name_exactly_the_mail_variables(renderer: MailRenderer) -> None:
    context = sample_context("en")
    del context["reference"]
    with pytest.raises(MailTemplateError, match="missing reference"):
        renderer.render("refusal", "en", context)
    with pytest.raises(MailTemplateError, match="unknown password"):
        renderer.render("refusal", "en", {**sample_context("en"), "password": "x"})


def test_shipped_templates_use_only_mail_variables(renderer: MailRenderer) -> None:
    for name in renderer.template_names():
        for language in LANGUAGES:
            for file_name in renderer.template_files(name, language):
                assert renderer.undeclared_variables(file_name) <= MAIL_VARIABLES, file_name


def _write_template(directory: Path, name: str, text: str, html: str = "<p>x</p>") -> None:
    (directory / f"{name}.en.txt.j2").write_text(text, encoding="utf-8")
    (directory / f"{name}.en.html.j2").write_text(html, encoding="utf-8")


def test_unknown_variable_fails_loudly(tmp_path: Path) -> None:
    _write_template(tmp_path, "bad", "Subject {{ clause_title }}\n\n{{ author_email }}\n")
    renderer = MailRenderer(tmp_path)
    assert renderer.undeclared_variables("bad.en.txt.j2") == {"clause_title", "author_email"}
    with pytest.raises(MailTemplateError, match="author_email"):
        renderer.render("bad", "en", sample_context("en"))


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    _write_template(
        tmp_path, "escape", "S\n\n{{ first_name.__class__.__mro__[1].__subclasses__() }}\n"
    )
    with pytest.raises(MailTemplateError):
        MailRenderer(tmp_path).render("escape", "en", sample_context("en"))


def test_missing_or_malformed_templates_are_user_errors(tmp_path: Path) -> None:
    _write_template(tmp_path, "broken", "S\n\n{% if %}\n")
    renderer = MailRenderer(tmp_path)
    with pytest.raises(MailTemplateError, match="does not exist"):
        renderer.render("absent", "en", sample_context("en"))
    with pytest.raises(MailTemplateError, match="line 3"):
        renderer.render("broken", "en", sample_context("en"))
    with pytest.raises(MailTemplateError, match="Invalid mail template"):
        renderer.render("../../etc/passwd", "en", sample_context("en"))


def test_html_escaping_is_only_for_the_html_part(tmp_path: Path) -> None:
    _write_template(tmp_path, "t", "S {{ first_name }}\n\n{{ first_name }}\n", "{{ first_name }}")
    mail = MailRenderer(tmp_path).render("t", "en", {**sample_context("en"), "first_name": "A&B"})
    assert mail.subject == "S A&B"
    assert mail.text == "A&B\n"
    assert mail.html == "A&amp;B"


def test_the_first_line_is_the_subject() -> None:
    mail = MailRenderer(TEMPLATES).render("refusal", "fr", sample_context("fr"))
    assert re.fullmatch(
        r"Votre proposition n'a pas été publiée \(charte, article 6 : .+\)", mail.subject
    )
    assert mail.text.startswith("Bonjour Camille,")
