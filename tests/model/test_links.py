"""Code-link extraction from abstracts and arXiv comments, and the labels shown for them."""

from __future__ import annotations

import pytest

from bot.model.links import (
    Links,
    extract_code_urls,
    extract_links,
    is_code_url,
    is_project_url,
    repo_label,
)

GH = "https://github.com"
HF = "https://huggingface.co"
GL = "https://gitlab.com"
BB = "https://bitbucket.org"

EXTRACT_CASES = [
    pytest.param("No code was released.", (), id="none"),
    pytest.param(
        "Code is available at https://github.com/LLYXC/MOME/tree/main.",
        ("https://github.com/LLYXC/MOME/tree/main",),
        id="sentence end with path",
    ),
    pytest.param(
        "available at https://github.com/mohofar/Beta-Rank",
        ("https://github.com/mohofar/Beta-Rank",),
        id="url ends the text",
    ),
    pytest.param(f"see {GH}/a/b, and more", (f"{GH}/a/b",), id="comma"),
    pytest.param(f"code: {GH}/a/b; data: elsewhere", (f"{GH}/a/b",), id="semicolon"),
    pytest.param(f"at {GH}/a/b: the code", (f"{GH}/a/b",), id="colon"),
    pytest.param(f"our tool ({GH}/a/b) works", (f"{GH}/a/b",), id="parenthesised"),
    pytest.param(f"our tool (see {GH}/a/b).", (f"{GH}/a/b",), id="paren then period"),
    pytest.param(f"clone {GH}/a/b.git", (f"{GH}/a/b",), id="dot git"),
    pytest.param(f"clone {GH}/a/b.git.", (f"{GH}/a/b",), id="dot git then period"),
    pytest.param(f"at {GH}/a/b/ now", (f"{GH}/a/b",), id="trailing slash"),
    pytest.param(f'the "{GH}/a/b" repo', (f"{GH}/a/b",), id="quoted"),
    pytest.param(f"<{GH}/a/b>", (f"{GH}/a/b",), id="angle brackets"),
    pytest.param(rf"\url{{{GH}/a/b}}.", (f"{GH}/a/b",), id="latex url"),
    pytest.param("http://github.com/a/b", ("http://github.com/a/b",), id="http scheme"),
    pytest.param("https://www.github.com/a/b", ("https://www.github.com/a/b",), id="www host"),
    pytest.param(f"{GH}/Xuefeng-Ni/MG-3D.", (f"{GH}/Xuefeng-Ni/MG-3D",), id="hyphenated names"),
    pytest.param(f"{GH}/a/b?tab=readme", (f"{GH}/a/b?tab=readme",), id="query kept"),
    pytest.param(f"{GL}/group/project.", (f"{GL}/group/project",), id="gitlab"),
    pytest.param(f"{BB}/team/repo)", (f"{BB}/team/repo",), id="bitbucket"),
    pytest.param(f"{HF}/org/model", (f"{HF}/org/model",), id="hugging face model"),
    pytest.param(f"{HF}/spaces/org/demo.", (f"{HF}/spaces/org/demo",), id="hugging face space"),
    pytest.param(f"{HF}/datasets/org/d", (f"{HF}/datasets/org/d",), id="hugging face dataset"),
    pytest.param("Code: https://github.", (), id="bare github dot"),
    pytest.param("Code: https://github.com/ soon", (), id="bare github host"),
    pytest.param(f"by {GH}/someone.", (), id="owner only"),
    pytest.param(f"{GH}/features/actions", (), id="site page"),
    pytest.param(f"{HF}/spaces/org", (), id="hugging face space without repo"),
    pytest.param(f"{HF}/docs/transformers", (), id="hugging face docs"),
    pytest.param("https://example.org/a/b, https://arxiv.org/abs/2401.00001", (), id="other host"),
    pytest.param("https://user.github.io/project", (), id="github pages is not a repo"),
    pytest.param(
        f"{GL}/x/y then {GH}/a/b and {GH}/a/b. again {GL}/x/y/",
        (f"{GL}/x/y", f"{GH}/a/b"),
        id="order kept, duplicates dropped",
    ),
    # Written without a scheme.
    pytest.param("Code: github.com/a/b.", (f"{GH}/a/b",), id="bare github"),
    pytest.param("see www.github.com/a/b.git,", ("https://www.github.com/a/b",), id="bare www"),
    pytest.param("(gitlab.com/g/p)", (f"{GL}/g/p",), id="bare gitlab in parentheses"),
    pytest.param("demo: huggingface.co/spaces/o/d;", (f"{HF}/spaces/o/d",), id="bare hugging face"),
    pytest.param("bitbucket.org/t/r, and", (f"{BB}/t/r",), id="bare bitbucket"),
    pytest.param("GitHub.com/A/B", ("https://GitHub.com/A/B",), id="bare host in capitals"),
    pytest.param("gist.github.com/a/b", (), id="bare inside another host"),
    pytest.param("mail me@github.com/a/b", (), id="bare after at sign"),
    pytest.param("git@github.com:a/b.git", (), id="ssh clone address"),
    pytest.param("https://example.org/github.com/a/b", (), id="bare inside another url"),
    # GitLab groups and subgroups: the URL is cut where GitLab's own pages begin.
    pytest.param(f"{GL}/g/sub/p/-/tree/main.", (f"{GL}/g/sub/p",), id="gitlab subgroup dash"),
    pytest.param(f"{GL}/g/sub/p", (f"{GL}/g/sub/p",), id="gitlab subgroup whole path"),
    pytest.param(f"{GL}/g/p/-/blob/main/x.py", (f"{GL}/g/p",), id="gitlab file"),
    pytest.param(f"{GL}/g/p/tree/master", (f"{GL}/g/p",), id="gitlab older route"),
    pytest.param(f"{GL}/g/-/tree/main", (), id="gitlab group page"),
    pytest.param("gitlab.com/a/b/c/-/issues", (f"{GL}/a/b/c",), id="bare gitlab subgroup"),
    # LaTeX.
    pytest.param(r"\url{github.com/a/my\_repo}", (f"{GH}/a/my_repo",), id="latex url bare escaped"),
    pytest.param(rf"\href{{{GH}/a/b}}{{code}}", (f"{GH}/a/b",), id="latex href"),
    pytest.param(rf"\url{{ {HF}/o/m }}", (f"{HF}/o/m",), id="latex url spaced"),
    # Project pages are not code.
    pytest.param("page: lab.github.io/proj", (), id="bare github pages is not a repo"),
]


