"""Shared fixtures: the local exchange sandbox as a real subprocess on a free port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from extract.sandbox.process import SandboxProcess

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """One shared sandbox for tests that only read from it (no faults, no resets)."""
    sandbox = SandboxProcess()
    try:
        yield sandbox.url
    finally:
        sandbox.stop()


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., str]]:
    """Start a private sandbox with extra CLI args (for fault tests); stopped after the test."""
    started: list[SandboxProcess] = []

    def start(*extra_args: str) -> str:
        sandbox = SandboxProcess(*extra_args)
        started.append(sandbox)
        return sandbox.url

    yield start
    for sandbox in started:
        sandbox.stop()
