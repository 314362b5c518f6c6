"""The `moderation-hub` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="moderation-hub", description="Moderation hub")
    parser.add_subparsers(dest="command")
    parser.parse_args(argv)
    return 0
