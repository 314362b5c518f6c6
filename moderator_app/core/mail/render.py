"""Render refusal mails from `templates/mail/` in a sandboxed Jinja2 environment.

One renderer serves sending, the workbench preview and `moderator-app charter check`, so what a
moderator previews is byte for byte what the author receives.

Templates: `<name>.<lang>.txt.j2` (plain text part) and `<name>.<lang>.html.j2` (HTML part), with
`lang` one of the charter's languages (fr, en). Names starting with `_` are layouts and partials.
Each charter clause names one `<name>` as its `mail_template`.

The subject is the first line of the rendered text part; the body starts after it (leading blank
lines dropped). The shared text layout writes the subject line from its `{% block subject %}`, which
a clause template may override.

Safety: the environment is an `ImmutableSandboxedEnvironment` with `StrictUndefined`; only the HTML
part autoescapes. Every string value is cleaned before rendering (control, bidi-override and
zero-width characters removed; lone surrogates dropped; one-line values such as the first name
folded onto one line; lengths capped), so an author's name or text can neither add markup to the
HTML part nor fake lines (or headers) in the text part.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from moderator_app.core.errors import UserError

# Every variable a mail template may use. The charter check compares templates against this set.
MAIL_VARIABLES: frozenset[str] = frozenset(
    {
        "first_name",  # author's first name (may be empty: templates then greet without it)
        "proposal_text",  # the proposal exactly as the author wrote it (cleaned of control chars)
        "question_title",  # the consultation question the proposal answers
        "submitted_date",  # when the author submitted it, formatted for the language
        "decision_date",  # when the moderator refused it, formatted for the language
        "clause_id",  # the charter clause's stable id, e.g. "off-topic"
        "clause_number",  # the clause's number in the charter (int)
        "clause_title",  # the clause's title in the mail's language
        "clause_text",  # the clause's full text in the mail's language
        "clause_tips",  # the clause's rewrite tips in the mail's language
        "charter_version",  # the charter version the decision cites (semver)
        "charter_url",  # the public charter page in the mail's language
        "rewrite_url",  # where the author rewrites the proposal (from the hub); may be empty
        "contest_text",  # how to contest the decision, in the mail's language
        "contest_url",  # where to contest (may be empty when contest_text says how)
        "reference",  # the decision's reference number, quoted when contesting
        "automated_checks",  # bool: automatic pre-checks flagged it before the human decided
        "personal_note",  # optional note from the moderator to the author (may be empty)
    }
)

# Values shown on one line (a newline in a first name must not start a new line in the mail).
_ONE_LINE_VARIABLES = frozenset(
    {
        "first_name",
        "question_title",
        "submitted_date",
        "decision_date",
        "clause_id",
        "clause_title",
        "charter_version",
        "charter_url",
        "rewrite_url",
        "contest_url",
        "reference",
    }
)
_URL_VARIABLES = frozenset({"charter_url", "rewrite_url", "contest_url"})

# Caps keep a hostile 1 MB "proposal" from producing a 1 MB mail. Real proposals are 12-140 chars.
MAX_ONE_LINE_CHARS = 300
MAX_BLOCK_CHARS = 5_000
_ELLIPSIS = "…"

# C0/C1 controls (except tab and newline, handled apart), soft hyphen, Arabic/Syriac format marks,
# Mongolian vowel separator, zero-width space, LRM/RLM, bidi embeddings/overrides/isolates, word
# joiner and invisible operators, BOM, interlinear annotation marks, and lone surrogates (which
# cannot even be encoded). Zero-width joiner/non-joiner stay: emoji and several scripts need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)
_LINE_BREAKS = re.compile("\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
_SPACES = re.compile(r"\s+")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")

_MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


class MailTemplateError(UserError):
    """A mail template is missing, malformed, or uses something the renderer does not provide."""


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """One rendered mail: a one-line subject, the plain text part and the HTML part."""

    subject: str
    text: str
    html: str


def clean_text(value: str, *, one_line: bool, max_chars: int) -> str:
    """Untrusted text made safe to show: no invisible or control characters, capped in length."""
    value = _LINE_BREAKS.sub("\n", value).replace("\t", " ")
    value = _INVISIBLE.sub("", value)
    value = _SPACES.sub(" ", value).strip() if one_line else value.strip()
    if len(value) > max_chars:
        value = value[: max_chars - 1].rstrip() + _ELLIPSIS
    return value


def _safe_url(value: str) -> str:
    """Only http(s) links reach a template; anything else (javascript:, data:, ...) is dropped."""
    lowered = value.lower()
    if lowered.startswith(("https://", "http://")) and not _SPACES.search(value):
        return value
    return ""


def format_date(value: dt.date, language: str) -> str:
    """A date written out for the mail's language: "29 novembre 2026", "29 November 2026"."""
    months = _MONTHS.get(language, _MONTHS["en"])
    day = "1er" if language == "fr" and value.day == 1 else str(value.day)
    return f"{day} {months[value.month - 1]} {value.year}"


