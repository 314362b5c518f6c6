"""The support console: find refusal mails, read the ledger, resend the same text.

Search by proposal id, author address, date range or state; the ledger shows the text as sent, the
template and charter version, and every attempt with the server's reply. A resend queues the same
message (to the same or a corrected address) with a reason that goes to the audit log; it leaves
with the next sync.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QDate,
    Qt,
    Signal,
)
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from moderator_app.core.errors import UserError
from moderator_app.core.models import MAIL_STATES
from moderator_app.gui.plain_text import field_label, neutralise, set_label_text, single_line
from moderator_app.gui.table_model import RowListModel
from moderator_app.gui.wording import count_of

DATE_FORMAT = "yyyy-MM-dd"  # unambiguous in every locale, as the dates in the mail list

if TYPE_CHECKING:  # the mail modules load on first use, after the window has painted
    from moderator_app.core.mail.outbox import MailDetail, MailSummary


class MailListModel(RowListModel["MailSummary"]):
    COLUMNS = ("Created", "State", "Proposal", "To", "Subject", "Attempts")

    def cell_text(self, mail: MailSummary, column: int) -> str:
        if column == 0:
            return f"{mail.created_at:%Y-%m-%d %H:%M}"
        if column == 1:
            return f"{mail.state} (resend)" if mail.resend_of else mail.state
        if column == 2:
            return f"#{mail.proposal_id}"
        if column == 3:
            name = single_line(mail.to_name or "", 40)
            return f"{name} <{single_line(mail.to_address or '', 80)}>" if mail.to_address else name
        if column == 4:
            return single_line(mail.subject, 120)
        if column == 5:
            return str(mail.attempts)
        return ""


def ledger_text(detail: MailDetail) -> str:
    """The ledger entry of one mail as the support console shows it."""
    mail = detail.summary
    lines = [
        f"Mail {mail.id}",
        f"State: {mail.state}" + (f" — {mail.last_error}" if mail.last_error else ""),
        f"To: {mail.to_name or ''} <{mail.to_address or 'no address'}>",
        f"Message-ID: {detail.message_id}",
        f"Proposal #{mail.proposal_id}, decision {mail.decision_id}",
        f"Template {mail.template} ({mail.language}), clause {mail.clause_id}, "
        f"charter {mail.charter_version}",
        f"Queued {mail.created_at:%Y-%m-%d %H:%M:%S} UTC"
        + (f", sent {mail.sent_at:%Y-%m-%d %H:%M:%S} UTC" if mail.sent_at else ""),
    ]
    if mail.resend_of:
        lines.append(f"Resend of {mail.resend_of}: {mail.resend_reason}")
    if detail.resends:
        lines.append("Resent as: " + ", ".join(detail.resends))
    lines.append("")
    lines.append("Attempts:" if detail.attempts else "Attempts: none yet")
    for attempt in detail.attempts:
        code = f" {attempt.smtp_code}" if attempt.smtp_code is not None else ""
        lines.append(
            f"  {attempt.attempted_at:%Y-%m-%d %H:%M:%S} {attempt.outcome}{code}: "
            f"{single_line(attempt.smtp_reply, 300)}"
        )
    lines += ["", f"Subject: {mail.subject}", "", detail.body_text]
    return "\n".join(lines)


class SupportTab(QWidget):
    """Find, inspect and resend refusal mails."""

    changed = Signal()  # a resend was queued (the status bar's mail count changes)

    def __init__(self, services: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("supportTab")
        self.services = services
        self.model = MailListModel(self)
        self._searched = False

        self.proposal_field = QLineEdit()
        self.proposal_field.setObjectName("supportProposal")
        self.proposal_field.setPlaceholderText("Proposal id")
        self.proposal_field.setAccessibleName("Find mails by proposal id")
        self.email_field = QLineEdit()
        self.email_field.setObjectName("supportEmail")
        self.email_field.setPlaceholderText("Author address")
        self.email_field.setAccessibleName("Find mails by author address")
        self.use_dates = QCheckBox("Between")
        self.use_dates.setObjectName("supportUseDates")
        self.since_field = QDateEdit(QDate.currentDate().addDays(-30))
        self.since_field.setObjectName("supportSince")
        self.since_field.setCalendarPopup(True)
        self.since_field.setDisplayFormat(DATE_FORMAT)
        self.since_field.setAccessibleName("From date")
        self.until_field = QDateEdit(QDate.currentDate())
        self.until_field.setObjectName("supportUntil")
        self.until_field.setCalendarPopup(True)
        self.until_field.setDisplayFormat(DATE_FORMAT)
        self.until_field.setAccessibleName("Until date")
        self.state_field = QComboBox()
        self.state_field.setObjectName("supportState")
        self.state_field.setAccessibleName("Mail state")
        self.state_field.addItem("Any state", "")
        for state in MAIL_STATES:
            self.state_field.addItem(state, state)
        self.find_button = QPushButton("&Find")
        self.find_button.setObjectName("supportFind")
        self.find_button.clicked.connect(self.find_mails)
        for field in (self.proposal_field, self.email_field):
            field.returnPressed.connect(self.find_mails)

        search_row = QHBoxLayout()
        for widget in (
            self.proposal_field,
            self.email_field,
            self.use_dates,
            self.since_field,
            self.until_field,
            self.state_field,
            self.find_button,
        ):
            search_row.addWidget(widget)

        self.table = QTableView()
        self.table.setObjectName("supportMails")
        self.table.setAccessibleName("Mails found")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column in (0, 1, 2, 5):  # dates, states, ids and counts: never cut
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(lambda _c, _p: self.show_current())

        self.ledger = QPlainTextEdit()
        self.ledger.setObjectName("supportLedger")
        self.ledger.setReadOnly(True)
        self.ledger.setAccessibleName("Ledger entry: the mail as sent and every attempt")

        self.resend_to = QLineEdit()
        self.resend_to.setObjectName("resendTo")
        self.resend_to.setAccessibleName("Resend to address")
        self.resend_reason = QLineEdit()
        self.resend_reason.setObjectName("resendReason")
        self.resend_reason.setPlaceholderText("Why (goes to the audit log)")
        self.resend_reason.setAccessibleName("Reason for the resend")
        self.resend_button = QPushButton("&Resend the same message")
        self.resend_button.setObjectName("resendButton")
        self.resend_button.clicked.connect(self.resend_current)
        self.feedback = QLabel()
        self.feedback.setObjectName("supportFeedback")
        self.feedback.setTextFormat(Qt.TextFormat.PlainText)
        self.feedback.setWordWrap(True)
        resend_form = QFormLayout()
        resend_form.addRow(field_label("Resend to:", self.resend_to), self.resend_to)
        resend_form.addRow(field_label("Reason:", self.resend_reason), self.resend_reason)
        resend_box = QWidget()
        resend_layout = QVBoxLayout(resend_box)
        resend_layout.setContentsMargins(0, 0, 0, 0)
        resend_layout.addWidget(self.ledger, 1)
        resend_layout.addLayout(resend_form)
        resend_layout.addWidget(self.resend_button)
        resend_layout.addWidget(self.feedback)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("supportSplitter")
        splitter.addWidget(self.table)
        splitter.addWidget(resend_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(search_row)
        layout.addWidget(splitter, 1)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._searched:
            self.find_mails()  # the latest mails at once, not an empty table until Find

    def find_mails(self) -> None:
        self._searched = True
        proposal_text = self.proposal_field.text().strip().lstrip("#")
        if proposal_text and not proposal_text.isdigit():
            set_label_text(self.feedback, "A proposal id is a number.")
            return
        since: date | None = None
        until: date | None = None
        if self.use_dates.isChecked():
            since = self.since_field.date().toPython()  # type: ignore[assignment]
            until = self.until_field.date().toPython()  # type: ignore[assignment]
        from moderator_app.core.mail.outbox import find_mails

        try:
            with self.services.database.session() as session:
                rows = find_mails(
                    session,
                    proposal_id=int(proposal_text) if proposal_text else None,
                    email=self.email_field.text().strip() or None,
                    since=since,
                    until=until,
                    state=self.state_field.currentData() or None,
                )
        except UserError as error:
            set_label_text(self.feedback, error.message)
            return
        self.model.set_rows(rows)
        set_label_text(self.feedback, count_of(len(rows), "mail") + " found.")
        if rows:
            self.table.selectRow(0)
        else:
            self.ledger.setPlainText("")

    def show_current(self) -> None:
        mail = self.model.row_at(self.table.currentIndex().row())
        if mail is None:
            self.ledger.setPlainText("")
            return
        from moderator_app.core.mail.outbox import mail_detail

        try:
            with self.services.database.session() as session:
                detail = mail_detail(session, mail.id)
        except UserError as error:
            set_label_text(self.feedback, error.message)
            return
        self.ledger.setPlainText(neutralise(ledger_text(detail)))
        self.resend_to.setText(mail.to_address or "")

    def resend_current(self) -> None:
        mail = self.model.row_at(self.table.currentIndex().row())
        if mail is None:
            set_label_text(self.feedback, "Pick a mail first.")
            return
        address = self.resend_to.text().strip()
        from moderator_app.core.mail.outbox import resend_mail

        try:
            with self.services.database.write() as session:
                resent = resend_mail(
                    session,
                    mail.id,
                    reason=self.resend_reason.text(),
                    actor=self.services.moderator,
                    now=self.services.now(),
                    to_address=address if address != (mail.to_address or "") else None,
                )
        except UserError as error:
            set_label_text(self.feedback, error.message)
            return
        self.resend_reason.clear()
        self.find_mails()
        set_label_text(
            self.feedback,
            f"Queued again as {resent.id[:8]} to {resent.to_address}; "
            "it leaves with the next sync.",
        )
        self.changed.emit()
