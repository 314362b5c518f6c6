"""One module per group of `moderator-app` subcommands.

Each module exposes `register(subparsers)`, which adds its parsers and sets `handler` on each:
a function taking the parsed arguments and returning the exit code.
"""
