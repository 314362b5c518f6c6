"""`charter check`: is the charter directory coherent with itself, the mail templates and releases?

Each problem is one line naming the file and, where it applies, the clause. The mail side is checked
with the same renderer that sends mails (moderator_app.core.mail.render): a static analysis of every
template's variables against MAIL_VARIABLES, then a StrictUndefined render of each clause's mail in
each language with sample data and the clause's own texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.defaults import DEFAULT_NAMESPACE

from moderator_app.core.charter.loader import (
    CHARTER_FILE,
    CharterError,
    build_charter,
    read_charter_data,
)
from moderator_app.core.charter.model import Charter, Clause, Problem
from moderator_app.core.charter.prechecks import PRECHECK_KINDS, run_prechecks
from moderator_app.core.charter.releases import release_problems
from moderator_app.core.mail.render import (
    MAIL_VARIABLES,
    MailRenderer,
    MailTemplateError,
    sample_context,
)

_JINJA_GLOBALS = frozenset(DEFAULT_NAMESPACE)


@dataclass(frozen=True)
class CheckReport:
    """The outcome of a check: no problems means coherent."""

    problems: tuple[Problem, ...]
    summary: str

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Language:
    """The example question's language, as run_prechecks expects a question."""

    language: str


def check_charter(charter_dir: Path, templates_dir: Path) -> CheckReport:
    """Every problem in `charter_dir` (charter.toml, releases) and its mail templates."""
    charter_path = charter_dir / CHARTER_FILE
    try:
        data = read_charter_data(charter_path)
    except CharterError as error:
        return CheckReport(tuple(error.problems), "the charter cannot be read")
    charter, problems = build_charter(data, charter_path)
    rendered = 0
    if charter.languages:
        template_problems, rendered = _template_problems(charter, templates_dir)
        problems += template_problems
    problems += _example_problems(charter, charter_path)
    problems += release_problems(charter_dir, data)
    templates = sorted({clause.mail_template for clause in charter.clauses})
    summary = (
        f"charter {charter.version} is coherent: {len(charter.clauses)} clauses in "
        f"{', '.join(charter.languages)}, {len(templates)} mail template(s) "
        f"({', '.join(templates)}), {rendered} mails rendered, released"
    )
    return CheckReport(tuple(problems), summary)


def _template_problems(charter: Charter, templates_dir: Path) -> tuple[list[Problem], int]:
    problems: list[Problem] = []
    renderer = MailRenderer(templates_dir)
    available = renderer.template_names()
    users: dict[str, list[Clause]] = {}
    for clause in charter.clauses:
        if clause.mail_template:
            users.setdefault(clause.mail_template, []).append(clause)

    for name in sorted(available - users.keys()):
        first_file = sorted(templates_dir.glob(f"{name}.*.j2"))[0]
        problems.append(Problem(first_file, f"mail template '{name}' is used by no clause"))

    statically_broken = _static_problems(renderer, templates_dir, users, problems)

    rendered = 0
    for name, clauses in users.items():
        source = charter.source or Path(CHARTER_FILE)
        if name not in available:
            for clause in clauses:
                message = f"mail template '{name}' does not exist in {templates_dir}"
                problems.append(Problem(source, message, clause.id))
            continue
        languages = renderer.languages(name)
        for lang in charter.languages:
            if lang in languages:
                continue
            files = f"{name}.{lang}.txt.j2 and {name}.{lang}.html.j2"
            for clause in clauses:
                message = f"mail template '{name}' lacks {lang}: {files} must both exist"
                problems.append(Problem(source, message, clause.id))
        for lang in charter.languages:
            if lang not in languages or (name, lang) in statically_broken:
                continue
            reported: set[str] = set()  # one line per distinct error, naming its first clause
            for clause in clauses:
                try:
                    renderer.render(name, lang, _clause_context(charter, clause, lang))
                    rendered += 1
                except MailTemplateError as error:
                    if str(error) in reported:
                        continue
                    reported.add(str(error))
                    problems.append(
                        Problem(
                            templates_dir / f"{name}.{lang}.txt.j2",
                            f"rendering with sample data fails: {error}",
                            clause.id,
                        )
                    )
    return problems, rendered