def clean_context(context: Mapping[str, object]) -> dict[str, object]:
    """The context as templates see it: exactly MAIL_VARIABLES, every string cleaned.

    Raises MailTemplateError naming missing or unknown variables (a caller bug, caught early).
    """
    missing = MAIL_VARIABLES - context.keys()
    unknown = context.keys() - MAIL_VARIABLES
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(sorted(missing)))
        if unknown:
            parts.append("unknown " + ", ".join(sorted(unknown)))
        raise MailTemplateError(f"Mail context has {'; '.join(parts)} variables.")
    cleaned: dict[str, object] = {}
    for name, value in context.items():
        if isinstance(value, str):
            one_line = name in _ONE_LINE_VARIABLES
            value = clean_text(
                value,
                one_line=one_line,
                max_chars=MAX_ONE_LINE_CHARS if one_line else MAX_BLOCK_CHARS,
            )
            if name in _URL_VARIABLES:
                value = _safe_url(value)
        cleaned[name] = value
    return cleaned


def sample_context(language: str) -> dict[str, object]:
    """Realistic values for every MAIL_VARIABLES entry (charter check, previews, benchmarks)."""
    decided = dt.date(2026, 11, 27)
    submitted = dt.date(2026, 11, 25)
    if language == "fr":
        return {
            "first_name": "Camille",
            "proposal_text": "Il faut des formations au code de la route en détention, et aussi "
            "baisser les impôts des entreprises qui recrutent.",
            "question_title": "Comment améliorer l'insertion professionnelle des personnes "
            "condamnées par la justice (formation, emploi, etc.) ?",
            "submitted_date": format_date(submitted, "fr"),
            "decision_date": format_date(decided, "fr"),
            "clause_id": "multiple-ideas",
            "clause_number": 6,
            "clause_title": "Plusieurs idées",
            "clause_text": "Une proposition ne contient qu'une seule idée, pour que chacun puisse "
            "voter pour ou contre elle sans ambiguïté.",
            "clause_tips": "Gardez l'idée qui vous tient le plus à cœur et envoyez les autres "
            "comme propositions séparées.",
            "charter_version": "1.0.0",
            "charter_url": "https://platform.example/charte",
            "rewrite_url": "https://platform.example/insertion/rewrite/p-20931",
            "contest_text": "Si vous pensez que cette décision est une erreur, répondez à ce "
            "message en indiquant la référence ci-dessous : une autre personne de l'équipe "
            "réexaminera votre proposition.",
            "contest_url": "https://platform.example/contester",
            "reference": "R-4821-7F3A9C12",
            "automated_checks": False,
            "personal_note": "",
        }
    return {
        "first_name": "Sam",
        "proposal_text": "We should offer driving lessons in prison, and also cut taxes for "
        "companies that hire.",
        "question_title": "How can we help people with a criminal conviction into work "
        "(training, jobs, etc.)?",
        "submitted_date": format_date(submitted, "en"),
        "decision_date": format_date(decided, "en"),
        "clause_id": "multiple-ideas",
        "clause_number": 6,
        "clause_title": "Several ideas",
        "clause_text": "A proposal holds a single idea, so that everyone can vote for or against "
        "it without ambiguity.",
        "clause_tips": "Keep the idea that matters most to you and send the others as separate "
        "proposals.",
        "charter_version": "1.0.0",
        "charter_url": "https://platform.example/charter",
        "rewrite_url": "https://platform.example/insertion/rewrite/p-20931",
        "contest_text": "If you think this decision is a mistake, reply to this message quoting "
        "the reference below: another member of the team will review your proposal again.",
        "contest_url": "https://platform.example/contest",
        "reference": "R-4821-7F3A9C12",
        "automated_checks": False,
        "personal_note": "",
    }


