"""Orchestrator arithmetic: scores, greedy bin-packing, the plan document."""

from __future__ import annotations

import json
from pathlib import Path

from extract.collector.config import build_config
from extract.collector.planning import (
    ExchangeProfile,
    bin_pack,
    make_plan,
    plan_document,
    score,
    write_plan,
)


def profile(
    name: str, bytes_received: int, reconnects: int, *, failed: bool = False
) -> ExchangeProfile:
    return ExchangeProfile(
        name, 60.0, bytes_received, reconnects, ticks=0 if failed else 10, failed=failed
    )


def test_score_is_bytes_per_second_plus_2000_per_reconnect_per_minute_min_1_failed_0() -> None:
    assert score(profile("a", 60_000, 0)) == 1000.0
    assert score(profile("b", 60_000, 2)) == 1000.0 + 2 * 2000.0
    assert score(profile("c", 0, 0)) == 1.0
    assert score(profile("d", 60_000, 5, failed=True)) == 0.0


def test_bin_pack_places_largest_first_into_the_lightest_worker() -> None:
    scores = {"a": 10.0, "b": 7.0, "c": 5.0, "d": 4.0, "e": 1.0}
    # a->0, b->1, c->1 (7<10), d->0 (10<12), e->1 (12<14)
    assert bin_pack(scores, 2) == [["a", "d"], ["b", "c", "e"]]
    assert bin_pack(scores, 1) == [["a", "b", "c", "d", "e"]]
    assert bin_pack({"a": 1.0}, 4) == [["a"]], "empty workers are dropped"


def test_plan_names_each_worker_database_and_is_written_as_json(tmp_path: Path) -> None:
    config = build_config(
        {"workers": 2, "worker_db_template": str(tmp_path / "w_{worker_id}.sqlite")}, source="t"
    )
    profiles = {"a": profile("a", 600, 0), "b": profile("b", 60, 1), "c": profile("c", 0, 0)}
    scores = {name: score(p) for name, p in profiles.items()}
    assignments = make_plan(scores, config)
    assert [a.exchanges for a in assignments] == [("b",), ("a", "c")]
    assert assignments[1].db_path == str(tmp_path / "w_1.sqlite")
    path = tmp_path / "plan" / "plan.json"
    write_plan(plan_document(assignments, profiles, scores, config), path)
    document = json.loads(path.read_text())
    assert document["exchanges"]["b"]["reconnects_per_min"] == 1.0
    assert document["exchanges"]["a"]["score"] == 10.0
    assert [w["worker_id"] for w in document["workers"]] == [0, 1]
