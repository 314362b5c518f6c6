"""The published charter page is generated from charter.toml, accessible and self-contained."""

from __future__ import annotations

import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from moderator_app.cli import main
from moderator_app.core.charter import Charter, default_charter_dir, load_charter
from moderator_app.core.charter.loader import build_charter
from moderator_app.core.charter.render import escape_markdown, render_html, render_markdown
from tests.charter.conftest import MINIMAL_CHARTER

SHIPPED = load_charter(default_charter_dir())


class Page(HTMLParser):
    """Records the element tree as (path of open tags, tag, attributes) and the text per path."""

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.elements: list[tuple[tuple[str, ...], str, dict[str, str | None]]] = []
        self.texts: list[tuple[tuple[str, ...], str]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tuple(self.stack), tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append((tuple(self.stack), data.strip()))

    def tags(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for _, name, attrs in self.elements if name == tag]

    def text_in(self, tag: str) -> list[str]:
        return [text for path, text in self.texts if path and path[-1] == tag]

    def within(self, landmark: str, tag: str) -> list[dict[str, str | None]]:
        return [attrs for path, name, attrs in self.elements if name == tag and landmark in path]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_html_page_is_well_formed_and_in_the_right_language(lang: str) -> None:
    page = Page(render_html(SHIPPED, lang))
    assert page.stack == []  # every element closed
    assert page.tags("html") == [{"lang": lang}]
    assert page.tags("meta")[0] == {"charset": "utf-8"}
    assert page.text_in("title") == [f"{SHIPPED.title[lang]} – 1.0.1"]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_html_page_has_landmarks_and_one_heading_per_clause(lang: str) -> None:
    page = Page(render_html(SHIPPED, lang))
    for landmark in ("header", "nav", "main", "footer"):
        assert len(page.tags(landmark)) == 1
    assert page.text_in("h1") == [SHIPPED.title[lang]]
    assert page.within("header", "h1")
    clause_headings = [f"{c.number}. {c.title[lang]}" for c in SHIPPED.clauses]
    h2 = page.text_in("h2")
    assert h2[1:-1] == clause_headings  # between "contents" and "contest"
    assert len(page.text_in("h3")) == len(SHIPPED.clauses)  # tips under each clause


def test_table_of_contents_links_to_every_clause_and_targets_exist() -> None:
    page = Page(render_html(SHIPPED, "fr"))
    links = [attrs["href"] for attrs in page.within("nav", "a")]
    ids = {attrs["id"] for _, _, attrs in page.elements if attrs.get("id")}
    assert links == [f"#clause-{c.id}" for c in SHIPPED.clauses] + ["#contest"]
    assert all(link is not None and link[1:] in ids for link in links)
    for section in page.tags("section"):
        assert section["aria-labelledby"] in ids


def test_html_page_is_self_contained() -> None:
    page = Page(render_html(SHIPPED, "en"))
    assert page.tags("script") == []
    assert page.tags("link") == []
    assert all("src" not in attrs for _, _, attrs in page.elements)
    assert len(page.tags("style")) == 1


def _hostile_charter() -> Charter:
    data = tomllib.loads(MINIMAL_CHARTER.read_text())
    data["clause"][0]["title"]["fr"] = "<script>alert(1)</script> & *gras*"
    data["clause"][0]["text"]["fr"] = '"><img src=x onerror=alert(1)>'
    data["contest_url"]["fr"] = "javascript:alert(1)"
    charter, problems = build_charter(data, MINIMAL_CHARTER)
    # The loader refuses the link; the page must stay safe even for a charter built regardless.
    assert [p.message for p in problems] == [
        "contest_url in fr must be an http(s) address without spaces"
    ]
    return charter


def test_html_escapes_every_text_and_drops_unsafe_links() -> None:
    html = render_html(_hostile_charter(), "fr")
    page = Page(html)
    assert page.tags("script") == []
    assert page.tags("img") == []
    assert "1. <script>alert(1)</script> & *gras*" in page.text_in("h2")
    assert '"><img src=x onerror=alert(1)>' in page.text_in("p")
    assert all("javascript:" not in (attrs.get("href") or "") for attrs in page.tags("a"))


def test_markdown_page_has_headings_contents_and_contest() -> None:
    markdown = render_markdown(SHIPPED, "fr")
    lines = markdown.splitlines()
    assert lines[0] == "# Charte de modération"
    assert "Version 1.0.1, en vigueur depuis le 1er décembre 2026." in lines
    assert [line for line in lines if line.startswith("## ")] == [
        "## Sommaire",
        *[f"## {c.number}. {c.title['fr']}" for c in SHIPPED.clauses],
        "## Contester une décision",
    ]
    assert (
        "[Formulaire de contestation](<https://platform.example/fr/contester-une-moderation>)"
        in lines
    )


def test_markdown_escapes_markup() -> None:
    markdown = render_markdown(_hostile_charter(), "fr")
    assert "## 1. \\<script\\>alert(1)\\</script\\> &amp; \\*gras\\*" in markdown.splitlines()
    assert "javascript:" not in markdown
    assert (
        escape_markdown("# pas un titre\n- pas une liste") == "\\# pas un titre\n\\- pas une liste"
    )


def test_render_command_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "charte.html"
    assert main(["charter", "render", "--format", "html", "--lang", "fr", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render_html(SHIPPED, "fr")
    assert main(["charter", "render", "--format", "markdown", "--lang", "en"]) == 0
    assert capsys.readouterr().out == render_markdown(SHIPPED, "en")


def test_render_command_refuses_a_language_the_charter_lacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["charter", "render", "--lang", "de"]) == 1
    assert capsys.readouterr().err == (
        "moderator-app: The charter is not written in 'de' (it has: fr, en).\n"
    )


def test_render_command_reports_an_unwritable_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing-dir" / "charte.html"
    assert main(["charter", "render", "--lang", "fr", "--out", str(out)]) == 1
    assert capsys.readouterr().err.startswith(f"moderator-app: Cannot write {out}")


def test_contents_keep_the_charter_numbers() -> None:
    lines = render_markdown(SHIPPED, "en").splitlines()
    assert lines[lines.index("## Contents") + 2 : lines.index("## Contents") + 4] == [
        "- 1\\. Incomprehensible proposal",
        "- 2\\. Off-topic",
    ]
    page = Page(render_html(SHIPPED, "fr"))
    assert len(page.within("nav", "ul")) == 1
    assert page.within("nav", "ol") == []


def test_text_keeps_apostrophes_readable_in_the_source() -> None:
    assert "l'équipe de modération" in render_html(SHIPPED, "fr")
