"""One vocabulary of the code per test session: reading it costs about a second."""

from __future__ import annotations

import pytest
from diagram_truth import DiagramChecker, Vocabulary, load_vocabulary


@pytest.fixture(scope="session")
def vocabulary() -> Vocabulary:
    return load_vocabulary()


@pytest.fixture(scope="session")
def checker(vocabulary: Vocabulary) -> DiagramChecker:
    return DiagramChecker(vocabulary)