@pytest.mark.parametrize(("text", "expected"), EXTRACT_CASES)
def test_extract_code_urls(text: str, expected: tuple[str, ...]) -> None:
    assert extract_code_urls(text) == expected


LABEL_CASES: list[tuple[str, str]] = [
    ("https://github.com/LLYXC/MOME/tree/main", "LLYXC/MOME"),
    ("https://github.com/mohofar/Beta-Rank", "mohofar/Beta-Rank"),
    ("https://github.com/a/b.git", "a/b"),
    ("https://www.github.com/a/b", "a/b"),
    ("https://gitlab.com/group/project/-/tree/main", "group/project"),
    ("https://gitlab.com/group/sub/project/-/tree/main", "group/sub/project"),
    ("https://gitlab.com/group/sub/project", "group/sub/project"),
    ("https://bitbucket.org/team/repo", "team/repo"),
    ("https://huggingface.co/spaces/org/demo", "org/demo"),
    ("https://example.org/tool/", "example.org/tool"),
    ("https://github.com/someone", "github.com/someone"),
    ("not a url", "not a url"),
]


@pytest.mark.parametrize(("url", "label"), LABEL_CASES)
def test_repo_label(url: str, label: str) -> None:
    assert repo_label(url) == label


@pytest.mark.parametrize(
    ("url", "expected"),
    [("https://github.com/a/b", True), ("https://github.com/a", False), ("https://github.", False)],
)
def test_is_code_url(url: str, expected: bool) -> None:
    assert is_code_url(url) is expected


PROJECT = "https://lab.github.io"

LINKS_CASES = [
    pytest.param("nothing here", Links(), id="none"),
    pytest.param(
        f"Code: {GH}/lab/x. Project page: {PROJECT}/x/.",
        Links(code=(f"{GH}/lab/x",), project=(f"{PROJECT}/x",)),
        id="code and project page",
    ),
    pytest.param("see lab.github.io.", Links(project=(PROJECT,)), id="bare pages host"),
    pytest.param(
        "lab.github.io/a and https://lab.github.io/a/ and team.gitlab.io/b",
        Links(project=(f"{PROJECT}/a", "https://team.gitlab.io/b")),
        id="pages once each, gitlab pages too",
    ),
    pytest.param("https://github.io/x", Links(), id="pages host without a user"),
    pytest.param("https://docs.lab.github.io/x", Links(), id="pages subdomain of a user site"),
    pytest.param(
        r"Comments: 12 pages; code \url{gitlab.com/g/s/p/-/tree/dev}, demo lab.github.io/p",
        Links(code=(f"{GL}/g/s/p",), project=(f"{PROJECT}/p",)),
        id="arxiv comment",
    ),
]


@pytest.mark.parametrize(("text", "expected"), LINKS_CASES)
def test_extract_links(text: str, expected: Links) -> None:
    assert extract_links(text) == expected
    assert extract_code_urls(text) == expected.code


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{PROJECT}/x", True),
        ("https://team.gitlab.io", True),
        ("https://github.io", False),
        (f"{GH}/a/b", False),
        ("https://lab.github.io.evil.org/x", False),
    ],
)
def test_is_project_url(url: str, expected: bool) -> None:
    assert is_project_url(url) is expected
