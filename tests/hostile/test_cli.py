"""Every hostile case through the `digestbot` command: exit 0/1/2, one line, no traceback."""

from __future__ import annotations

import pytest

from tests.hostile.cases import CASES, IDS, NUMBERS, Case
from tests.hostile.conftest import Cli, assert_one_line_outcome

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_search(cli: Cli, case: Case) -> None:
    code, out, err = cli("search", case.text)
    assert_one_line_outcome(code, out, err)
    assert "\x1b" not in out + err  # nothing a terminal acts on


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_search_json(cli: Cli, case: Case) -> None:
    import json

    code, out, err = cli("search", "--json", case.text)
    assert_one_line_outcome(code, out, err)
    if code == 0:
        assert isinstance(json.loads(out), list)


@pytest.mark.parametrize("paper_id", IDS)
def test_show(cli: Cli, paper_id: str) -> None:
    code, out, err = cli("show", paper_id)
    assert_one_line_outcome(code, out, err)
    assert code != 0  # no such paper


@pytest.mark.parametrize("number", NUMBERS)
def test_search_limit(cli: Cli, number: str) -> None:
    code, out, err = cli("search", "breast", "--limit", number)
    assert_one_line_outcome(code, out, err)


def test_catalog_survives_the_sweep(cli: Cli) -> None:
    code, out, _ = cli("search", "breast", "MRI")
    assert code == 0 and "A Large Model for Non-invasive" in out
