"""The PySide6 workbench: a thin layer of widgets over moderator_app.core."""
