"""Automatic pre-checks on a proposal: findings that point the moderator at a part of the text.

Findings never decide; the moderator does. Hard rules of the submission form (length outside
12-140 characters, HTML) are "violation" findings; everything else is a "hint". Each finding names
the charter clause that declares its pre-check (`prechecks = [...]` in charter.toml), so a charter
that does not declare a pre-check does not run it.

Every pattern here runs in linear time: proposals are untrusted and may be a megabyte long.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, Protocol

if TYPE_CHECKING:
    from moderator_app.core.charter.model import Charter

Kind = Literal["violation", "hint"]

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 140
# The submission form pre-fills this start of sentence, per question language.
PREFIXES: Final[Mapping[str, str]] = {"fr": "Il faut", "en": "We should"}
# Grammatical variants of that start the "missing-prefix" hint accepts too (conditional,
# negation); the hint names the first ones. Matched case-insensitively, any run of spaces
# between the words, any apostrophe in a contraction.
PREFIX_VARIANTS: Final[Mapping[str, tuple[str, ...]]] = {
    "fr": ("Il faudrait", "Il ne faut", "Il ne faudrait"),
    "en": ("We must", "We need to", "We should not", "We shouldn't", "We mustn't"),
}
_APOSTROPHES: Final = "'\u2019\u02bc\u2018`\u00b4\u2032"
_PREFIX_PATTERNS: Final[Mapping[str, re.Pattern[str]]] = {
    "fr": re.compile(r"il\s+(?:ne\s+)?(?:faut|faudrait)(?!\w)", re.IGNORECASE),
    "en": re.compile(
        rf"we\s+(?:should(?:n[{_APOSTROPHES}]t)?|must(?:n[{_APOSTROPHES}]t)?|need\s+to)(?!\w)",
        re.IGNORECASE,
    ),
}
# A missed prefix highlights the text's first words, as many as the prefix has, within this many
# characters (a proposal may be one megabyte-long word).
_PREFIX_SPAN_LIMIT: Final = 40
DUPLICATE_THRESHOLD: Final = 0.8

PRECHECK_KINDS: Final[Mapping[str, Kind]] = {
    "too-short": "violation",
    "too-long": "violation",
    "html": "violation",
    "missing-prefix": "hint",
    "url": "hint",
    "email": "hint",
    "phone": "hint",
    "all-caps": "hint",
    "hashtag-or-mention": "hint",
    "repeated-punctuation": "hint",
    "possible-duplicate": "hint",
}
PRECHECK_NAMES: Final = frozenset(PRECHECK_KINDS)

# Every message a moderator sees, in one place. Placeholders are filled with str.format.
MESSAGES: Final[Mapping[str, str]] = {
    "too-short": "Too short: {length} characters (the form requires at least {minimum}).",
    "too-long": "Too long: {length} characters (the form allows at most {maximum}).",
    "html": "HTML markup: the form accepts plain text only.",
    "missing-prefix": (
        'Does not start with "{prefix}" (or {variants}), the start the form pre-fills.'
    ),
    "url": "Web address: links are not published.",
    "email": "E-mail address: contact details are not published.",
    "phone": "Phone number: contact details are not published.",
    "all-caps": "Written in capital letters.",
    "hashtag-or-mention": 'Symbol "{symbol}": hashtags and mentions are hard to read.',
    "repeated-punctuation": "Repeated punctuation.",
    "possible-duplicate": "Possibly a duplicate ({percent}% similar) of: {other}",
}


class QuestionLike(Protocol):
    """What the pre-checks need to know about the question a proposal answers."""

    @property
    def language(self) -> str: ...


@dataclass(frozen=True)
class Finding:
    """Something a pre-check noticed, with the span of `content` to highlight."""

    clause_id: str
    kind: Kind
    start: int
    end: int
    message: str
    check: str  # the pre-check name, e.g. "url"
    related: int | None = None  # possible-duplicate: index of the similar text among `others`


Span = tuple[int, int, str]  # start, end, message

_HTML = re.compile(
    r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"
    r"|<!--"
    r"|&(?:[A-Za-z][A-Za-z0-9]{1,9}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|(?<![\w.@/-])(?:[A-Za-z0-9-]+\.)+(?:fr|com|org|net|eu|info|io)\b"
    r"(?:/[^\s<>\"']*)?",
    re.ASCII | re.IGNORECASE,
)
_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_PHONE = re.compile(
    r"(?<![0-9+])(?:\+[0-9]{2,3}[ .-]?(?:\(0\)[ .-]?)?|0)[1-9](?:[ .-]?[0-9]{2}){4}(?![0-9])"
)
_SYMBOL = re.compile(r"[#@]\w*")
_REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}|\.{4,}|…{2,}|([,;:])\1+")
_WORD = re.compile(r"[^\W\d_]+")
_NOT_ALNUM = re.compile(r"[\W_]+")
_CAPS_RUN_WORDS = 3
# A moderator needs a few highlights, not a million: each pre-check reports at most this many.
MAX_FINDINGS_PER_CHECK: Final = 20


def run_prechecks(
    content: str,
    question: QuestionLike,
    *,
    charter: Charter,
    others: DuplicateIndex | Iterable[str] = (),
) -> list[Finding]:
    """Findings for `content`, ordered by position. `others`: the other proposals' texts."""
    findings: list[Finding] = []
    for check, spans in _spans_by_check(content, question.language):
        clause = charter.clause_for_precheck(check)
        if clause is None:
            continue
        for start, end, message in spans:
            findings.append(Finding(clause.id, PRECHECK_KINDS[check], start, end, message, check))
    duplicate_clause = charter.clause_for_precheck("possible-duplicate")
    if duplicate_clause is not None:
        index = others if isinstance(others, DuplicateIndex) else DuplicateIndex(others)
        for position, similarity in index.similar(content)[:3]:
            other = _printable(index.texts[position], limit=80)
            message = MESSAGES["possible-duplicate"].format(
                percent=math.floor(similarity * 100), other=f"“{other}”"
            )
            findings.append(
                Finding(
                    duplicate_clause.id,
                    "hint",
                    0,
                    len(content),
                    message,
                    "possible-duplicate",
                    related=position,
                )
            )
    findings.sort(key=lambda f: (f.start, f.end, f.check))
    return findings


