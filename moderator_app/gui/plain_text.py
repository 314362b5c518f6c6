"""Untrusted text made safe to show: never interpreted as markup, invisible controls made visible.

Proposal content, author names and notes come from strangers. Qt guesses rich text in labels
("<b>" would render bold, "<img src=...>" would load), so every widget here is forced to plain
text. Bidirectional overrides and zero-width characters can make a text read differently from
what it contains (an insult hidden by U+202E, a duplicate disguised by U+200B): they are replaced
by a visible marker such as "⟦RLO⟧" so the moderator sees exactly what was written.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QTextBrowser, QTextEdit, QWidget

# Characters that change how the surrounding text is displayed without being visible themselves.
INVISIBLE_CONTROLS: dict[str, str] = {
    "\u061c": "ALM",
    "\u200b": "ZWSP",
    "\u200c": "ZWNJ",
    "\u200d": "ZWJ",
    "\u200e": "LRM",
    "\u200f": "RLM",
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2060": "WJ",
    "\u2061": "FA",
    "\u2062": "IT",
    "\u2063": "IS",
    "\u2064": "IP",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
    "\u180e": "MVS",
    "\ufeff": "BOM",
    "\u00ad": "SHY",
}

LINE_BREAKS = ("\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c")

# Labels show names and short facts; anything longer is cut so a 1 MB "first name" cannot freeze
# the layout. The full text stays available in the scrollable content view.
MAX_LABEL_CHARS = 200
ELLIPSIS = "…"


def marker(char: str) -> str:
    """The visible stand-in for one invisible or control character."""
    name = INVISIBLE_CONTROLS.get(char)
    if name is None:
        name = f"U+{ord(char):04X}"
    return f"⟦{name}⟧"


def _needs_marker(char: str) -> bool:
    if char in INVISIBLE_CONTROLS:
        return True
    if char in "\n\t":
        return False
    category = unicodedata.category(char)
    # Cc: C0/C1 controls and NUL; Cf: other format characters; Cs: lone surrogates; Co: private use.
    return category in ("Cc", "Cf", "Cs")


def _normalise_line_breaks(text: str) -> str:
    for line_break in LINE_BREAKS:
        if line_break in text:
            text = text.replace(line_break, "\n")
    return text


def neutralise(text: str) -> str:
    """Multi-line untrusted text to show: line breaks unified, invisible controls made visible."""
    return neutralise_with_offsets(text)[0]


def neutralise_with_offsets(text: str) -> tuple[str, Sequence[int] | None]:
    """Like `neutralise`, plus where each original character ended up in the result.

    Returns (shown, offsets): offsets[i] is the index in `shown` of original character i, with one
    extra entry for the end of the text, so a span (start, end) of the original maps to
    (offsets[start], offsets[end]). offsets is None when the text was unchanged (identity).
    """
    if text.isascii() and text.isprintable():
        return text, None
    pieces: list[str] = []
    offsets: list[int] = []
    position = 0
    index = 0
    length = len(text)
    changed = False
    while index < length:
        char = text[index]
        offsets.append(position)
        if char == "\r" and index + 1 < length and text[index + 1] == "\n":
            # The CR of a CRLF pair disappears; the LF keeps the break.
            offsets.append(position)
            pieces.append("\n")
            position += 1
            index += 2
            changed = True
            continue
        if char in LINE_BREAKS:
            replacement = "\n"
        elif _needs_marker(char):
            replacement = marker(char)
        else:
            replacement = char
        if replacement != char:
            changed = True
        pieces.append(replacement)
        position += len(replacement)
        index += 1
    offsets.append(position)
    if not changed:
        return text, None
    return "".join(pieces), offsets


def single_line(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """Untrusted text for a one-line label: breaks shown as ⏎, controls visible, length capped."""
    # Cut before neutralising so a 1 MB string costs no more than a short one.
    cut = len(text) > limit
    shown = neutralise(text[:limit]).replace("\n", " ⏎ ").replace("\t", " ")
    if cut or len(shown) > limit:
        shown = shown[:limit] + ELLIPSIS
    return shown


def utf16_offset(text: str, index: int) -> int:
    """Qt counts positions in UTF-16 code units; Python in code points. Convert a Python index."""
    prefix = text[:index]
    if prefix.isascii():
        return len(prefix)
    return len(prefix) + sum(1 for char in prefix if ord(char) > 0xFFFF)


def plain_label(text: str = "", *, single: bool = True, parent: object = None) -> QLabel:
    """A QLabel that never interprets markup, showing untrusted `text` neutralised."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    set_label_text(label, text, single=single)
    return label


def plain_tooltip(text: str, limit: int = 500) -> str:
    """Tooltip text for untrusted content. Qt shows a tooltip as rich text when it guesses so;
    this one is rich text on purpose, with the content escaped, so nothing is left to guessing."""
    shown = neutralise(text[:limit]) + (ELLIPSIS if len(text) > limit else "")
    return "<p style='white-space:pre-wrap'>" + html.escape(shown, quote=False) + "</p>"


def plain_field(accessible_name: str) -> QLineEdit:
    """A read-only, frameless one-line field for untrusted facts (names, titles, dates).

    A line edit never interprets markup, and changing its text does not re-layout the window
    (a label's does), which keeps moving to the next proposal within one frame.
    """
    field = QLineEdit()
    field.setReadOnly(True)
    field.setFrame(False)
    field.setAccessibleName(accessible_name)
    field.setStyleSheet("QLineEdit { background: transparent; }")
    return field


class ElidedField(QLineEdit):
    """A plain field that ends with "…" when its text is wider than the field; the whole text
    is then its tooltip (escaped, like every tooltip of untrusted text)."""

    def __init__(self, accessible_name: str) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setFrame(False)
        self.setAccessibleName(accessible_name)
        self.setStyleSheet("QLineEdit { background: transparent; }")
        self._full = ""

    def set_full_text(self, text: str) -> None:
        self._full = single_line(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = self.contentsRect().width() - 2 * ELIDE_MARGIN
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        self.setText(shown)
        self.setCursorPosition(0)
        self.setToolTip(plain_tooltip(self._full) if shown != self._full else "")
        self.setAccessibleDescription(self._full)  # a screen reader gets it whole


ELIDE_MARGIN = 4  # QLineEdit's own text margins, so the "…" is never cut in turn


def set_field_text(field: QLineEdit, text: str) -> None:
    if isinstance(field, ElidedField):
        field.set_full_text(text)
        return
    field.setText(single_line(text))
    field.setCursorPosition(0)


def field_label(text: str, buddy: QWidget) -> QLabel:
    """A form label of our own text, plain too (no label in the app guesses rich text)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setBuddy(buddy)
    return label


def set_label_text(label: QLabel, text: str, *, single: bool = True) -> None:
    """Show untrusted text in a label, forcing plain text even if someone changed the format."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(single_line(text) if single else neutralise(text))


def set_document_text(view: QPlainTextEdit | QTextEdit | QTextBrowser, text: str) -> None:
    """Show untrusted multi-line text in a text view as plain text (no HTML, no Markdown)."""
    if isinstance(view, QTextEdit):
        view.setAcceptRichText(False)
    view.setPlainText(neutralise(text))