def _quote_lines(value: str) -> str:
    """Filter for the text part: every line of a quoted block starts with "> "."""
    return "\n".join("> " + line if line else ">" for line in value.split("\n"))


def _autoescape(template_name: str | None) -> bool:
    return template_name is not None and template_name.endswith(".html.j2")


class MailRenderer:
    """Renders `<name>.<lang>.{txt,html}.j2` from one templates directory."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self._env = ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(templates_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=_autoescape,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self._env.filters["quote_lines"] = _quote_lines

    def template_names(self) -> set[str]:
        """Per-clause template names (layouts and partials starting with `_` excluded)."""
        names: set[str] = set()
        for path in self.templates_dir.glob("*.j2"):
            parts = path.name.split(".")
            if len(parts) == 4 and parts[2] in ("txt", "html") and not parts[0].startswith("_"):
                names.add(parts[0])
        return names

    def languages(self, template: str) -> set[str]:
        """Languages for which both parts of `template` exist."""
        found: dict[str, set[str]] = {}
        for path in self.templates_dir.glob(f"{template}.*.j2"):
            parts = path.name.split(".")
            if len(parts) == 4 and parts[0] == template:
                found.setdefault(parts[1], set()).add(parts[2])
        return {lang for lang, kinds in found.items() if kinds == {"txt", "html"}}

    def template_files(self, template: str, language: str) -> tuple[str, str]:
        """The (text, html) template file names for a template in a language."""
        if not _TEMPLATE_NAME.match(template) or not _LANGUAGE.match(language):
            raise MailTemplateError(f"Invalid mail template name {template!r}/{language!r}.")
        return f"{template}.{language}.txt.j2", f"{template}.{language}.html.j2"

    def undeclared_variables(self, file_name: str) -> set[str]:
        """Variables a template file (and every layout or partial it uses) reads from the context.

        For the charter check's static analysis: anything outside MAIL_VARIABLES is an error.
        """
        seen: set[str] = set()
        pending = [file_name]
        variables: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            try:
                source, _filename, _uptodate = self._env.loader.get_source(self._env, name)  # type: ignore[union-attr]
                ast = self._env.parse(source, name=name)
            except jinja2.TemplateError as error:
                raise MailTemplateError(f"Mail template {name}: {error}") from error
            variables |= meta.find_undeclared_variables(ast)
            pending.extend(ref for ref in meta.find_referenced_templates(ast) if ref is not None)
        return variables

    def render(self, template: str, language: str, context: Mapping[str, Any]) -> RenderedMail:
        """Render both parts. Raises MailTemplateError when a template is missing or broken."""
        text_name, html_name = self.template_files(template, language)
        values = clean_context(context)
        try:
            text = self._env.get_template(text_name).render(values)
            html = self._env.get_template(html_name).render(values)
        except jinja2.TemplateNotFound as error:
            raise MailTemplateError(
                f"Mail template {error.name} does not exist in {self.templates_dir}."
            ) from error
        except jinja2.TemplateSyntaxError as error:
            raise MailTemplateError(
                f"Mail template {error.name} line {error.lineno}: {error.message}"
            ) from error
        except jinja2.UndefinedError as error:
            raise MailTemplateError(f"Mail template {text_name}/.html: {error.message}") from error
        except jinja2.TemplateError as error:  # sandbox SecurityError and the like
            raise MailTemplateError(f"Mail template {text_name}/.html: {error}") from error
        subject, _, body = text.lstrip("\n").partition("\n")
        subject = _SPACES.sub(" ", subject).strip()
        if not subject:
            raise MailTemplateError(f"Mail template {text_name} renders an empty subject line.")
        return RenderedMail(subject=subject, text=body.lstrip("\n"), html=html)


def default_templates_dir(project_root: Path) -> Path:
    """`templates/mail` under the source root (see moderator_app.core.paths.project_root)."""
    return project_root / "templates" / "mail"