def _matches(pattern: re.Pattern[str], content: str, message: str) -> list[Span]:
    found = itertools.islice(pattern.finditer(content), MAX_FINDINGS_PER_CHECK)
    return [(match.start(), match.end(), message) for match in found]


def _spans_by_check(content: str, language: str) -> Iterator[tuple[str, list[Span]]]:
    yield "too-short", _too_short(content)
    yield "too-long", _too_long(content)
    yield "html", _matches(_HTML, content, MESSAGES["html"])
    yield "missing-prefix", _missing_prefix(content, language)
    emails = [(start, end, MESSAGES["email"]) for start, end in _emails(content)]
    urls = _matches(_URL, content, MESSAGES["url"])
    yield "url", [url for url in urls if not _inside(url, emails)]
    yield "email", emails
    yield "phone", _matches(_PHONE, content, MESSAGES["phone"])
    yield "all-caps", _all_caps(content)
    yield "hashtag-or-mention", _symbols(content, urls + emails)
    yield (
        "repeated-punctuation",
        _matches(_REPEATED_PUNCTUATION, content, MESSAGES["repeated-punctuation"]),
    )


def _inside(span: Span, others: list[Span]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end, _ in others)


def _too_short(content: str) -> list[Span]:
    length = len(content.strip())
    if length >= MIN_LENGTH:
        return []
    message = MESSAGES["too-short"].format(length=length, minimum=MIN_LENGTH)
    return [(0, len(content), message)]


def _too_long(content: str) -> list[Span]:
    stripped = content.strip()
    if len(stripped) <= MAX_LENGTH:
        return []
    lead = len(content) - len(content.lstrip())
    message = MESSAGES["too-long"].format(length=len(stripped), maximum=MAX_LENGTH)
    # Highlight what goes beyond the limit.
    return [(lead + MAX_LENGTH, lead + len(stripped), message)]


def _missing_prefix(content: str, language: str) -> list[Span]:
    prefix = PREFIXES.get(language)
    pattern = _PREFIX_PATTERNS.get(language)
    if prefix is None or pattern is None:
        return []
    lead = len(content) - len(content.lstrip())
    if pattern.match(content, lead):
        return []
    # Highlight the words standing where the prefix should be.
    window = content[lead : lead + _PREFIX_SPAN_LIMIT]
    words = list(itertools.islice(re.finditer(r"\S+", window), len(prefix.split())))
    end = lead + (words[-1].end() if words else 0)
    shown = ", ".join(f'"{variant}"' for variant in PREFIX_VARIANTS[language][:2])
    message = MESSAGES["missing-prefix"].format(prefix=prefix, variants=shown)
    return [(lead, end, message)]


