"""The charter as immutable data: its header, its clauses, and the problems found in its files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Mappings below are keyed by language code ("fr", "en"); the loader fills every declared language
# (with "" where the file lacks a text, which `charter check` reports).
Localized = Mapping[str, str]


@dataclass(frozen=True)
class Clause:
    """One rule of the charter: what moderators cite when they refuse a proposal."""

    id: str
    number: int
    title: Localized
    text: Localized
    tips: Localized
    mail_template: str
    prechecks: tuple[str, ...] = ()
    examples_accept: tuple[str, ...] = ()
    examples_refuse: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExampleQuestion:
    """The consultation question the clauses' examples answer."""

    text: str
    language: str


@dataclass(frozen=True)
class Charter:
    """One version of the public moderation charter."""

    version: str
    languages: tuple[str, ...]
    in_force: dt.date
    title: Localized
    introduction: Localized
    public_url: Localized
    contest_text: Localized
    contest_url: Localized
    clauses: tuple[Clause, ...]
    example_question: ExampleQuestion | None = None
    # Where it was read from (None when built in memory); not part of the content.
    source: Path | None = field(default=None, compare=False)

    def clause(self, clause_id: str) -> Clause:
        """The clause with this id; KeyError when the charter has none."""
        for clause in self.clauses:
            if clause.id == clause_id:
                return clause
        raise KeyError(clause_id)

    def clause_for_precheck(self, precheck: str) -> Clause | None:
        """The clause that declares a pre-check, or None when the charter does not use it."""
        for clause in self.clauses:
            if precheck in clause.prechecks:
                return clause
        return None


@dataclass(frozen=True)
class Problem:
    """One incoherence found in a charter directory, printed as one line naming file and clause."""

    file: Path
    message: str
    clause_id: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        location = str(self.file)
        if self.line is not None:
            location += f":{self.line}"
            if self.column is not None:
                location += f":{self.column}"
        if self.clause_id is not None:
            return f"{location}: clause '{self.clause_id}': {self.message}"
        return f"{location}: {self.message}"
