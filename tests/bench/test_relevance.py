"""bench/relevance: its labels are well-formed, and run.py scores a tiny replay correctly.

The benchmark itself (seven real days, three replays) is not a test; this
checks its inputs and its arithmetic on two generated days in a few seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.relevance import data, run
from bench.relevance.pool import POOL

ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}")


def test_labels_are_well_formed() -> None:
    topics = {t.name for t in data.load_topics()}
    assert len(topics) >= 6
    labels = data.load_labels()
    assert len(labels) >= 1000
    seen: set[tuple[str, str, str]] = set()
    for lab in labels:
        assert lab.topic in topics, lab
        assert lab.grade in (0, 1, 2), lab
        assert ARXIV_ID.fullmatch(lab.id), lab
        assert lab.day in data.DAYS, lab
        assert lab.reason.strip(), lab
        key = (lab.topic, lab.id, lab.day)
        assert key not in seen, f"graded twice: {key}"
        seen.add(key)


def test_every_pooled_pair_is_graded() -> None:
    pooled = {(r["topic"], r["id"], r["day"])
              for r in map(json.loads, POOL.read_text("utf-8").splitlines())}
    graded = {(lab.topic, lab.id, lab.day) for lab in data.load_labels()}
    assert pooled == graded


def test_topics_state_query_and_need() -> None:
    for topic in data.load_topics():
        assert topic.name and topic.query and topic.need.endswith(".")


@pytest.mark.skipif(not data.REAL.is_dir(), reason=f"no real data at {data.REAL}")
def test_labels_name_papers_of_their_day() -> None:
    ids = {day: {p.id for p in data.load_day(day)} for day in data.DAYS}
    missing = [lab for lab in data.load_labels() if lab.id not in ids[lab.day]]
    assert not missing[:5]


def _paper(pid: str, title: str) -> dict[str, object]:
    return {"id": pid, "title": title, "summary": f"{title}. An abstract long enough to read.",
            "authors": ["Ada Lovelace"], "categories": ["cs.CV"], "comment": None}


def test_run_scores_a_tiny_replay(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    days = {
        "2025-03-18": [_paper("2503.00001", "Gaussian splatting for rooms"),   # posted, wanted
                       _paper("2503.00002", "Gaussian splatting of noise"),    # posted, not wanted
                       _paper("2503.00003", "3D Gaussians rendered fast")],    # missed, wanted
        "2025-03-19": [_paper("2503.00004", "Gaussian splatting avatars")],   # posted, wanted
    }
    for day, papers in days.items():
        (real / f"{day}.jsonl").write_text("".join(json.dumps(p) + "\n" for p in papers))
    topics = tmp_path / "topics.json"
    topics.write_text(json.dumps([{"name": "splat", "query": '"gaussian splatting"',
                                   "need": "Gaussian splatting."}]))
    labels = tmp_path / "labels.jsonl"
    grades = {"2503.00001": 2, "2503.00002": 0, "2503.00003": 2, "2503.00004": 2}
    labels.write_text("".join(
        json.dumps({"topic": "splat", "id": p["id"], "day": day, "grade": grades[p["id"]],
                    "reason": "test"}) + "\n"
        for day, papers in days.items() for p in papers))

    out = run.run(real=real, days=tuple(days), topics_path=topics, labels_path=labels)

    only = out["results"]["topics"]["splat"]
    assert only["precision"] == pytest.approx((1 / 2 + 1) / 2)
    assert only["recall10"] == pytest.approx((1 / 2 + 1) / 2)
    assert out["results"]["feedback1"]["splat"]["precision"] == 1.0  # day 2 alone
    assert out["votes"]["feedback1"] == 2  # up on 00001, down on 00002
    assert out["digests_same_as_without_votes"]["feedback1"]
    assert "| splat |" in out["table"]


def test_run_skips_without_real_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--real", str(tmp_path / "absent")]) == 0
    assert "no real data" in capsys.readouterr().err
