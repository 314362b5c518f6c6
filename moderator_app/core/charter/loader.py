"""Read `charter.toml` into a `Charter`, collecting every structural problem on the way.

`load_charter` is what the application calls: it refuses a charter with any problem. The
`charter check` command calls `read_charter_data` and `build_charter` to list all problems at once.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from moderator_app.core.charter.model import Charter, Clause, ExampleQuestion, Problem
from moderator_app.core.charter.prechecks import PRECHECK_NAMES
from moderator_app.core.errors import UserError
from moderator_app.core.paths import project_root

CHARTER_FILE = "charter.toml"

_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_CLAUSE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_WEB_ADDRESS = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)
_TOML_POSITION = re.compile(r"^(?P<reason>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")

_HEADER_KEYS = frozenset(
    {
        "version",
        "languages",
        "in_force",
        "title",
        "introduction",
        "public_url",
        "contest",
        "contest_url",
        "example_question",
        "clause",
    }
)
_CLAUSE_KEYS = frozenset(
    {
        "id",
        "number",
        "title",
        "text",
        "tips",
        "mail_template",
        "prechecks",
        "examples_accept",
        "examples_refuse",
    }
)


class CharterError(UserError):
    """A charter file that cannot be used; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        first = str(problems[0])
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}; run 'moderator-app charter check' for details.")
        self.problems = problems


def default_charter_dir() -> Path:
    """The charter shipped with the application: `charter/` at the source root."""
    return project_root() / "charter"


def charter_file(path: Path) -> Path:
    """`path` itself when it is a file, else `charter.toml` inside the directory."""
    return path if path.suffix == ".toml" else path / CHARTER_FILE


def load_charter(path: Path) -> Charter:
    """The charter in `path` (a charter directory or a .toml file); CharterError if unusable."""
    file = charter_file(path)
    charter, problems = build_charter(read_charter_data(file), file)
    if problems:
        raise CharterError(problems)
    return charter


def read_charter_data(file: Path) -> dict[str, Any]:
    """The parsed TOML; CharterError naming line and column for a syntax error."""
    try:
        raw = file.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise CharterError([Problem(file, f"cannot read the charter: {reason}")]) from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CharterError([Problem(file, "the charter is not valid UTF-8")]) from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = _TOML_POSITION.match(str(error))
        if match is None:
            raise CharterError([Problem(file, f"TOML syntax error: {error}")]) from error
        problem = Problem(
            file,
            f"TOML syntax error: {match['reason']}",
            line=int(match["line"]),
            column=int(match["column"]),
        )
        raise CharterError([problem]) from error


def build_charter(data: Mapping[str, Any], file: Path) -> tuple[Charter, list[Problem]]:
    """A charter from parsed TOML, plus every problem; missing parts become empty values."""
    return _Builder(file).charter(data)


