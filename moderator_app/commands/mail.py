"""`moderator-app mail ...`: configure SMTP, send queued refusal mails, and the support console.

    mail configure --host H --port P --security starttls|ssl|none [--user U] --from ADDR
                   [--password-stdin]
    mail send [--password-stdin]
    mail list [--proposal ID] [--email ADDR] [--since DATE] [--until DATE] [--state S] [--json]
    mail show MAIL_ID [--json] [--html]
    mail resend MAIL_ID [--to ADDR] --why TEXT [--no-send]

`moderator-app sync` also sends what became sendable (`send_after_sync`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from moderator_app.commands import _context
from moderator_app.core.account import load_account
from moderator_app.core.credentials import Credentials, smtp_password_name
from moderator_app.core.database import Database
from moderator_app.core.errors import UserError
from moderator_app.core.mail.config import (
    load_settings,
    require_settings,
    save_settings,
    sender_for,
)
from moderator_app.core.mail.outbox import (
    DEFAULT_MESSAGE_ID_DOMAIN,
    DecisionHook,
    MailSummary,
    SendReport,
    default_refusal_mail_hook,
    find_mails,
    mail_detail,
    resend_mail,
    send_sendable,
    utc_now,
)
from moderator_app.core.mail.smtp import SECURITY_MODES, SmtpSender, SmtpSettings
from moderator_app.core.models import MAIL_STATES


def register(subparsers: Any) -> None:
    mail = subparsers.add_parser("mail", help="refusal mails: configure, send, find, resend")
    commands = mail.add_subparsers(dest="mail_command", metavar="COMMAND", required=True)

    configure = commands.add_parser("configure", help="set the SMTP server (password to keyring)")
    configure.add_argument("--host", required=True)
    configure.add_argument("--port", required=True, type=int)
    configure.add_argument("--security", required=True, choices=SECURITY_MODES)
    configure.add_argument("--user", help="SMTP login (omit for a server without login)")
    configure.add_argument("--from", dest="from_address", required=True, metavar="ADDR")
    configure.add_argument("--from-name", default="", metavar="NAME", help="sender display name")
    configure.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS")
    configure.add_argument(
        "--password-stdin", action="store_true", help="read the SMTP password from standard input"
    )
    configure.set_defaults(handler=run_configure)

    send = commands.add_parser("send", help="send the mails that are sendable now")
    send.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the SMTP password from standard input (when the keyring cannot keep it)",
    )
    send.set_defaults(handler=run_send)

    listing = commands.add_parser("list", help="find mails by proposal, address, date or state")
    listing.add_argument("--proposal", type=int, metavar="ID", help="the hub's proposal id")
    listing.add_argument("--email", metavar="ADDR", help="the author's address (any case)")
    listing.add_argument("--since", type=_date_arg, metavar="DATE", help="queued on/after")
    listing.add_argument("--until", type=_date_arg, metavar="DATE", help="queued on/before")
    listing.add_argument("--state", choices=MAIL_STATES)
    listing.add_argument("--limit", type=int, default=500)
    listing.add_argument("--json", action="store_true", help="one JSON array on stdout")
    listing.set_defaults(handler=run_list)

    show = commands.add_parser("show", help="the ledger of one mail: text as sent, attempts")
    show.add_argument("mail_id", metavar="MAIL_ID", help="id or unique prefix (8+ characters)")
    show.add_argument("--json", action="store_true")
    show.add_argument("--html", action="store_true", help="print the HTML part instead")
    show.set_defaults(handler=run_show)

    resend = commands.add_parser("resend", help="send the same mail again, with a reason")
    resend.add_argument("mail_id", metavar="MAIL_ID")
    resend.add_argument("--to", metavar="ADDR", help="a corrected address")
    resend.add_argument("--why", required=True, metavar="TEXT", help="reason, for the audit log")
    resend.add_argument("--no-send", action="store_true", help="queue only; send later")
    resend.set_defaults(handler=run_resend)


def _date_arg(value: str) -> dt.datetime | dt.date:
    try:
        if "T" in value or " " in value.strip():
            moment = dt.datetime.fromisoformat(value.strip())
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UserError("no password on standard input")
    return password


def run_configure(args: argparse.Namespace) -> int:
    user = (args.user or "").strip() or None
    settings = SmtpSettings(
        host=args.host.strip(),
        port=args.port,
        security=args.security,
        username=user,
        from_address=args.from_address.strip(),
        from_name=args.from_name,
        timeout=args.timeout,
    )
    if args.password_stdin and user is None:
        raise UserError("--password-stdin needs --user")
    store = _context.credentials(args)
    stored = False
    if args.password_stdin:
        assert user is not None
        stored = store.set(smtp_password_name(user, settings.host), _read_password())
        if not stored:
            print(
                f"moderator-app: {store.no_storage_message()}; "
                "give it to each `mail send` with --password-stdin",
                file=sys.stderr,
            )
    path = save_settings(_context.home(args), settings)
    login = f" as {user}" if user else ""
    secret = ", password in the keyring" if stored else ""
    print(
        f"mail goes through {settings.host}:{settings.port} ({settings.security}){login} "
        f"from {settings.from_address}{secret}; settings in {path}"
    )
    return 0


def _sender(args: argparse.Namespace, home: Path, store: Credentials) -> SmtpSender:
    if getattr(args, "password_stdin", False):
        return SmtpSender(require_settings(home), _read_password())
    return sender_for(home, store)


def _report_line(report: SendReport) -> str:
    return f"mail: {report.summary()}"


def run_send(args: argparse.Namespace) -> int:
    home = _context.home(args)
    sender = _sender(args, home, _context.credentials(args))
    with _context.open_cache(args) as database:
        report = send_sendable(database, sender)
    if report.busy:
        raise UserError("another moderator-app process is sending mails right now; try later")
    if report.error:
        raise UserError(f"{report.summary()} (queued mails stay queued)")
    print(_report_line(report))
    if report.failed:
        # A permanent failure needs a person (a corrected address, a resend): scripts must see it.
        print(
            f"moderator-app: {report.failed} mail(s) failed for good; see "
            "`moderator-app mail list --state failed`",
            file=sys.stderr,
        )
        return 1
    return 0


def send_after_sync(args: argparse.Namespace) -> None:
    """Called at the end of `moderator-app sync`: send what is sendable, if mail is configured.

    Never fails the sync: problems are one line on stderr, and the mails stay queued.
    """
    home = _context.home(args)
    try:
        if load_settings(home) is None:
            return
        sender = sender_for(home, _context.credentials(args))
        with _context.open_cache(args) as database:
            report = send_sendable(database, sender)
    except UserError as error:
        print(f"moderator-app: mail not sent: {error}", file=sys.stderr)
        return
    if report.error:
        print(f"moderator-app: {_report_line(report)}", file=sys.stderr)
    elif report.sent or report.retry_later or report.failed:
        print(_report_line(report))


def refusal_mail_hook_for(args: argparse.Namespace) -> DecisionHook:
    """The `on_recorded` hook `moderator-app decide` passes to `decide()`: a refusal queues its
    mail in the same transaction (Message-IDs in the configured sender's domain)."""
    from moderator_app.core.charter import default_charter_dir, load_charter

    settings = load_settings(_context.home(args))
    domain = settings.message_id_domain if settings else DEFAULT_MESSAGE_ID_DOMAIN
    return default_refusal_mail_hook(load_charter(default_charter_dir()), message_id_domain=domain)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _print_table(mails: list[MailSummary]) -> None:
    if not mails:
        print("no mail matches")
        return
    for mail in mails:
        resend = f" resend of {mail.resend_of[:8]}" if mail.resend_of else ""
        print(
            f"{mail.id[:8]}  {_when(mail.created_at)}  proposal {mail.proposal_id:<6} "
            f"{mail.state:<11} {mail.to_address or '(no address)'}{resend}"
            + (f"  [{mail.last_error}]" if mail.last_error and mail.state != "sent" else "")
        )


def run_list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UserError("--limit must be 1 or more")
    with _context.open_cache(args) as database, database.session() as session:
        mails = find_mails(
            session,
            proposal_id=args.proposal,
            email=args.email,
            since=args.since,
            until=args.until,
            state=args.state,
            limit=args.limit,
        )
    if args.json:
        print(json.dumps([mail.to_json() for mail in mails], ensure_ascii=False, indent=2))
    else:
        _print_table(mails)
    return 0


def run_show(args: argparse.Namespace) -> int:
    with _context.open_cache(args) as database, database.session() as session:
        detail = mail_detail(session, args.mail_id)
    if args.json:
        print(json.dumps(detail.to_json(), ensure_ascii=False, indent=2))
        return 0
    if args.html:
        print(detail.body_html)
        return 0
    mail = detail.summary
    print(f"mail {mail.id}  ({mail.state})")
    print(f"proposal {mail.proposal_id}, decision {mail.decision_id}")
    print(f"to: {mail.to_name or ''} <{mail.to_address or 'no address'}>")
    print(f"template {mail.template} ({mail.language}), clause {mail.clause_id}, ", end="")
    print(f"charter {mail.charter_version}")
    print(f"message-id: {detail.message_id}")
    print(f"queued {_when(mail.created_at)} UTC, sent {_when(mail.sent_at)} UTC")
    if mail.resend_of:
        print(f"resend of {mail.resend_of}: {mail.resend_reason}")
    if mail.last_error:
        print(f"last error: {mail.last_error}")
    if mail.next_attempt_at and mail.state == "sendable":
        print(f"next attempt after {_when(mail.next_attempt_at)} UTC")
    print("attempts:" if detail.attempts else "attempts: none")
    for attempt in detail.attempts:
        code = attempt.smtp_code if attempt.smtp_code is not None else "-"
        print(f"  {_when(attempt.attempted_at)}  {attempt.outcome:<9} {code} {attempt.smtp_reply}")
    if detail.resends:
        print("resent as: " + ", ".join(detail.resends))
    print(f"\nSubject: {mail.subject}\n")
    print(detail.body_text)
    return 0


def _actor(args: argparse.Namespace, home: Path) -> str:
    account = load_account(home)
    if account is not None:
        return account.user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def run_resend(args: argparse.Namespace) -> int:
    home = _context.home(args)
    settings = load_settings(home)
    domain = settings.message_id_domain if settings else DEFAULT_MESSAGE_ID_DOMAIN
    with _context.open_cache(args) as database:
        with database.write() as session:
            resent = resend_mail(
                session,
                args.mail_id,
                reason=args.why,
                actor=_actor(args, home),
                now=utc_now(),
                to_address=args.to,
                message_id_domain=domain,
            )
        print(f"queued resend {resent.id} of mail {resent.resend_of} to {resent.to_address}")
        if args.no_send:
            return 0
        if settings is None:
            raise UserError("mail is not configured; the resend stays queued until `mail send`")
        report = _send_one_now(database, sender_for(home, _context.credentials(args)), resent.id)
    if report.sent:
        print(_report_line(report))
        return 0
    with database.session() as session:
        detail = mail_detail(session, resent.id)
    if detail.summary.state == "failed":
        raise UserError(f"the resend failed: {detail.summary.last_error}")
    raise UserError(
        f"not sent yet ({detail.summary.last_error or report.summary()}); it stays queued "
        "and goes out with the next `moderator-app mail send` or sync"
    )


def _send_one_now(database: Database, sender: SmtpSender, mail_id: str) -> SendReport:
    return send_sendable(database, sender, only={mail_id})
