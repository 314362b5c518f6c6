"""Starting the workbench: the account of a data directory, its cache, charter, hub and window.

run_workbench(home)                      # what `moderator-app gui` and the demo call
window = open_workbench(home, ...)       # the same without the event loop (tests, benchmarks)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
)

from moderator_app import __version__
from moderator_app.core.account import require_account
from moderator_app.core.charter import default_charter_dir, load_charter
from moderator_app.core.credentials import Credentials, default_backend, hub_token_name
from moderator_app.core.database import Database, cache_path, open_database
from moderator_app.core.errors import UserError
from moderator_app.core.paths import project_root
from moderator_app.gui.main_window import MainWindow
from moderator_app.gui.services import WorkbenchServices
from moderator_app.gui.settings import WorkbenchSettings
from moderator_app.gui.sync_worker import Progress, SyncRunner


def application(argv: Sequence[str] | None = None) -> QApplication:
    """The running QApplication, created if needed."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(list(argv) if argv is not None else ["moderator-app"])
    app.setApplicationName("Moderator Workbench")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("moderator-app")
    return app


def make_sync_runner(
    home: Path,
    database: Database,
    credentials: Credentials,
    hub_url: str,
    user: str,
    token: str,
    *,
    remember_token: bool = False,
) -> SyncRunner:
    """The job the sync worker runs: one full sync, then the refusal mails that became sendable.

    With `remember_token`, the token typed in at start goes to the keyring after the first sync
    the hub answered (so a mistyped token is never remembered)."""
    unsaved = [token] if remember_token else []

    def run(claim: int, progress: Progress) -> tuple[Any, str | None]:
        # Loaded here, on the worker thread: the window does not wait for the network stack.
        import httpx

        from moderator_app.core.hubclient import DEFAULT_TIMEOUT
        from moderator_app.core.mail.config import load_settings, sender_for
        from moderator_app.core.mail.outbox import send_sendable
        from moderator_app.core.sync import SyncProgress, run_sync

        def report_progress(step: SyncProgress) -> None:
            progress(step.phase, step.done)

        with httpx.Client(timeout=DEFAULT_TIMEOUT) as http:
            report = run_sync(
                database,
                http,
                hub_url=hub_url,
                token=token,
                moderator=user,
                claim=claim,
                progress=report_progress,
            )
        notes: list[str] = []
        if report.online and unsaved:
            try:
                credentials.set(hub_token_name(user, hub_url), unsaved.pop())
                notes.append("hub token remembered in the keyring")
            except UserError as error:
                notes.append(f"hub token not remembered: {error.message}")
        mail: str | None = None
        if report.online and load_settings(home) is not None:
            try:
                mail = "mails: " + send_sendable(database, sender_for(home, credentials)).summary()
            except UserError as error:
                mail = f"mails not sent: {error.message}"
        if mail:
            notes.append(mail)
        return report, "; ".join(notes) or None

    return run


class TokenDialog(QDialog):
    """Asks for the hub token; offers to remember it only when the keyring is secure (a fail,
    null or plaintext keyring stores nothing, so the token is asked for each time)."""

    def __init__(self, user: str, hub_url: str, credentials: Credentials) -> None:
        super().__init__()
        self.setWindowTitle("Moderator Workbench")
        prompt = QLabel(f"Hub token for {user} at {hub_url}")
        prompt.setTextFormat(Qt.TextFormat.PlainText)  # the account file is not markup
        prompt.setWordWrap(True)
        self.token = QLineEdit()
        self.token.setObjectName("hubToken")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAccessibleName("Hub token")
        prompt.setBuddy(self.token)
        self.remember = QCheckBox("Remember it in the system keyring")
        self.remember.setObjectName("rememberToken")
        self.remember.setToolTip(
            f"Stored by {credentials.describe()} once the hub has accepted it; never in a file"
        )
        self.remember.setChecked(credentials.secure)
        self.remember.setVisible(credentials.secure)
        layout = QVBoxLayout(self)
        layout.addWidget(prompt)
        layout.addWidget(self.token)
        layout.addWidget(self.remember)
        if not credentials.secure:
            why = QLabel(credentials.no_storage_message())
            why.setTextFormat(Qt.TextFormat.PlainText)
            why.setWordWrap(True)
            layout.addWidget(why)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def answer(self) -> tuple[str | None, bool]:
        """(token or None, whether to remember it)."""
        token = self.token.text().strip()
        return (token or None), bool(token) and self.remember.isChecked()


def _ask_token(user: str, hub_url: str, credentials: Credentials) -> tuple[str | None, bool]:
    dialog = TokenDialog(user, hub_url, credentials)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None, False
    return dialog.answer()


def show_error(message: str) -> None:
    """A UserError as a message box, its text plain (it may quote a hub's answer)."""
    box = QMessageBox(QMessageBox.Icon.Critical, "Moderator Workbench", message)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()


def open_workbench(
    home: Path,
    *,
    keyring_backend: KeyringBackend | None = None,
    token: str | None = None,
    ask_token: bool = True,
    charter_dir: Path | None = None,
    templates_dir: Path | None = None,
) -> MainWindow:
    """Open the window for the account logged in at `home` (a QApplication must exist).

    The caller closes `window.services.database` after closing the window.
    The hub token comes from `token`, else the keyring, else (if `ask_token`) a password dialog;
    without one the window works offline on the cache. Raises UserError when `home` has no account.
    """
    account = require_account(home)
    credentials = Credentials(keyring_backend if keyring_backend is not None else default_backend())
    if token is None:
        token = credentials.get(hub_token_name(account.user, account.hub_url))
    remember = False
    if token is None and ask_token:
        token, remember = _ask_token(account.user, account.hub_url, credentials)
    charter = load_charter(charter_dir or default_charter_dir())
    # As core.mail.render.default_templates_dir; the renderer itself loads on first use.
    templates = templates_dir or project_root() / "templates" / "mail"
    database = open_database(cache_path(home))
    try:
        services = WorkbenchServices(
            home=home,
            database=database,
            moderator=account.user,
            role=account.role,
            charter=charter,
            hub_url=account.hub_url,
            templates_dir=templates,
            sync_runner=(
                make_sync_runner(
                    home,
                    database,
                    credentials,
                    account.hub_url,
                    account.user,
                    token,
                    remember_token=remember,
                )
                if token
                else None
            ),
        )
        window = MainWindow(services, WorkbenchSettings(home))
    except BaseException:
        database.close()
        raise
    return window


def preload() -> None:
    """Load what the first decision needs once the window is up, so it is instant too."""
    import moderator_app.core.mail.outbox
    import moderator_app.core.triage  # noqa: F401


def run_workbench(
    home: Path,
    *,
    keyring_backend: KeyringBackend | None = None,
    argv: Sequence[str] | None = None,
) -> int:
    """Open the workbench for the account in `home` and run until it is closed. Exit code.

    Raises UserError (before any window appears) when `home` has no account logged in.
    """
    require_account(home)
    app = application(argv if argv is not None else sys.argv[:1])
    try:
        window = open_workbench(home, keyring_backend=keyring_backend)
    except UserError as error:
        show_error(error.message)
        raise
    try:
        window.show()
        QTimer.singleShot(0, window.request_sync)
        QTimer.singleShot(100, preload)
        return int(app.exec())
    finally:
        window.close()
        window.services.database.close()