def _emails(content: str) -> list[tuple[int, int]]:
    """E-mail addresses, found by growing outwards from each "@" (bounded, so linear)."""
    spans: list[tuple[int, int]] = []
    position = content.find("@")
    while position != -1 and len(spans) < MAX_FINDINGS_PER_CHECK:
        start = position
        while start > 0 and position - start < 64 and content[start - 1] in _EMAIL_LOCAL:
            start -= 1
        end = position + 1
        while end < len(content) and end - position < 255 and content[end] in _EMAIL_DOMAIN:
            end += 1
        domain = content[position + 1 : end].rstrip(".-")
        end = position + 1 + len(domain)
        labels = domain.split(".")
        if (
            start < position
            and len(labels) >= 2
            and all(labels)
            and labels[-1].isalpha()
            and len(labels[-1]) >= 2
        ):
            spans.append((start, end))
            position = content.find("@", end)
        else:
            position = content.find("@", position + 1)
    return spans


def _all_caps(content: str) -> list[Span]:
    """Runs of at least three words in capitals (acronyms alone, like SPIP, are fine)."""
    spans: list[Span] = []
    run: list[re.Match[str]] = []

    def close_run() -> None:
        if len(run) >= _CAPS_RUN_WORDS and len(spans) < MAX_FINDINGS_PER_CHECK:
            spans.append((run[0].start(), run[-1].end(), MESSAGES["all-caps"]))
        run.clear()

    for word in _WORD.finditer(content):
        if len(word.group()) >= 2 and word.group().isupper():
            run.append(word)
        else:
            close_run()
    close_run()
    return spans


def _symbols(content: str, exempt: list[Span]) -> list[Span]:
    spans: list[Span] = []
    for match in _SYMBOL.finditer(content):
        span = (match.start(), match.end(), MESSAGES["hashtag-or-mention"])
        if not _inside(span, exempt):
            message = MESSAGES["hashtag-or-mention"].format(symbol=match.group()[0])
            spans.append((span[0], span[1], message))
            if len(spans) == MAX_FINDINGS_PER_CHECK:
                break
    return spans


def _printable(text: str, *, limit: int) -> str:
    """Untrusted text fit for a one-line message: no control or bidi characters, capped."""
    cleaned = " ".join(
        "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n").split()
    )
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def normalize_for_duplicates(text: str) -> str:
    """Lower case, no accents, no punctuation, no form prefix: what two duplicates share."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    words = _NOT_ALNUM.sub(" ", bare).split()
    for prefix in PREFIXES.values():
        prefix_words = prefix.casefold().split()
        if words[: len(prefix_words)] == prefix_words:
            words = words[len(prefix_words) :]
            break
    return " ".join(words)


def _shingles(normalized: str) -> frozenset[str]:
    padded = f" {normalized} "
    if len(padded) <= 3:
        return frozenset({padded}) if normalized else frozenset()
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


class DuplicateIndex:
    """Other proposals' texts, indexed to find near-identical ones quickly.

    Similarity is the Jaccard index of character trigrams of the normalised texts. Candidates
    come from an inverted index probed with the query's rarest trigrams ("prefix filtering"): a
    text sharing at least `threshold` of the trigrams must share one of those, so nothing is missed.
    """

    def __init__(self, texts: Iterable[str] = (), threshold: float = DUPLICATE_THRESHOLD) -> None:
        self.threshold = threshold
        self.texts: list[str] = []
        self._shingles: list[frozenset[str]] = []
        self._postings: dict[str, list[int]] = {}
        for text in texts:
            self.add(text)

    def add(self, text: str) -> int:
        """Index one more text; returns its position in `texts`."""
        position = len(self.texts)
        shingles = _shingles(normalize_for_duplicates(text))
        self.texts.append(text)
        self._shingles.append(shingles)
        for shingle in shingles:
            self._postings.setdefault(shingle, []).append(position)
        return position

    def similar(self, text: str) -> list[tuple[int, float]]:
        """(position, similarity) of indexed texts at least `threshold` similar, best first."""
        query = _shingles(normalize_for_duplicates(text))
        if not query:
            return []
        ordered = sorted(query, key=lambda s: (len(self._postings.get(s, ())), s))
        overlap_needed = max(1, math.ceil(self.threshold * len(query) - 1e-9))
        probe = ordered[: len(query) - overlap_needed + 1]
        candidates = {position for s in probe for position in self._postings.get(s, ())}
        # Jaccard >= t also bounds the other set's size: t*|x| <= |y| <= |x|/t.
        smallest = self.threshold * len(query) - 1e-9
        largest = len(query) / self.threshold + 1e-9 if self.threshold > 0 else math.inf
        results: list[tuple[int, float]] = []
        for position in candidates:
            other = self._shingles[position]
            if not smallest <= len(other) <= largest:
                continue
            shared = len(query & other)
            similarity = shared / (len(query) + len(other) - shared)
            if similarity >= self.threshold:
                results.append((position, similarity))
        results.sort(key=lambda item: (-item[1], item[0]))
        return results
