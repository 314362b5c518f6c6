"""The proposal pane and the decision bar, on their own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLineEdit

from moderator_app.gui.charter_pane import ClauseView
from moderator_app.gui.decision_bar import DecisionBar
from moderator_app.gui.plain_text import neutralise, plain_tooltip
from moderator_app.gui.proposal_pane import ProposalPane
from moderator_app.gui.queue_model import QueueRow
from tests.gui.conftest import T0


@dataclass(frozen=True)
class Finding:
    clause_id: str
    kind: str
    start: int
    end: int
    message: str


def row(content: str, name: str = "Zoé") -> QueueRow:
    return QueueRow(
        id=1,
        version=1,
        question="insertion",
        language="fr",
        content=content,
        author_first_name=name,
        created_at=T0,
        status="pending",
    )


CLAUSES = [
    ClauseView(f"clause-{number}", number, f"Titre {number}", "Texte", "Conseil", "refusal")
    for number in range(1, 13)
]


def test_findings_are_highlighted_on_the_right_characters_despite_controls(qtbot) -> None:
    pane = ProposalPane()
    qtbot.addWidget(pane)
    content = "😀 \u202eIl faut\r\n visiter www.example.org"
    start = content.index("www")
    finding = Finding("advertising", "hint", start, len(content), "Contains a URL")
    pane.show_row(row(content), [finding], {"advertising": "5. Publicité"}, now=T0)
    assert pane.content.toPlainText() == neutralise(content)
    assert pane.highlighted_texts() == ["www.example.org"]
    assert pane.findings.item(0).text() == "? Contains a URL — 5. Publicité"


def test_out_of_range_spans_never_crash(qtbot) -> None:
    pane = ProposalPane()
    qtbot.addWidget(pane)
    findings = [Finding("x", "violation", 5, 500, "too long"), Finding("x", "hint", 9, 2, "odd")]
    pane.show_row(row("Il faut"), findings, now=T0)
    assert pane.highlighted_texts() == ["ut"]


def test_untrusted_name_and_text_stay_plain(qtbot) -> None:
    pane = ProposalPane()
    qtbot.addWidget(pane)
    pane.show_row(row("<b>Il faut</b>", name="<i>Bob</i>\r\nBcc: x"), now=T0 + timedelta(hours=50))
    assert isinstance(pane.author, QLineEdit)  # a line edit never interprets markup
    assert pane.author.isReadOnly()
    assert pane.author.text() == "<i>Bob</i> ⏎ Bcc: x"
    assert pane.content.toPlainText() == "<b>Il faut</b>"
    # The age against the promise and the language first: a narrow pane elides the date.
    assert (
        pane.submitted.full_text() == "50 h ago, over the 48 h promise · fr · 2026-11-01 08:00 UTC"
    )


def test_a_long_question_ends_with_an_ellipsis_and_shows_whole_in_its_tooltip(qtbot) -> None:
    pane = ProposalPane()
    qtbot.addWidget(pane)
    pane.resize(420, 600)
    pane.show()
    title = "Comment améliorer l'insertion <b>professionnelle</b> des personnes condamnées ?"
    pane.show_row(row("Il faut"), question_title=title, now=T0)
    field = pane.question
    shown = field.text()
    assert shown.endswith("…")
    assert len(shown) < len(title)
    assert field.fontMetrics().horizontalAdvance(shown) <= field.contentsRect().width()
    assert "&lt;b&gt;professionnelle&lt;/b&gt;" in field.toolTip()  # escaped, all of it
    assert "condamnées ?" in field.toolTip()
    assert field.accessibleDescription() == title
    pane.resize(1600, 600)
    qtbot.waitUntil(lambda: field.text() == title)
    assert field.toolTip() == ""


def test_refusal_digits_pick_clauses_and_enter_confirms(qtbot) -> None:
    bar = DecisionBar()
    qtbot.addWidget(bar)
    bar.show()
    previews = []

    def preview(clause_id: str, note: str) -> str:
        previews.append((clause_id, note))
        return f"Subject: refus {clause_id}\n\n{note}"

    bar.start_refusal(CLAUSES, ["clause-3"], preview)
    panel = bar.refusal
    qtbot.keyClick(panel.clauses, Qt.Key.Key_1)
    assert panel.current_clause().number == 1
    qtbot.keyClick(panel.clauses, Qt.Key.Key_1)
    assert panel.current_clause().number == 11
    qtbot.keyClick(panel.clauses, Qt.Key.Key_7)  # no clause 117: starts again at 7
    assert panel.current_clause().number == 7
    assert panel.preview.toPlainText().startswith("Subject: refus clause-7")
    panel.note.setFocus()
    qtbot.keyClicks(panel.note, "Merci 42 <b>")
    assert panel.current_clause().number == 7  # digits in the note are text
    assert previews[-1] == ("clause-7", "Merci 42 <b>")
    with qtbot.waitSignal(panel.confirmed) as blocker:
        qtbot.keyClick(panel.note, Qt.Key.Key_Return)
    assert blocker.args == ["clause-7", "Merci 42 <b>"]


def test_escape_cancels_the_refusal(qtbot) -> None:
    bar = DecisionBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.start_refusal(CLAUSES, [], lambda clause, note: "")
    assert bar.mode() == DecisionBar.REFUSING
    qtbot.keyClick(bar.refusal.clauses, Qt.Key.Key_Escape)
    assert bar.mode() == DecisionBar.IDLE


def test_enter_without_a_clause_does_not_refuse(qtbot) -> None:
    bar = DecisionBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.start_refusal(CLAUSES, [], lambda clause, note: "")
    with qtbot.assertNotEmitted(bar.refusal.confirmed):
        qtbot.keyClick(bar.refusal.clauses, Qt.Key.Key_Return)
    assert "Pick a clause" in bar.refusal.preview.toPlainText()


def test_correction_ctrl_enter_accepts_the_edited_text(qtbot) -> None:
    bar = DecisionBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.start_correction("Il faut former")
    qtbot.keyClicks(bar.correction.editor, " les detenus")
    with qtbot.waitSignal(bar.correction.confirmed) as blocker:
        qtbot.keyClick(
            bar.correction.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
        )
    assert blocker.args == ["Il faut former les detenus"]


def test_buttons_mirror_their_actions(qtbot) -> None:
    bar = DecisionBar()
    qtbot.addWidget(bar)
    action = QAction("&Accept", bar)
    triggered = []
    action.triggered.connect(lambda: triggered.append(True))
    button = bar.add_button("accept", action)
    button.click()
    assert triggered == [True]
    action.setEnabled(False)
    assert not button.isEnabled()


def test_tooltips_of_untrusted_text_are_escaped() -> None:
    tip = plain_tooltip("<img src='/etc/passwd'> & <b>x</b>\u202e")
    assert tip.startswith("<p ")
    assert "<img" not in tip
    assert "<b>" not in tip
    assert "&lt;img src='/etc/passwd'&gt; &amp; &lt;b&gt;x&lt;/b&gt;⟦RLO⟧" in tip


def test_a_finding_repeated_per_tag_is_listed_once_and_counted(qtbot) -> None:
    pane = ProposalPane()
    qtbot.addWidget(pane)
    content = "Il faut <b>gras</b> et <i>x</i>"
    tags = [(m.start(), m.end()) for m in re.finditer(r"<[^>]+>", content)]
    findings = [Finding("format", "violation", a, b, "HTML markup") for a, b in tags]
    findings.append(Finding("advertising", "hint", 0, 2, "Contains a URL"))
    pane.show_row(row(content), findings, {"format": "10. Format"}, now=T0)
    assert [pane.findings.item(i).text() for i in range(pane.findings.count())] == [
        "✗ HTML markup — 10. Format (×4)",
        "? Contains a URL",
    ]
    assert len(pane.highlighted_texts()) == 5  # every tag still highlighted in the text


def test_the_conflicts_table_shows_every_header_whole_at_1280_px(qtbot, tmp_path) -> None:
    from moderator_app.core.database import cache_path, open_database
    from moderator_app.gui.conflicts_view import ConflictsView

    database = open_database(cache_path(tmp_path))
    try:
        view = ConflictsView(database.session)
        qtbot.addWidget(view)
        view.resize(1280, 600)
        view.show()
        view.reload()
        header = view.table.horizontalHeader()
        metrics = header.fontMetrics()
        for column, title in enumerate(view.model.COLUMNS):
            assert header.sectionSize(column) > metrics.horizontalAdvance(title), title
    finally:
        database.close()
