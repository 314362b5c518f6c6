"""The public charter page, generated from charter.toml: self-contained HTML or Markdown.

The page participants read is produced from the same data moderators apply. Every text is escaped;
only http(s) links become links.
"""

from __future__ import annotations

import re
from html import escape as escape_attribute
from typing import Final

from moderator_app.core.charter.model import Charter
from moderator_app.core.errors import UserError
from moderator_app.core.mail.render import format_date

# Page furniture per language; a charter language without an entry uses the English words.
_LABELS: Final = {
    "fr": {
        "version": "Version {version}, en vigueur depuis le {date}.",
        "contents": "Sommaire",
        "skip": "Aller au contenu",
        "tips": "Conseils pour reformuler",
        "contest": "Contester une décision",
        "contest_link": "Formulaire de contestation",
        "canonical": "Adresse de cette charte :",
    },
    "en": {
        "version": "Version {version}, in force since {date}.",
        "contents": "Contents",
        "skip": "Skip to content",
        "tips": "Tips for rephrasing",
        "contest": "Contesting a decision",
        "contest_link": "Appeal form",
        "canonical": "Address of this charter:",
    },
}

_STYLE: Final = """
body{font-family:system-ui,sans-serif;line-height:1.5;max-width:46rem;margin:0 auto;padding:1rem;
color:#1a1a1a;background:#fff}
a{color:#0645ad}a:focus{outline:3px solid #ffbf47}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
h2{margin-top:2rem;border-bottom:1px solid #ccc}nav ul{list-style:none;padding-left:0}
.tips{border-left:4px solid #2e7d32;padding-left:1rem}
""".strip()

_SAFE_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def escape(text: str) -> str:
    """Text content for HTML: &, < and > escaped (attributes use escape_attribute)."""
    return escape_attribute(text, quote=False)


def _labels(lang: str) -> dict[str, str]:
    return _LABELS.get(lang, _LABELS["en"])


def _check_language(charter: Charter, lang: str) -> None:
    if lang not in charter.languages:
        declared = ", ".join(charter.languages)
        raise UserError(f"The charter is not written in '{lang}' (it has: {declared}).")


def _paragraphs(text: str) -> list[str]:
    return [part.strip() for part in text.split("\n\n") if part.strip()]


def render_html(charter: Charter, lang: str) -> str:
    """A complete, self-contained HTML page: landmarks, headings, table of contents."""
    _check_language(charter, lang)
    labels = _labels(lang)
    title = escape(charter.title[lang])
    version_line = labels["version"].format(
        version=charter.version, date=format_date(charter.in_force, lang)
    )
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{escape_attribute(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title} – {escape(charter.version)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f'<a class="skip" href="#main">{escape(labels["skip"])}</a>',
        "<header>",
        f"<h1>{title}</h1>",
        f"<p>{escape(version_line)}</p>",
        "</header>",
        '<nav aria-labelledby="contents-heading">',
        f'<h2 id="contents-heading">{escape(labels["contents"])}</h2>',
        "<ul>",  # clause numbers are part of the titles (and may skip values)
    ]
    for clause in charter.clauses:
        lines.append(
            f'<li><a href="#clause-{escape_attribute(clause.id)}">'
            f"{clause.number}. {escape(clause.title[lang])}</a></li>"
        )
    lines += [
        f'<li><a href="#contest">{escape(labels["contest"])}</a></li>',
        "</ul>",
        "</nav>",
        '<main id="main">',
    ]
    lines += [f"<p>{escape(part)}</p>" for part in _paragraphs(charter.introduction[lang])]
    for clause in charter.clauses:
        anchor = f"clause-{escape_attribute(clause.id)}"
        lines += [
            f'<section id="{anchor}" aria-labelledby="{anchor}-heading">',
            f'<h2 id="{anchor}-heading">{clause.number}. {escape(clause.title[lang])}</h2>',
        ]
        lines += [f"<p>{escape(part)}</p>" for part in _paragraphs(clause.text[lang])]
        lines += ['<div class="tips">', f"<h3>{escape(labels['tips'])}</h3>"]
        lines += [f"<p>{escape(part)}</p>" for part in _paragraphs(clause.tips[lang])]
        lines += ["</div>", "</section>"]
    lines += [
        '<section id="contest" aria-labelledby="contest-heading">',
        f'<h2 id="contest-heading">{escape(labels["contest"])}</h2>',
    ]
    lines += [f"<p>{escape(part)}</p>" for part in _paragraphs(charter.contest_text[lang])]
    contest_url = charter.contest_url.get(lang, "")
    if _SAFE_URL.match(contest_url):
        lines.append(
            f'<p><a href="{escape_attribute(contest_url)}">{escape(labels["contest_link"])}</a></p>'
        )
    lines += ["</section>", "</main>", "<footer>"]
    public_url = charter.public_url[lang]
    if _SAFE_URL.match(public_url):
        lines.append(
            f'<p>{escape(labels["canonical"])} <a href="{escape_attribute(public_url)}">'
            f"{escape(public_url)}</a></p>"
        )
    lines += ["</footer>", "</body>", "</html>"]
    return "\n".join(lines) + "\n"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_LINE_START_SPECIAL = re.compile(r"^(\s*)([#+\-=>]|\d+\.)", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """Text shown literally by Markdown renderers (no emphasis, links, raw HTML or headings)."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("&", "&amp;"))
    return _LINE_START_SPECIAL.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def render_markdown(charter: Charter, lang: str) -> str:
    """The same page in Markdown, for wikis and repositories."""
    _check_language(charter, lang)
    labels = _labels(lang)
    version_line = labels["version"].format(
        version=charter.version, date=format_date(charter.in_force, lang)
    )
    lines = [f"# {escape_markdown(charter.title[lang])}", "", escape_markdown(version_line), ""]
    lines += [f"## {escape_markdown(labels['contents'])}", ""]
    for clause in charter.clauses:
        # "- 1\\." keeps the charter's own numbers (a Markdown ordered list would renumber).
        lines.append(f"- {clause.number}\\. {escape_markdown(clause.title[lang])}")
    lines.append("")
    for part in _paragraphs(charter.introduction[lang]):
        lines += [escape_markdown(part), ""]
    for clause in charter.clauses:
        lines += [f"## {clause.number}. {escape_markdown(clause.title[lang])}", ""]
        for part in _paragraphs(clause.text[lang]):
            lines += [escape_markdown(part), ""]
        lines += [f"### {escape_markdown(labels['tips'])}", ""]
        for part in _paragraphs(clause.tips[lang]):
            lines += [escape_markdown(part), ""]
    lines += [f"## {escape_markdown(labels['contest'])}", ""]
    for part in _paragraphs(charter.contest_text[lang]):
        lines += [escape_markdown(part), ""]
    contest_url = charter.contest_url.get(lang, "")
    if _SAFE_URL.match(contest_url):
        lines += [f"[{escape_markdown(labels['contest_link'])}](<{contest_url}>)", ""]
    public_url = charter.public_url[lang]
    if _SAFE_URL.match(public_url):
        lines += [f"{escape_markdown(labels['canonical'])} <{public_url}>", ""]
    return "\n".join(lines)
