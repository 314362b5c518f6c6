"""Everything the demo runs on, set up and torn down as one context manager.

    with DemoEnvironment(home) as demo:
        demo.hub_url, demo.users, demo.catcher   # an embedded hub, seeded; an SMTP catcher
        demo.sync()                              # the demo moderator's first sync

The hub is a real `moderation_hub.embedded.EmbeddedHub` on SQLite, on a free loopback port; the
client's data directory is an ordinary one (cache, mail settings) so the workbench opens it like any
other account. Secrets go to an in-memory keyring that lives as long as the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Final, Self

import httpx
from sqlalchemy import func, select

from moderation_hub.embedded import EmbeddedHub
from moderator_app.core.account import Account, save_account
from moderator_app.core.charter import default_charter_dir, load_charter
from moderator_app.core.credentials import Credentials, hub_token_name
from moderator_app.core.database import cache_path, open_database
from moderator_app.core.errors import UserError
from moderator_app.core.hubclient import HubClient, normalise_hub_url
from moderator_app.core.mail.config import save_settings, sender_for
from moderator_app.core.mail.outbox import refusal_mail_hook, send_sendable
from moderator_app.core.mail.render import MailRenderer, default_templates_dir
from moderator_app.core.mail.smtp import SmtpSettings
from moderator_app.core.models import Claim, Proposal
from moderator_app.core.paths import ensure_private_dir, project_root
from moderator_app.core.sync import SyncReport, run_sync
from moderator_app.core.triage import CharterRef, decide
from moderator_app.demo.catcher import (
    CAUGHT_MAIL_DIR_NAME,
    CaughtMail,
    MailCatcher,
    list_caught_mails,
)
from moderator_app.demo.history import COLLEAGUE, apply_history, plan_history
from moderator_app.demo.memory_keyring import MemoryKeyring
from moderator_app.demo.seed import (
    CLAUSE_OF_FLAW,
    DEFAULT_COUNT,
    DEFAULT_SEED,
    QUESTION_LANGUAGE,
    QUESTION_SLUG,
    QUESTION_TITLE,
    REWRITE_URL_TEMPLATE,
    SeedProposal,
    build_corpus,
    ingest_models,
)

MODERATOR: Final = "demo-moderator"
# How many proposals the colleague holds claimed when the demo starts.
COLLEAGUE_CLAIMS: Final = 12
# How many the demo moderator takes offline at the first sync (their addresses become visible).
FIRST_CLAIM: Final = 50
LEAD: Final = "demo-lead"
SUPPORT: Final = "demo-support"
MAIL_FROM: Final = "moderation@consultation.example.org"
MAIL_FROM_NAME: Final = "Modération de la consultation"
# Marks a directory as a demo home, so the demo never writes into a real account's data.
MARKER_NAME: Final = "DEMO-HOME"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DemoSummary:
    hub_proposals: int
    cached_by_status: dict[str, int]
    claims_by_moderator: dict[str, int]
    caught_mails: int

    @property
    def cached_proposals(self) -> int:
        return sum(self.cached_by_status.values())


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    token: str


def demo_home_under(data_dir: Path, now: datetime) -> Path:
    """A fresh demo home inside the app's data directory, named after the time it starts.

    Two demos started within the same second get distinct directories ("...Z-2").
    """
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = data_dir / "demo" / stamp
    number = 1
    while candidate.exists():
        number += 1
        candidate = data_dir / "demo" / f"{stamp}-{number}"
    return candidate


def check_home_is_usable(home: Path) -> None:
    """The demo only writes into an empty (or new) directory, never into real account data."""
    if home.exists() and not home.is_dir():
        raise UserError(f"{home} is not a directory")
    if home.is_dir() and any(home.iterdir()):
        if (home / MARKER_NAME).exists():
            raise UserError(
                f"{home} holds an earlier demo; the demo starts from a fresh directory each time, "
                "remove it or pick another --home"
            )
        raise UserError(f"{home} is not empty; the demo needs an empty or new directory")


class DemoEnvironment:
    """An embedded hub seeded with the demo consultation, a mail catcher, a logged-in moderator."""

    def __init__(
        self,
        home: Path,
        *,
        seed: int = DEFAULT_SEED,
        count: int = DEFAULT_COUNT,
        now: Clock = utc_now,
    ) -> None:
        self.home = home
        self.seed = seed
        self.count = count
        self.now = now
        self.keyring = MemoryKeyring()
        self.users: dict[str, DemoUser] = {}
        self.corpus: list[SeedProposal] = []
        self._stack: ExitStack | None = None
        self._hub: EmbeddedHub | None = None
        self._catcher: MailCatcher | None = None

    # -- what the demo exposes ----------------------------------------------------------------

    @property
    def hub_url(self) -> str:
        return self._running_hub().url

    @property
    def catcher(self) -> MailCatcher:
        if self._catcher is None:
            raise RuntimeError("the demo environment is not running")
        return self._catcher

    @property
    def mail_folder(self) -> Path:
        return self.home / CAUGHT_MAIL_DIR_NAME

    @property
    def hub_db_path(self) -> Path:
        return self.home / "hub" / "hub.sqlite3"

    @property
    def moderator(self) -> DemoUser:
        return self.users[MODERATOR]

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._stack is not None:
            raise RuntimeError("the demo environment is already running")
        check_home_is_usable(self.home)
        ensure_private_dir(self.home)
        (self.home / MARKER_NAME).write_text(
            "This directory holds a Moderator Workbench demo (hub, cache and caught mails).\n",
            encoding="utf-8",
        )
        ensure_private_dir(self.hub_db_path.parent)
        with ExitStack() as stack:
            hub = stack.enter_context(EmbeddedHub(db_url=f"sqlite:///{self.hub_db_path}"))
            self._hub = hub
            self._seed_hub(hub)
            self._catcher = stack.enter_context(MailCatcher(self.mail_folder))
            self._log_in(hub)
            self._configure_mail(self._catcher)
            # The demo moderator holds the oldest proposals; the colleague holds the next few.
            self.sync(claim=FIRST_CLAIM)
            self._colleague_claims(hub)
            self._stack = stack.pop_all()

    def stop(self) -> None:
        stack, self._stack = self._stack, None
        self._hub = None
        self._catcher = None
        if stack is not None:
            stack.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- steps --------------------------------------------------------------------------------

    def _running_hub(self) -> EmbeddedHub:
        if self._hub is None:
            raise RuntimeError("the demo environment is not running")
        return self._hub

    def _seed_hub(self, hub: EmbeddedHub) -> None:
        accounts = (
            (MODERATOR, "moderator"),
            (COLLEAGUE, "moderator"),
            (LEAD, "lead"),
            (SUPPORT, "support"),
        )
        for name, role in accounts:
            self.users[name] = DemoUser(name, role, hub.add_user(name, role))
        hub.add_question(
            QUESTION_SLUG,
            title=QUESTION_TITLE,
            language=QUESTION_LANGUAGE,
            rewrite_url_template=REWRITE_URL_TEMPLATE,
        )
        now = self.now()
        self.corpus = corpus = build_corpus(now, count=self.count, seed=self.seed)
        hub.ingest(question=QUESTION_SLUG, proposals=ingest_models(corpus))
        # A colleague already worked on the consultation.
        charter = load_charter(default_charter_dir())
        with self._http() as http:
            colleague = HubClient(http, hub.url, self.users[COLLEAGUE].token)
            plan = plan_history(corpus, now, seed=self.seed)
            apply_history(colleague, plan, charter_version=charter.version)

    def _colleague_claims(self, hub: EmbeddedHub) -> None:
        """The colleague is at work too: a few proposals are claimed by someone else."""
        with self._http() as http:
            colleague = HubClient(http, hub.url, self.users[COLLEAGUE].token)
            colleague.claim(COLLEAGUE_CLAIMS, QUESTION_SLUG, ttl_seconds=8 * 3600)

    def _log_in(self, hub: EmbeddedHub) -> None:
        """What `moderator-app login` does, with the token in the demo's own keyring."""
        user = self.moderator
        hub_url = normalise_hub_url(hub.url)
        save_account(self.home, Account(hub_url=hub_url, user=user.name))
        self.credentials.set(hub_token_name(user.name, hub_url), user.token)

    def _configure_mail(self, catcher: MailCatcher) -> None:
        """What `moderator-app mail configure --security none` does, pointed at the catcher."""
        settings = SmtpSettings(
            host=catcher.host,
            port=catcher.port,
            security="none",
            username=None,
            from_address=MAIL_FROM,
            from_name=MAIL_FROM_NAME,
        )
        save_settings(self.home, settings)

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.keyring)

    def sync(self, *, claim: int = 0) -> SyncReport:
        """One sync of the demo moderator's cache with the hub (push, pull, `claim` more)."""
        user = self.moderator
        with open_database(cache_path(self.home)) as database, self._http() as http:
            return run_sync(
                database,
                http,
                hub_url=self.hub_url,
                token=user.token,
                moderator=user.name,
                claim=claim,
                claim_question=QUESTION_SLUG if claim else None,
            )

    def rehearse_refusal(self) -> list[CaughtMail]:
        """Refuse a flawed proposal the moderator holds, sync, send: the whole refusal loop.

        Uses the same functions as the workbench (decide with the outbox hook, sync, send) and
        returns the mails the catcher then holds.
        """
        charter = load_charter(default_charter_dir())
        renderer = MailRenderer(default_templates_dir(project_root()))
        flaws = {
            item.proposal.external_id: item.flaw
            for item in self.corpus
            if item.flaw is not None and item.proposal.author_reachable
        }
        with open_database(cache_path(self.home)) as database:
            with database.session() as session:
                # Only a proposal the moderator holds shows its author's address (personal data).
                mine = session.execute(
                    select(Proposal.id, Proposal.external_id)
                    .join(Claim, Claim.proposal_id == Proposal.id)
                    .where(
                        Claim.moderator == self.moderator.name,
                        Proposal.status == "pending",
                        Proposal.author_email.is_not(None),
                        Proposal.external_id.in_(flaws),
                    )
                    .order_by(Proposal.created_at)
                    .limit(1)
                ).first()
            if mine is None:
                raise UserError("the demo moderator holds no flawed proposal to refuse")
            flaw = flaws[mine.external_id]
            assert flaw is not None
            decide(
                database,
                mine.id,
                "refuse",
                moderator=self.moderator.name,
                charter=CharterRef.of(charter.version, [c.id for c in charter.clauses]),
                clause_id=CLAUSE_OF_FLAW[flaw],
                on_recorded=refusal_mail_hook(charter, renderer),
            )
        report = self.sync()
        if not report.online:
            raise UserError(f"the demo hub did not answer: {report.offline_reason}")
        with open_database(cache_path(self.home)) as database:
            sent = send_sendable(database, sender_for(self.home, self.credentials))
        if sent.error:
            raise UserError(f"the refusal mail was not sent: {sent.error}")
        return list_caught_mails(self.mail_folder)

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0))

    def hub_proposal_count(self) -> int:
        """How many proposals the hub holds, as the lead sees them through the API."""
        lead = self.users[LEAD]
        total = 0
        with self._http() as http:
            hub = HubClient(http, self.hub_url, lead.token)
            cursor, has_more = 0, True
            while has_more:
                page = hub.proposals(since=cursor, limit=1_000)
                total += len(page.items)
                cursor, has_more = page.next_cursor, page.has_more
        return total

    def cached_by_status(self) -> dict[str, int]:
        """How many proposals the demo moderator's cache holds, per hub status."""
        with (
            open_database(cache_path(self.home)) as database,
            database.session() as session,
        ):
            rows = session.execute(
                select(Proposal.status, func.count()).group_by(Proposal.status)
            ).all()
        return {status: count for status, count in sorted(rows)}

    def claims_by_moderator(self) -> dict[str, int]:
        """Who holds claims, as the demo moderator's cache last saw them."""
        with (
            open_database(cache_path(self.home)) as database,
            database.session() as session,
        ):
            rows = session.execute(
                select(Claim.moderator, func.count()).group_by(Claim.moderator)
            ).all()
        return {moderator: count for moderator, count in sorted(rows)}

    def cached_proposal_count(self) -> int:
        return sum(self.cached_by_status().values())

    def summary(self) -> DemoSummary:
        return DemoSummary(
            hub_proposals=self.hub_proposal_count(),
            cached_by_status=self.cached_by_status(),
            claims_by_moderator=self.claims_by_moderator(),
            caught_mails=len(list_caught_mails(self.mail_folder)),
        )
