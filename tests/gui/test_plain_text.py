"""Untrusted text is shown exactly as written: no markup interpreted, no invisible controls."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit, QTextBrowser

from moderator_app.gui.plain_text import (
    ELLIPSIS,
    MAX_LABEL_CHARS,
    neutralise,
    neutralise_with_offsets,
    plain_label,
    set_document_text,
    set_label_text,
    single_line,
    utf16_offset,
)

HOSTILE = [
    "<b>bold</b> and <i>italic</i>",
    "<script>alert('x')</script>",
    "<img src='http://127.0.0.1:1/x.png'>",
    "<a href='https://evil.example'>click</a>",
    "# Markdown **title**",
    "Il faut \u202eesuoh\u202c changer",
    "zero\u200bwidth\u200c\u200d\ufeffjoin",
    "line one\r\nline two\rline three\u2028four",
    "nul\x00byte and bell\x07",
    "&lt;b&gt; entities &amp;",
]


def test_bidi_override_is_made_visible() -> None:
    shown = neutralise("abc\u202edef")
    assert "\u202e" not in shown
    assert shown == "abc⟦RLO⟧def"


def test_zero_width_and_nul_are_made_visible() -> None:
    assert neutralise("a\u200bb\x00c") == "a⟦ZWSP⟧b⟦U+0000⟧c"


def test_line_breaks_are_unified() -> None:
    assert neutralise("a\r\nb\rc\u2029d") == "a\nb\nc\nd"


def test_plain_ascii_is_unchanged_and_has_identity_offsets() -> None:
    assert neutralise_with_offsets("Il faut former") == ("Il faut former", None)


def test_offsets_map_spans_of_the_original_onto_the_shown_text() -> None:
    original = "x\u202ebad\r\nword"
    shown, offsets = neutralise_with_offsets(original)
    assert offsets is not None
    start, end = original.index("bad"), original.index("bad") + 3
    assert shown[offsets[start] : offsets[end]] == "bad"
    start = original.index("word")
    assert shown[offsets[start] : offsets[len(original)]] == "word"


def test_single_line_caps_a_megabyte_and_shows_breaks() -> None:
    huge = "é" * 1_000_000
    shown = single_line(huge)
    assert len(shown) == MAX_LABEL_CHARS + 1
    assert shown.endswith(ELLIPSIS)
    assert single_line("Bob\r\nBcc: x@example.org") == "Bob ⏎ Bcc: x@example.org"


def test_utf16_offsets_count_astral_characters_twice() -> None:
    assert utf16_offset("😀abc", 1) == 2
    assert utf16_offset("abc", 2) == 2


@pytest.mark.parametrize("text", HOSTILE)
def test_labels_show_hostile_text_as_plain_text(qtbot, text: str) -> None:
    label = plain_label(text, single=False)
    qtbot.addWidget(label)
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert label.text() == neutralise(text)
    # Someone switching the label to rich text later is undone on the next update.
    label.setTextFormat(Qt.TextFormat.AutoText)
    set_label_text(label, text, single=False)
    assert label.textFormat() == Qt.TextFormat.PlainText


@pytest.mark.parametrize("text", HOSTILE)
def test_text_views_show_hostile_text_verbatim(qtbot, text: str) -> None:
    editor = QPlainTextEdit()
    browser = QTextBrowser()
    qtbot.addWidget(editor)
    qtbot.addWidget(browser)
    set_document_text(editor, text)
    set_document_text(browser, text)
    assert editor.toPlainText() == neutralise(text)
    assert browser.toPlainText() == neutralise(text)
    # No element of the text became markup: the rendered document has no image, link or bold.
    html = browser.toHtml()
    for tag in ("<img", "<a ", "<b>", "<i>", "<script"):
        assert tag not in html
    assert "font-weight:700" not in html


def test_a_megabyte_text_view_keeps_all_of_it(qtbot) -> None:
    text = ("Il faut <b>former</b> " * 50_000)[:1_000_000]
    editor = QPlainTextEdit()
    qtbot.addWidget(editor)
    set_document_text(editor, text)
    assert editor.toPlainText() == text
