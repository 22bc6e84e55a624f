"""Fixtures for the export tests: small landing databases in the real schema, and the lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.landing_factory import Landing, make_landing

TICKS_PER_DB = 3_000


@pytest.fixture
def landing_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "landing"
    directory.mkdir()
    return directory


@pytest.fixture
def three_landings(landing_dir: Path) -> list[Landing]:
    return [
        make_landing(landing_dir / f"worker_{index}.sqlite", ticks=TICKS_PER_DB, seed=index)
        for index in range(3)
    ]


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"