class _Builder:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, message: str, clause_id: str | None = None) -> None:
        self.problems.append(Problem(self.file, message, clause_id))

    def charter(self, data: Mapping[str, Any]) -> tuple[Charter, list[Problem]]:
        for key in sorted(data.keys() - _HEADER_KEYS):
            self.problem(f"unknown key '{key}'")
        version = data.get("version")
        if not isinstance(version, str) or not _SEMVER.match(version):
            self.problem("'version' must be a semantic version such as \"1.0.0\"")
            version = "0.0.0"
        languages = self.languages(data.get("languages"))
        in_force = data.get("in_force")
        if not isinstance(in_force, dt.date) or isinstance(in_force, dt.datetime):
            self.problem("'in_force' must be a date such as 2026-12-01")
            in_force = dt.date.min
        charter = Charter(
            version=version,
            languages=languages,
            in_force=in_force,
            title=self.localized(data, "title", languages),
            introduction=self.localized(data, "introduction", languages),
            public_url=self.urls(self.localized(data, "public_url", languages), "public_url"),
            contest_text=self.localized(data, "contest", languages),
            contest_url=self.urls(
                self.localized(data, "contest_url", languages, required=False), "contest_url"
            ),
            clauses=self.clauses(data.get("clause"), languages),
            example_question=self.example_question(data.get("example_question")),
            source=self.file,
        )
        return charter, self.problems

    def languages(self, value: object) -> tuple[str, ...]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(lang, str) and _LANGUAGE.match(lang) for lang in value)
        ):
            self.problem("'languages' must be a non-empty list of language codes such as \"fr\"")
            return ()
        if len(set(value)) != len(value):
            self.problem("'languages' lists a language twice")
        return tuple(dict.fromkeys(value))

    def localized(
        self,
        table: Mapping[str, Any],
        key: str,
        languages: tuple[str, ...],
        clause_id: str | None = None,
        *,
        required: bool = True,
    ) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, dict):
            self.problem(f"'{key}' must be a table with one text per language", clause_id)
            value = {}
        texts: dict[str, str] = {}
        for lang in languages:
            text = value.get(lang)
            if isinstance(text, str) and text.strip():
                texts[lang] = text.strip()
            else:
                if required:
                    self.problem(f"missing {key} in {lang}", clause_id)
                elif text is not None and not isinstance(text, str):
                    self.problem(f"{key} in {lang} must be a text", clause_id)
                texts[lang] = ""
        # With no valid language list, every text would look undeclared: that one problem is enough.
        for lang in sorted(value.keys() - set(languages)) if languages else ():
            self.problem(f"{key} in undeclared language '{lang}'", clause_id)
        return texts

    def urls(self, texts: dict[str, str], key: str) -> dict[str, str]:
        for lang, url in texts.items():
            if url and not _WEB_ADDRESS.match(url):
                self.problem(f"{key} in {lang} must be an http(s) address without spaces")
        return texts

    def example_question(self, value: object) -> ExampleQuestion | None:
        if value is None:
            return None
        if (
            isinstance(value, dict)
            and isinstance(value.get("text"), str)
            and isinstance(value.get("language"), str)
        ):
            return ExampleQuestion(text=value["text"], language=value["language"])
        self.problem("'example_question' must have a 'text' and a 'language'")
        return None

    def clauses(self, value: object, languages: tuple[str, ...]) -> tuple[Clause, ...]:
        if not isinstance(value, list) or not value:
            self.problem("the charter has no [[clause]]")
            return ()
        clauses: list[Clause] = []
        positions_by_id: dict[str, int] = {}
        ids_by_number: dict[int, str] = {}
        owner_by_precheck: dict[str, str] = {}
        for position, table in enumerate(value, start=1):
            if not isinstance(table, dict):
                self.problem(f"clause #{position} is not a table")
                continue
            clause = self.clause(table, position, languages)
            if clause.id in positions_by_id:
                self.problem(
                    f"duplicate clause id (also clause #{positions_by_id[clause.id]})", clause.id
                )
            else:
                positions_by_id[clause.id] = position
            if clause.number in ids_by_number:
                other = ids_by_number[clause.number]
                self.problem(f"duplicate clause number {clause.number} (also '{other}')", clause.id)
            elif clause.number > 0:
                ids_by_number[clause.number] = clause.id
            for precheck in clause.prechecks:
                if precheck in owner_by_precheck:
                    other = owner_by_precheck[precheck]
                    self.problem(f"pre-check '{precheck}' is also declared by '{other}'", clause.id)
                else:
                    owner_by_precheck[precheck] = clause.id
            clauses.append(clause)
        return tuple(clauses)

    def clause(self, table: Mapping[str, Any], position: int, languages: tuple[str, ...]) -> Clause:
        clause_id = table.get("id")
        if not isinstance(clause_id, str) or not _CLAUSE_ID.match(clause_id):
            self.problem(f"clause #{position} needs an 'id' in lower-case words joined by '-'")
            clause_id = f"#{position}"
        for key in sorted(table.keys() - _CLAUSE_KEYS):
            self.problem(f"unknown key '{key}'", clause_id)
        number = table.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            self.problem("'number' must be a positive integer", clause_id)
            number = 0
        mail_template = table.get("mail_template")
        if not isinstance(mail_template, str) or not _TEMPLATE_NAME.match(mail_template):
            self.problem("'mail_template' must name a template in templates/mail/", clause_id)
            mail_template = ""
        prechecks = self.strings(table, "prechecks", clause_id)
        for precheck in prechecks:
            if precheck not in PRECHECK_NAMES:
                self.problem(f"unknown pre-check '{precheck}'", clause_id)
        return Clause(
            id=clause_id,
            number=number,
            title=self.localized(table, "title", languages, clause_id),
            text=self.localized(table, "text", languages, clause_id),
            tips=self.localized(table, "tips", languages, clause_id),
            mail_template=mail_template,
            prechecks=tuple(p for p in prechecks if p in PRECHECK_NAMES),
            examples_accept=self.strings(table, "examples_accept", clause_id),
            examples_refuse=self.strings(table, "examples_refuse", clause_id),
        )

    def strings(self, table: Mapping[str, Any], key: str, clause_id: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.problem(f"'{key}' must be a list of strings", clause_id)
            return ()
        return tuple(value)
