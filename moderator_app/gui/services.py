"""What the window needs from the core, gathered in one object built by `app.py`.

Passing this in (rather than importing global state) lets tests open the window over any cache,
charter and hub, and lets several accounts run side by side with different `--home`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderator_app.core.charter import Charter
from moderator_app.core.charter.prechecks import Finding, run_prechecks
from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.models import Decision, MailOutbox, Proposal, Question
from moderator_app.gui.queue_model import QueueRow
from moderator_app.gui.sync_worker import SyncRunner

if TYPE_CHECKING:  # the mail modules (Jinja2) and triage (pydantic) load after the first paint
    from moderator_app.core.mail.render import MailRenderer
    from moderator_app.core.triage import CharterRef, DecisionHook


@dataclass(frozen=True)
class _QuestionLanguage:
    language: str


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkbenchServices:
    """The account's cache, charter, identity and the functions the window calls."""

    home: Path
    database: Database
    moderator: str
    charter: Charter
    hub_url: str | None = None
    sync_runner: SyncRunner | None = None
    templates_dir: Path | None = None
    now: Callable[[], datetime] = utc_now
    question_titles: dict[str, str] = field(default_factory=dict)

    _renderer: MailRenderer | None = field(default=None, init=False, repr=False)

    @property
    def renderer(self) -> MailRenderer | None:
        """The mail renderer the outbox uses, created on first use (None without templates)."""
        if self._renderer is None and self.templates_dir is not None:
            from moderator_app.core.mail.render import MailRenderer

            if self.templates_dir.is_dir():
                self._renderer = MailRenderer(self.templates_dir)
        return self._renderer

    @property
    def charter_ref(self) -> CharterRef:
        from moderator_app.core.triage import CharterRef

        return CharterRef.of(self.charter.version, [clause.id for clause in self.charter.clauses])

    def load_question_titles(self) -> None:
        with self.database.session() as session:
            self.question_titles = {
                question.slug: question.title for question in session.scalars(select(Question))
            }

    def findings(self, row: QueueRow) -> Sequence[Finding]:
        """The charter's pre-checks on a proposal (hints and rule violations; never decisions)."""
        return run_prechecks(row.content, _QuestionLanguage(row.language), charter=self.charter)

    def refusal_hook(self, row: QueueRow) -> DecisionHook | None:
        """Queues the refusal mail in the decision's transaction (None without templates)."""
        renderer = self.renderer
        if renderer is None:
            return None
        from moderator_app.core.mail.outbox import refusal_mail_hook

        flagged = {finding.clause_id for finding in self.findings(row)}
        return refusal_mail_hook(
            self.charter,
            renderer,
            now=self.now,
            automated_checks=lambda _proposal, decision: decision.clause_id in flagged,
        )

    def preview_mail(self, row: QueueRow, clause_id: str, note: str) -> str:
        """The refusal mail as the outbox would queue it now (same code, nothing written)."""
        renderer = self.renderer
        if renderer is None:
            clause = self.charter.clause(clause_id)
            return f"(No mail templates found.)\n\n{clause.number}. {clause.title}"
        from moderator_app.core.mail.outbox import queue_refusal_mail

        flagged = any(finding.clause_id == clause_id for finding in self.findings(row))
        with self.database.session() as session:
            proposal = session.get(Proposal, row.id)
            if proposal is None:
                return "This proposal is no longer in the local cache."
            decision = Decision(
                id=str(uuid.uuid4()),
                proposal_id=row.id,
                proposal_version=row.version,
                outcome="refuse",
                clause_id=clause_id,
                charter_version=self.charter.version,
                note=note or None,
                moderator=self.moderator,
                decided_at=self.now(),
                sync_state="unsent",
            )
            recorder = _PreviewSession(session)
            try:
                mail = queue_refusal_mail(
                    cast(Session, recorder),
                    decision,
                    proposal,
                    self.charter,
                    renderer,
                    now=self.now(),
                    automated_checks=flagged,
                )
            except UserError as error:
                return f"The mail cannot be rendered: {error.message}"
            finally:
                session.expunge_all()
                session.rollback()
        to = f"{mail.to_name} <{mail.to_address}>" if mail.to_address else "(nobody)"
        lines = [f"To: {to}", f"Subject: {mail.subject}"]
        if mail.state == "not_sent":
            lines.append(f"Not sent: {mail.last_error}")
        lines.append("(The reference number is fixed when you confirm.)")
        return "\n".join(lines) + "\n\n" + mail.body_text


class _PreviewSession:
    """Reads through a real session; keeps what would be added instead of writing it."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.added: list[Any] = []

    def scalar(self, statement: Any) -> Any:
        if getattr(statement, "column_descriptions", None) and any(
            description.get("entity") is MailOutbox for description in statement.column_descriptions
        ):
            return None  # a fresh decision has no mail yet
        return self._session.scalar(statement)

    def get(self, entity: Any, ident: Any) -> Any:
        return self._session.get(entity, ident)

    def add(self, instance: Any) -> None:
        self.added.append(instance)

    def flush(self) -> None:
        return None
