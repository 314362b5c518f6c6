"""The demo's mailbox: the refusal mails the demo's local SMTP catcher received, as plain text.

Only a demo data directory has a caught-mail folder; a real account never shows this tab. The
mails are read with the demo's own reader and shown as text (the HTML part is never rendered:
it quotes the author's words).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from moderator_app.demo.catcher import CaughtMail, list_caught_mails, read_caught_mail
from moderator_app.gui.plain_text import neutralise, set_label_text, single_line
from moderator_app.gui.table_model import RowListModel
from moderator_app.gui.wording import count_of


class CaughtMailModel(RowListModel[CaughtMail]):
    COLUMNS = ("Received", "To", "Subject")

    def cell_text(self, mail: CaughtMail, column: int) -> str:
        if column == 0:
            return f"{mail.date:%Y-%m-%d %H:%M:%S}" if mail.date else ""
        if column == 1:
            return single_line(mail.to, 120)
        if column == 2:
            return single_line(mail.subject, 200)
        return ""


class DemoMailbox(QWidget):
    """Caught mails, newest last, and the selected one as its author would read it."""

    def __init__(self, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoMailbox")
        self.folder = folder
        self.model = CaughtMailModel(self)
        intro = QLabel(
            "Demo only: the mails the local test server received, as the authors would read "
            "them. Refusal mails leave with each sync once the hub has confirmed the decision."
        )
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        self.count = QLabel()
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setObjectName("refreshMailbox")
        self.refresh_button.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(intro, 1)
        top.addWidget(self.count)
        top.addWidget(self.refresh_button)

        self.table = QTableView()
        self.table.setObjectName("caughtMails")
        self.table.setAccessibleName("Caught mails")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(lambda _c, _p: self.show_current())
        self.reader = QPlainTextEdit()
        self.reader.setObjectName("caughtMailText")
        self.reader.setReadOnly(True)
        self.reader.setAccessibleName("The selected mail as its author reads it")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.reader)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    def refresh(self) -> None:
        mails = list_caught_mails(self.folder)
        self.model.set_rows(mails)
        set_label_text(self.count, count_of(len(mails), "mail"))
        if mails:
            self.table.selectRow(len(mails) - 1)
        else:
            self.reader.setPlainText("")

    def show_current(self) -> None:
        mail = self.model.row_at(self.table.currentIndex().row())
        if mail is None:
            self.reader.setPlainText("")
            return
        try:
            message = read_caught_mail(mail.path)
        except (OSError, ValueError) as error:
            self.reader.setPlainText(f"This mail cannot be read: {error}")
            return
        self.reader.setPlainText(neutralise(message.as_plain_text()))

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
