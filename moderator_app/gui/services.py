"""What the window needs from the core, gathered in one object built by `app.py`.

Passing this in (rather than importing global state) lets tests open the window over any cache,
charter and hub, and lets several accounts run side by side with different `--home`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from moderator_app.core.account import DECIDING_ROLES
from moderator_app.core.charter import Charter
from moderator_app.core.charter.prechecks import DuplicateIndex, Finding, run_prechecks
from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.models import Proposal, Question
from moderator_app.gui.plain_text import single_line
from moderator_app.gui.queue_model import QueueRow
from moderator_app.gui.sync_worker import SyncRunner

if TYPE_CHECKING:  # the mail modules (Jinja2) and triage (pydantic) load after the first paint
    from moderator_app.core.mail.render import MailRenderer
    from moderator_app.core.triage import CharterRef, DecisionHook


MAX_INDEXED_FOR_DUPLICATES = 20_000


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
    role: str | None = None  # as the hub said at login (None: an account file from before roles)

    @property
    def can_decide(self) -> bool:
        return self.role is None or self.role in DECIDING_ROLES

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

    # Per question: an index of its proposals' texts for the possible-duplicate pre-check, and
    # the proposal id at each position (set by the window once built off the GUI thread).
    duplicates: dict[str, tuple[DuplicateIndex, list[int]]] = field(default_factory=dict)

    def findings(self, row: QueueRow) -> Sequence[Finding]:
        """The charter's pre-checks on a proposal (hints and rule violations; never decisions),
        without the possible-duplicate one: that one searches every other text and is too slow
        for the keystroke path (see `duplicate_findings`)."""
        return run_prechecks(row.content, _QuestionLanguage(row.language), charter=self.charter)

    def duplicate_findings(self, row: QueueRow) -> list[Finding]:
        """The possible-duplicate findings, once the index of this question's texts is built."""
        index, ids = self.duplicates.get(row.question, (None, []))
        if index is None:
            return []
        found = run_prechecks(
            row.content, _QuestionLanguage(row.language), charter=self.charter, others=index
        )
        # The index holds the proposal itself: being identical to yourself is no finding.
        return [
            finding
            for finding in found
            if finding.check == "possible-duplicate"
            and finding.related is not None
            and ids[finding.related] != row.id
        ]

    def build_duplicate_indexes(
        self, limit: int = MAX_INDEXED_FOR_DUPLICATES
    ) -> dict[str, tuple[DuplicateIndex, list[int]]]:
        """Index every non-withdrawn proposal's text per question (nothing above `limit`: the
        build is linear but a large cache would hold memory and a thread for long)."""
        with self.database.session() as session:
            total = session.scalar(select(func.count()).select_from(Proposal)) or 0
            if total > limit:
                return {}
            rows = session.execute(
                select(Proposal.id, Proposal.question, Proposal.content)
                .where(Proposal.status != "withdrawn")
                .order_by(Proposal.created_at, Proposal.id)
            ).all()
        indexes: dict[str, tuple[DuplicateIndex, list[int]]] = {}
        for proposal_id, question, content in rows:
            index, ids = indexes.setdefault(question, (DuplicateIndex(), []))
            index.add(content)
            ids.append(proposal_id)
        return indexes

    def refusal_hook(self, row: QueueRow) -> DecisionHook | None:
        """Queues the refusal mail in the decision's transaction (None without templates)."""
        renderer = self.renderer
        if renderer is None:
            return None
        from moderator_app.core.mail.config import load_settings
        from moderator_app.core.mail.outbox import (
            DEFAULT_MESSAGE_ID_DOMAIN,
            prechecks_flagged,
            refusal_mail_hook,
        )

        # Message-IDs are fixed when the mail is queued: in the configured sender's domain, as
        # `moderator-app decide` does, so a mail reads the same whichever tool refused it.
        settings = load_settings(self.home)
        return refusal_mail_hook(
            self.charter,
            renderer,
            now=self.now,
            automated_checks=prechecks_flagged(self.charter),
            message_id_domain=settings.message_id_domain if settings else DEFAULT_MESSAGE_ID_DOMAIN,
        )

    def preview_mail(self, row: QueueRow, clause_id: str, note: str) -> str:
        """The refusal mail exactly as the hook above would queue it now (the mail part's
        preview: same context and renderer; only the reference number is fixed on confirm)."""
        renderer = self.renderer
        if renderer is None:
            clause = self.charter.clause(clause_id)
            return f"(No mail templates found.)\n\n{clause.number}. {clause.title}"
        from moderator_app.core.mail.outbox import preview_refusal_mail

        try:
            with self.database.session() as session:
                mail = preview_refusal_mail(
                    session,
                    row.id,
                    clause_id,
                    self.charter,
                    renderer,
                    note=note or None,
                    now=self.now(),
                )
        except UserError as error:
            return f"The mail cannot be shown: {error.message}"
        holder = row.claim_moderator if row.claim_moderator != self.moderator else None
        if mail.to_address:
            to = f"{single_line(row.author_first_name, 80)} <{mail.to_address}>"
        elif holder is not None:
            # The hub hides an author's address from everyone but the moderator holding it.
            to = f"(held by {single_line(holder, 40)}; the address shows once you hold it)"
        elif mail.not_sent_reason:
            to = "(nobody)"
        else:
            name = single_line(row.author_first_name, 80)
            to = f"{name} <the address the hub gives once it records the decision>"
        lines = [f"To: {to}", f"Subject: {mail.subject}"]
        if mail.not_sent_reason and (mail.to_address or holder is None):
            lines.append(f"Not sent: {mail.not_sent_reason}")
        lines.append("(The reference number is fixed when you confirm.)")
        return "\n".join(lines) + "\n\n" + mail.text
