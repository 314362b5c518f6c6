"""The moderation charter as code: model, loader, released versions, pre-checks, check, render."""

from moderator_app.core.charter.loader import (
    CharterError,
    default_charter_dir,
    load_charter,
)
from moderator_app.core.charter.model import Charter, Clause, ExampleQuestion, Problem
from moderator_app.core.charter.releases import load_charter_version

__all__ = [
    "Charter",
    "CharterError",
    "Clause",
    "ExampleQuestion",
    "Problem",
    "default_charter_dir",
    "load_charter",
    "load_charter_version",
]
