"""Refusal mail speed: rendering and sending (run by hand, figures in README.md).

    .venv/bin/python benchmarks/mail_bench.py [--renders 20000] [--mails 2000] [--runs 5]

Measures, in the same run (medians over --runs):
- render: MailRenderer.render (sandboxed Jinja2, both parts, context cleaning) over every
  charter clause in French and English; floor: str.format of the same text with the same
  variables (the bare cost of producing those bytes);
- send: send_sendable over one connection to an aiosmtpd server on loopback (its own process,
  handler Sink, so it does not share this process's interpreter lock), from a real cache
  file (each mail read, handed over, then marked sent with its ledger row in its own committed
  transaction); floor: the same prebuilt messages pushed with bare smtplib over one connection,
  no database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from moderator_app.core.charter import default_charter_dir, load_charter
from moderator_app.core.database import open_database
from moderator_app.core.mail.outbox import send_sendable
from moderator_app.core.mail.render import MailRenderer, default_templates_dir, sample_context
from moderator_app.core.mail.smtp import SmtpSender, SmtpSettings, build_message
from moderator_app.core.models import MailOutbox
from moderator_app.core.paths import project_root


@contextlib.contextmanager
def smtp_sink() -> Iterator[int]:
    """An aiosmtpd server in a child process that accepts and discards; yields its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"]
    process = subprocess.Popen([*command, "-l", f"127.0.0.1:{port}"])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def contexts() -> list[tuple[str, str, dict[str, object]]]:
    charter = load_charter(default_charter_dir())
    items = []
    for clause in charter.clauses:
        for lang in charter.languages:
            context = sample_context(lang)
            context.update(
                clause_id=clause.id,
                clause_number=clause.number,
                clause_title=clause.title[lang],
                clause_text=clause.text[lang],
                clause_tips=clause.tips[lang],
            )
            items.append((clause.mail_template, lang, context))
    return items


def bench_render(renderer: MailRenderer, count: int) -> tuple[float, float, float]:
    """(mails per second, mails per CPU second, floor mails per second)."""
    items = contexts()
    # Warm the template cache (compilation is a one-off, not per mail).
    for template, lang, context in items:
        renderer.render(template, lang, context)
    started, cpu_started = time.perf_counter(), time.process_time()
    for index in range(count):
        template, lang, context = items[index % len(items)]
        renderer.render(template, lang, context)
    rendered_rate = count / (time.perf_counter() - started)
    rendered_cpu_rate = count / (time.process_time() - cpu_started)

    # Floor: str.format over the same output, the variables substituted back in.
    formats = []
    for template, lang, context in items:
        mail = renderer.render(template, lang, context)
        text = (mail.text + mail.html).replace("{", "{{").replace("}", "}}")
        for name in ("proposal_text", "first_name", "clause_text", "clause_tips"):
            text = text.replace(str(context[name]), "{" + name + "}")
        formats.append((text, context))
    started = time.perf_counter()
    for index in range(count):
        text, context = formats[index % len(formats)]
        text.format_map(context)
    floor_rate = count / (time.perf_counter() - started)
    return rendered_rate, rendered_cpu_rate, floor_rate


def fill_outbox(path: Path, renderer: MailRenderer, count: int) -> None:
    database = open_database(path)
    try:
        now = datetime.now(UTC)
        mail = renderer.render("refusal", "fr", sample_context("fr"))
        with database.write() as session:
            for number in range(count):
                session.add(
                    MailOutbox(
                        id=str(uuid.uuid4()),
                        decision_id=str(uuid.uuid4()),
                        proposal_id=number,
                        to_address=f"author{number}@example.org",
                        to_name="Camille",
                        language="fr",
                        template="refusal",
                        clause_id="multiple-ideas",
                        charter_version="1.0.0",
                        message_id=f"<{uuid.uuid4().hex}@platform.example>",
                        subject=mail.subject,
                        body_text=mail.text,
                        body_html=mail.html,
                        state="sendable",
                        attempts=0,
                        created_at=now,
                    )
                )
    finally:
        database.close()


def bench_send(renderer: MailRenderer, count: int, settings: SmtpSettings) -> tuple[float, float]:
    """(mails per second, client CPU milliseconds per mail)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cache.sqlite3"
        fill_outbox(path, renderer, count)
        database = open_database(path)
        try:
            started, cpu_started = time.perf_counter(), time.process_time()
            report = send_sendable(database, SmtpSender(settings, None))
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        finally:
            database.close()
    assert report.sent == count, report
    return count / elapsed, cpu * 1000 / count


def bench_send_floor(renderer: MailRenderer, count: int, settings: SmtpSettings) -> float:
    mail = renderer.render("refusal", "fr", sample_context("fr"))
    messages = [
        build_message(
            settings=settings,
            to_address=f"author{number}@example.org",
            to_name="Camille",
            subject=mail.subject,
            body_text=mail.text,
            body_html=mail.html,
            message_id=f"<{uuid.uuid4().hex}@platform.example>",
            date=datetime.now(UTC),
        )
        for number in range(count)
    ]
    started = time.perf_counter()
    with smtplib.SMTP(settings.host, settings.port, timeout=30) as client:
        for number, message in enumerate(messages):
            client.send_message(
                message, from_addr=settings.from_address, to_addrs=[f"author{number}@example.org"]
            )
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=20_000)
    parser.add_argument("--mails", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    renderer = MailRenderer(default_templates_dir(project_root()))

    render_rates, cpu_rates, format_rates = [], [], []
    for _ in range(args.runs):
        rendered, cpu_rate, floor = bench_render(renderer, args.renders)
        render_rates.append(rendered)
        cpu_rates.append(cpu_rate)
        format_rates.append(floor)
    render = statistics.median(render_rates)
    render_floor = statistics.median(format_rates)
    print(f"render: median {render:,.0f} mails/s (target >= 5,000)")
    print(f"  per CPU second: {statistics.median(cpu_rates):,.0f} mails")
    print(f"  floor str.format of the same bytes: {render_floor:,.0f} mails/s")
    print(f"  ratio floor/render: {render_floor / render:.1f}x")

    with smtp_sink() as port:
        settings = SmtpSettings("127.0.0.1", port, "none", None, "moderation@platform.example")
        # Interleaved, so that both see the same machine load.
        sends, floor_rates = [], []
        for _ in range(args.runs):
            sends.append(bench_send(renderer, args.mails, settings))
            floor_rates.append(bench_send_floor(renderer, args.mails, settings))
    send = statistics.median(rate for rate, _ in sends)
    cpu_per_mail = statistics.median(cpu for _, cpu in sends)
    send_floor = statistics.median(floor_rates)
    print(f"send: median {send:,.0f} mails/s (target >= 300), {args.mails} mails per run")
    print(f"  floor bare smtplib, same messages, no database: {send_floor:,.0f} mails/s")
    print(f"  ratio floor/send: {send_floor / send:.2f}x")
    print(f"  client CPU per mail: {cpu_per_mail:.2f} ms (at most {1000 / cpu_per_mail:,.0f}/s)")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