def _static_problems(
    renderer: MailRenderer,
    templates_dir: Path,
    users: Mapping[str, list[Clause]],
    problems: list[Problem],
) -> set[tuple[str, str]]:
    """Variables outside MAIL_VARIABLES in any template file; returns the broken (name, lang).

    Each unknown variable is reported once, on the file that uses it (a layout's variables are not
    repeated on every template extending it).
    """
    parser = jinja2.Environment(autoescape=True)  # parsing only: references, no filters
    variables: dict[str, set[str]] = {}
    references: dict[str, set[str]] = {}
    broken_files: set[str] = set()
    files = sorted(templates_dir.glob("*.j2"))
    for path in files:
        clause_id = _first_user(users, path.name)
        try:
            source = path.read_text(encoding="utf-8")
            references[path.name] = {
                ref for ref in meta.find_referenced_templates(parser.parse(source)) if ref
            }
            variables[path.name] = renderer.undeclared_variables(path.name)
        except jinja2.TemplateSyntaxError as error:
            message = f"Jinja2 syntax error: {error.message}"
            problems.append(Problem(path, message, clause_id, error.lineno))
            broken_files.add(path.name)
        except (MailTemplateError, OSError, UnicodeDecodeError) as error:
            problems.append(Problem(path, f"unusable template: {error}", clause_id))
            broken_files.add(path.name)
    for path in files:
        if path.name in broken_files:
            continue
        inherited: set[str] = set()
        for ref in references[path.name]:
            inherited |= variables.get(ref, set())
        unknown = variables[path.name] - MAIL_VARIABLES - _JINJA_GLOBALS
        for variable in sorted(unknown - inherited):
            problems.append(
                Problem(
                    path,
                    f"uses variable '{variable}' that the mail renderer does not provide",
                    _first_user(users, path.name),
                )
            )
        if unknown:
            broken_files.add(path.name)
    changed = True
    while changed:  # a template extending or including a broken one is broken too
        changed = False
        for file_name, refs in references.items():
            if file_name not in broken_files and refs & broken_files:
                broken_files.add(file_name)
                changed = True
    broken: set[tuple[str, str]] = set()
    for file_name in broken_files:
        parts = file_name.split(".")
        if len(parts) == 4:
            broken.add((parts[0], parts[1]))
    return broken


def _first_user(users: Mapping[str, list[Clause]], file_name: str) -> str | None:
    clauses = users.get(file_name.split(".")[0])
    return clauses[0].id if clauses else None


def _clause_context(charter: Charter, clause: Clause, lang: str) -> dict[str, Any]:
    """Sample mail values with this clause's own texts, as a real refusal would have them."""
    context: dict[str, Any] = dict(sample_context(lang))
    own = {
        "clause_id": clause.id,
        "clause_number": clause.number,
        "clause_title": clause.title.get(lang, ""),
        "clause_text": clause.text.get(lang, ""),
        "clause_tips": clause.tips.get(lang, ""),
        "charter_version": charter.version,
        "charter_url": charter.public_url.get(lang, ""),
        "contest_text": charter.contest_text.get(lang, ""),
        "contest_url": charter.contest_url.get(lang, ""),
    }
    context.update({key: value for key, value in own.items() if key in MAIL_VARIABLES})
    return context


def _quote(example: str) -> str:
    flat = " ".join(example.split())
    return f'"{flat}"' if len(flat) <= 60 else f'"{flat[:59]}…"'


def _example_problems(charter: Charter, charter_path: Path) -> list[Problem]:
    """Examples must agree with the hard-rule pre-checks (hints never contradict anything)."""
    problems: list[Problem] = []
    language = (
        charter.example_question.language
        if charter.example_question is not None
        else (charter.languages[0] if charter.languages else "")
    )
    question = _Language(language)
    for clause in charter.clauses:
        for example in clause.examples_accept:
            for finding in run_prechecks(example, question, charter=charter):
                if finding.kind == "violation":
                    problems.append(
                        Problem(
                            charter_path,
                            f"accept example {_quote(example)} breaks hard rule "
                            f"'{finding.check}' of clause '{finding.clause_id}'",
                            clause.id,
                        )
                    )
        hard_rules = [p for p in clause.prechecks if PRECHECK_KINDS[p] == "violation"]
        if not hard_rules:
            continue
        for example in clause.examples_refuse:
            findings = run_prechecks(example, question, charter=charter)
            if not any(f.kind == "violation" and f.clause_id == clause.id for f in findings):
                problems.append(
                    Problem(
                        charter_path,
                        f"refuse example {_quote(example)} passes its hard rules "
                        f"({', '.join(hard_rules)})",
                        clause.id,
                    )
                )
    return problems
