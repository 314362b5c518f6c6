"""Reading proposals from a CSV file (with a header row) or a JSON Lines file.

Each bad row is reported with its line number and skipped; good rows are returned for ingest.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from moderation_hub import wire

FIELDS = (
    "external_id",
    "content",
    "author_first_name",
    "author_email",
    "author_reachable",
    "language",
    "country",
    "created_at",
)
REQUIRED = frozenset({"external_id", "content", "language", "created_at"})
_TRUE = frozenset({"1", "true", "yes", "y", "oui", "t"})
_FALSE = frozenset({"", "0", "false", "no", "n", "non", "f"})


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong header, unknown format)."""


@dataclass(frozen=True)
class BadRow:
    line: int
    message: str


@dataclass
class ParsedFile:
    proposals: list[wire.IngestProposal]
    bad_rows: list[BadRow]


def read_proposals(path: Path, question: str) -> ParsedFile:
    """Parse `path` (CSV or JSON Lines, chosen by extension or by its first character)."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror or error}") from None
    header = raw.split(b"\n", 1)[0]
    if b"\x00" in header or _undecodable(header):
        # A binary file, or one in another encoding (its header is already unreadable).
        raise ImportFileError(f"{path} is not UTF-8 text; save it as UTF-8 CSV or JSON Lines")
    # Undecodable bytes further down become lone surrogates, which validation rejects row by row.
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    rows = _jsonl_rows(text) if _looks_like_jsonl(path, text) else _csv_rows(text)
    parsed = ParsedFile(proposals=[], bad_rows=[])
    first_line: dict[str, int] = {}
    for line, row in rows:
        if isinstance(row, str):
            parsed.bad_rows.append(BadRow(line, row))
            continue
        try:
            proposal = wire.IngestProposal.model_validate(
                {"author_first_name": "", **row, "question": question}
            )
        except ValidationError as error:
            parsed.bad_rows.append(BadRow(line, _describe(error)))
            continue
        if proposal.external_id in first_line:
            parsed.bad_rows.append(
                BadRow(
                    line,
                    f"external_id {proposal.external_id!r} already appears on line "
                    f"{first_line[proposal.external_id]}",
                )
            )
            continue
        first_line[proposal.external_id] = line
        parsed.proposals.append(proposal)
    return parsed


def _undecodable(data: bytes) -> bool:
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return True
    return False


def _looks_like_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix == ".csv":
        return False
    return text.lstrip().startswith("{")


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            yield number, f"not valid JSON: {error}"
            continue
        if not isinstance(value, dict):
            yield number, "each line must be a JSON object"
            continue
        yield number, value


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        raise ImportFileError(f"line 1: the header row cannot be read: {error}") from None
    header = [name.strip() for name in header]
    unknown = [name for name in header if name not in FIELDS]
    if unknown:
        raise ImportFileError(
            f"line 1: unknown column {unknown[0]!r}; the columns are: {', '.join(FIELDS)}"
        )
    missing = sorted(REQUIRED - set(header))
    if missing:
        raise ImportFileError(f"line 1: missing column {missing[0]!r}")
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, f"cannot be read as CSV: {error}"
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield start, f"has {len(cells)} cells, the header has {len(header)}"
            continue
        yield start, _csv_record(dict(zip(header, cells, strict=True)))


def _csv_record(cells: dict[str, str]) -> dict[str, Any] | str:
    record: dict[str, Any] = {}
    for name, value in cells.items():
        if name == "author_reachable":
            flag = value.strip().lower()
            if flag in _TRUE:
                record[name] = True
            elif flag in _FALSE:
                record[name] = False
            else:
                return f"author_reachable: {value!r} is not yes/no, true/false or 1/0"
        elif name in ("author_email", "country") and not value.strip():
            record[name] = None
        elif name == "author_first_name":
            record[name] = value.strip()
        else:
            record[name] = value
    record.setdefault("author_first_name", "")
    return record


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        field = ".".join(str(p) for p in item["loc"]) or "row"
        parts.append(f"{field}: {item['msg']}")
    return "; ".join(parts)
