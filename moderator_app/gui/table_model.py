"""What every flat table model of the window shares: named columns, and rows held in a list."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

RowT = TypeVar("RowT")

AnyIndex = QModelIndex | QPersistentModelIndex

# The roles a cell answers with its text: what is shown, and what a screen reader says.
TEXT_ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole)


class ColumnsModel(QAbstractTableModel):
    """A table with no children whose horizontal headers are `COLUMNS`."""

    COLUMNS: tuple[str, ...] = ()

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.COLUMNS[section]
        return None


class RowListModel(ColumnsModel, Generic[RowT]):
    """A table over a list of rows replaced as a whole (small lists: mails, conflicts)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowT] = []

    def set_rows(self, rows: Iterable[RowT]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> RowT | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: AnyIndex, role: int = 0) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None or role not in TEXT_ROLES:
            return None
        return self.cell_text(row, index.column())

    def cell_text(self, row: RowT, column: int) -> str:
        """The text of one cell (plain text: the views never interpret markup)."""
        raise NotImplementedError
