"""`charter check`: the shipped charter is coherent; each broken charter yields its exact line."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from moderator_app.cli import main
from moderator_app.core.charter import default_charter_dir
from moderator_app.core.charter.check import check_charter
from moderator_app.core.charter.releases import freeze_release
from moderator_app.core.paths import project_root
from tests.charter.conftest import BROKEN, FIXTURE_TEMPLATES, RELEASE_DAY


def problem_lines(charter_dir: Path, templates_dir: Path) -> list[str]:
    return [str(problem) for problem in check_charter(charter_dir, templates_dir).problems]


def test_shipped_charter_is_coherent_with_the_shipped_mail_templates() -> None:
    report = check_charter(default_charter_dir(), project_root() / "templates" / "mail")
    assert [str(p) for p in report.problems] == []
    assert report.summary.startswith("charter 1.0.1 is coherent: 12 clauses in fr, en")


def test_shipped_charter_check_command_exits_0_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["charter", "check"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "is coherent" in out


def test_minimal_fixture_is_coherent(charter_dir: Path) -> None:
    assert problem_lines(charter_dir, FIXTURE_TEMPLATES) == []


BROKEN_CASES = {
    "syntax-error": (
        "{charter}:45:8: TOML syntax error: Expected '=' after a key in a key/value pair"
    ),
    "duplicate-id": "{charter}: clause 'format': duplicate clause id (also clause #2)",
    "duplicate-number": (
        "{charter}: clause 'hard-to-read': duplicate clause number 2 (also 'format')"
    ),
    "missing-tips": "{charter}: clause 'format': missing tips in en",
    "missing-template": (
        "{charter}: clause 'off-topic': mail template 'refusal-off-topic' does not exist in "
        "{templates}"
    ),
    "unknown-precheck": "{charter}: clause 'hard-to-read': unknown pre-check 'emoji'",
    "precheck-twice": "{charter}: clause 'hard-to-read': pre-check 'url' is also declared by "
    "'format'",
    "accept-example-breaks-rule": (
        "{charter}: clause 'format': accept example "
        '"Il faut créer dans chaque établissement pénitentiaire un gu…" '
        "breaks hard rule 'too-long' of clause 'format'"
    ),
    "refuse-example-passes-rule": (
        "{charter}: clause 'format': refuse example \"Il faut former les détenus\" passes its "
        "hard rules (too-short, too-long, html)"
    ),
    "bad-version": "{charter}: 'version' must be a semantic version such as \"1.0.0\"",
}


def test_every_broken_charter_file_has_a_case() -> None:
    assert {path.stem for path in BROKEN.glob("*.toml")} == set(BROKEN_CASES)


@pytest.mark.parametrize("case", sorted(BROKEN_CASES))
def test_broken_charter_yields_exactly_its_problem_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    charter_dir = tmp_path / "charter"
    charter_dir.mkdir()
    shutil.copyfile(BROKEN / f"{case}.toml", charter_dir / "charter.toml")
    if case != "syntax-error":  # released as is: only the fault itself may be reported
        freeze_release(charter_dir, "1.0" if case == "bad-version" else "1.0.0", RELEASE_DAY)
    expected = BROKEN_CASES[case].format(
        charter=charter_dir / "charter.toml", templates=FIXTURE_TEMPLATES
    )

    exit_code = main(["charter", "check", str(charter_dir), "--templates", str(FIXTURE_TEMPLATES)])

    assert exit_code == 1
    assert capsys.readouterr().out.splitlines() == [expected]


# --- mail templates -----------------------------------------------------------------------------


def test_template_no_clause_uses(charter_dir: Path, templates_dir: Path) -> None:
    (templates_dir / "reminder.fr.txt.j2").write_text("Rappel\n{{ first_name }}\n")
    assert problem_lines(charter_dir, templates_dir) == [
        f"{templates_dir}/reminder.fr.txt.j2: mail template 'reminder' is used by no clause"
    ]


def test_layouts_and_partials_need_no_clause(charter_dir: Path, templates_dir: Path) -> None:
    (templates_dir / "_footer.fr.txt.j2").write_text("-- \n{{ charter_url }}\n")
    assert problem_lines(charter_dir, templates_dir) == []


def test_template_missing_in_one_language_names_every_clause_using_it(
    charter_dir: Path, templates_dir: Path
) -> None:
    (templates_dir / "refusal.en.html.j2").unlink()
    charter = charter_dir / "charter.toml"
    message = (
        "mail template 'refusal' lacks en: refusal.en.txt.j2 and refusal.en.html.j2 must both exist"
    )
    assert problem_lines(charter_dir, templates_dir) == [
        f"{charter}: clause '{clause}': {message}"
        for clause in ("off-topic", "format", "hard-to-read")
    ]


def test_template_using_a_variable_the_renderer_does_not_provide(
    charter_dir: Path, templates_dir: Path
) -> None:
    html = templates_dir / "refusal.fr.html.j2"
    html.write_text(html.read_text() + "<p>{{ author_email }}</p>\n")
    assert problem_lines(charter_dir, templates_dir) == [
        f"{html}: clause 'off-topic': uses variable 'author_email' that the mail renderer "
        "does not provide"
    ]


def test_unknown_variable_in_a_layout_is_reported_once_on_the_layout(
    charter_dir: Path, templates_dir: Path
) -> None:
    layout = templates_dir / "_layout.en.txt.j2"
    layout.write_text("{% block subject %}{% endblock %}\n{{ signature }}\n")
    text = templates_dir / "refusal.en.txt.j2"
    text.write_text(
        '{% extends "_layout.en.txt.j2" %}{% block subject %}{{ clause_title }}{% endblock %}'
    )
    assert problem_lines(charter_dir, templates_dir) == [
        f"{layout}: uses variable 'signature' that the mail renderer does not provide"
    ]


def test_template_failing_the_strict_render_with_sample_data(
    charter_dir: Path, templates_dir: Path
) -> None:
    # Static analysis cannot see this: first_name exists, but a string has no "nickname".
    text = templates_dir / "refusal.en.txt.j2"
    text.write_text(text.read_text() + "{{ first_name.nickname }}\n")
    lines = problem_lines(charter_dir, templates_dir)
    assert lines == [
        f"{text}: clause 'off-topic': rendering with sample data fails: Mail template "
        "refusal.en.txt.j2/.html: 'str object' has no attribute 'nickname'"
    ]


def test_template_syntax_error_names_the_line(charter_dir: Path, templates_dir: Path) -> None:
    html = templates_dir / "refusal.fr.html.j2"
    html.write_text("<p>Bonjour</p>\n<p>{{ first_name | }}</p>\n<p>{{ clause_text }}</p>\n")
    lines = problem_lines(charter_dir, templates_dir)
    assert lines == [
        f"{html}:2: clause 'off-topic': Jinja2 syntax error: "
        "expected token 'name', got 'end of print statement'"
    ]


# --- versions -----------------------------------------------------------------------------------


def test_clause_text_changed_without_a_new_version(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    charter.write_text(
        charter.read_text().replace("Allez à l'essentiel.", "Soyez bref et concret.")
    )
    assert problem_lines(charter_dir, FIXTURE_TEMPLATES) == [
        f"{charter}: clause 'format': changed since release 1.0.0 without a new charter version"
    ]


def test_comments_and_layout_are_not_content(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    charter.write_text("# A new comment.\n\n" + charter.read_text().replace(" = ", "   =   "))
    assert problem_lines(charter_dir, FIXTURE_TEMPLATES) == []


def test_header_changed_without_a_new_version(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    charter.write_text(
        charter.read_text().replace("in_force = 2026-12-01", "in_force = 2027-01-01")
    )
    assert problem_lines(charter_dir, FIXTURE_TEMPLATES) == [
        f"{charter}: header changed since release 1.0.0 without a new charter version"
    ]


def test_clause_removed_without_a_new_version(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    text = charter.read_text()
    charter.write_text(text[: text.index('[[clause]]\nid = "hard-to-read"')])
    assert problem_lines(charter_dir, FIXTURE_TEMPLATES) == [
        f"{charter}: clause 'hard-to-read': removed since release 1.0.0 without a new charter "
        "version"
    ]


def test_new_version_not_yet_released(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    charter.write_text(charter.read_text().replace('version = "1.0.0"', 'version = "1.1.0"'))
    assert problem_lines(charter_dir, FIXTURE_TEMPLATES) == [
        f"{charter}: version 1.1.0 is not released: run 'moderator-app charter release'"
    ]


def test_version_older_than_the_last_release(charter_dir: Path) -> None:
    charter = charter_dir / "charter.toml"
    charter.write_text(charter.read_text().replace('version = "1.0.0"', 'version = "0.9.0"'))
    assert problem_lines(charter_dir, FIXTURE_TEMPLATES) == [
        f"{charter}: version 0.9.0 is older than release 1.0.0"
    ]


def test_released_copy_modified_afterwards(charter_dir: Path) -> None:
    copy = charter_dir / "releases" / "1.0.0.toml"
    copy.write_text(copy.read_text().replace("Hors sujet", "Hors-sujet"))
    assert problem_lines(charter_dir, FIXTURE_TEMPLATES) == [
        f"{copy}: modified after version 1.0.0 was released"
    ]


def test_release_command_records_a_new_version_then_check_passes(
    charter_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    charter = charter_dir / "charter.toml"
    charter.write_text(
        charter.read_text()
        .replace('version = "1.0.0"', 'version = "1.1.0"')
        .replace("Allez à l'essentiel.", "Soyez bref et concret.")
    )
    templates = ["--templates", str(FIXTURE_TEMPLATES)]

    assert main(["charter", "release", str(charter_dir), "--date", "2027-01-02", *templates]) == 0
    assert (charter_dir / "releases" / "1.1.0.toml").read_text() == charter.read_text()
    assert main(["charter", "check", str(charter_dir), *templates]) == 0
    # Releasing the same version again is refused.
    assert main(["charter", "release", str(charter_dir), *templates]) == 1
    assert "already released" in capsys.readouterr().err


def test_release_command_refuses_an_incoherent_charter(
    make_charter_dir: Callable[[Path], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    charter_dir = make_charter_dir(BROKEN / "missing-tips.toml")
    charter = charter_dir / "charter.toml"
    charter.write_text(charter.read_text().replace('version = "1.0.0"', 'version = "1.0.1"'))

    exit_code = main(
        ["charter", "release", str(charter_dir), "--templates", str(FIXTURE_TEMPLATES)]
    )

    captured = capsys.readouterr()
    assert exit_code == 1
    assert captured.out.splitlines() == [f"{charter}: clause 'format': missing tips in en"]
    assert "fix them before releasing" in captured.err
    assert not (charter_dir / "releases" / "1.0.1.toml").exists()


def test_missing_charter_directory_is_one_problem(tmp_path: Path) -> None:
    lines = problem_lines(tmp_path / "nowhere", FIXTURE_TEMPLATES)
    assert lines == [
        f"{tmp_path / 'nowhere' / 'charter.toml'}: cannot read the charter: No such file or "
        "directory"
    ]


def test_a_render_error_in_one_clause_branch_names_that_clause(
    charter_dir: Path, templates_dir: Path
) -> None:
    text = templates_dir / "refusal.fr.txt.j2"
    text.write_text(
        text.read_text()
        + '{% if clause_id == "hard-to-read" %}{{ clause_tips.example }}{% endif %}\n'
    )
    assert problem_lines(charter_dir, templates_dir) == [
        f"{text}: clause 'hard-to-read': rendering with sample data fails: Mail template "
        "refusal.fr.txt.j2/.html: 'str object' has no attribute 'example'"
    ]
