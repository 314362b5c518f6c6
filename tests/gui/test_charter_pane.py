"""The charter pane: numbered clauses, marks from pre-checks, details on selection."""

from __future__ import annotations

from PySide6.QtCore import Qt

from moderator_app.gui.charter_pane import CharterPane, ClauseIdRole, ClauseListModel, ClauseView

CLAUSES = [
    ClauseView(
        "incomprehensible", 1, "Incompréhensible", "Sens clair.", "Relisez-vous.", "refusal"
    ),
    ClauseView(
        "off-topic",
        2,
        "Hors sujet",
        "Répond à la question.",
        "Restez sur la question.",
        "refusal",
        examples_accept=("Il faut former les détenus",),
        examples_refuse=("Il faut baisser les impôts",),
    ),
    ClauseView("insults", 7, "<b>Insultes</b>", "Respect.", "", "refusal"),
]


def test_clause_model_passes_the_model_tester(qtmodeltester) -> None:
    model = ClauseListModel()
    model.set_clauses(CLAUSES)
    model.set_marked(["off-topic"])
    qtmodeltester.check(model)


def test_marked_clauses_are_flagged(qtbot) -> None:
    model = ClauseListModel()
    model.set_clauses(CLAUSES)
    model.set_marked(["off-topic"])
    flagged = model.index(1)
    plain = model.index(0)
    assert model.data(flagged, Qt.ItemDataRole.DisplayRole).endswith("⚠")
    assert model.data(flagged, Qt.ItemDataRole.FontRole).bold()
    assert model.data(plain, Qt.ItemDataRole.FontRole) is None
    assert model.data(flagged, ClauseIdRole) == "off-topic"


def test_selecting_a_clause_shows_text_tips_and_examples(qtbot) -> None:
    pane = CharterPane()
    qtbot.addWidget(pane)
    pane.set_charter(CLAUSES, "1.0.0")
    pane.select_clause("off-topic")
    details = pane.details.toPlainText()
    assert "2. Hors sujet" in details
    assert "Restez sur la question." in details
    assert "✓ Il faut former les détenus" in details
    assert "✗ Il faut baisser les impôts" in details


def test_marking_shows_the_first_flagged_clause(qtbot) -> None:
    pane = CharterPane()
    qtbot.addWidget(pane)
    pane.set_charter(CLAUSES, "1.0.0")
    pane.set_marked(["insults"])
    assert pane.current_clause() == CLAUSES[2]
    assert pane.details.toPlainText().startswith("7. <b>Insultes</b>")


def test_activating_a_clause_asks_to_refuse_citing_it(qtbot) -> None:
    pane = CharterPane()
    qtbot.addWidget(pane)
    pane.set_charter(CLAUSES, "1.0.0")
    pane.select_clause("off-topic")
    with qtbot.waitSignal(pane.clauseActivated) as blocker:
        pane.list.activated.emit(pane.model.index(1))
    assert blocker.args == ["off-topic"]


def test_without_findings_no_clause_is_selected(qtbot) -> None:
    pane = CharterPane()
    qtbot.addWidget(pane)
    pane.set_charter(CLAUSES, "1.0.0")
    assert pane.current_clause() is None  # not the first clause, as if a pre-check pointed at it
    pane.set_marked(["off-topic"])
    assert pane.current_clause() == CLAUSES[1]
    pane.set_marked([])
    assert pane.current_clause() is None
    assert not pane.list.selectionModel().hasSelection()
    assert "No pre-check points to a clause" in pane.details.toPlainText()


def test_the_details_headings_follow_the_language_of_the_clauses(qtbot) -> None:
    from moderator_app.core.charter import default_charter_dir, load_charter
    from moderator_app.gui.charter_pane import clause_views

    charter = load_charter(default_charter_dir())
    pane = CharterPane()
    qtbot.addWidget(pane)
    for language, tips, other in (
        ("fr", "Conseils pour l'auteur :", "Tips for the author:"),
        ("en", "Tips for the author:", "Conseils pour l'auteur :"),
    ):
        clauses = clause_views(charter, language)
        pane.set_charter(clauses, charter.version)
        pane.select_clause(clauses[0].id)
        details = pane.details.toPlainText()
        assert tips in details
        assert other not in details
        assert pane.heading.text().endswith("French" if language == "fr" else "English")
        assert "controls stay in English" in pane.heading.toolTip()
    # A language the charter lacks shows its first language, headings included.
    assert {view.language for view in clause_views(charter, "de")} == {charter.languages[0]}
