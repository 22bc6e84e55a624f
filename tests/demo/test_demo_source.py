"""`make demo` collects from the local sandbox unless told otherwise: never the internet by
itself."""

from __future__ import annotations

import pytest

from tools.demo import parse_args


def test_the_demo_uses_the_sandbox_by_default() -> None:
    assert parse_args([], environ={}).source == "sandbox"


def test_live_exchanges_only_when_asked_by_option_or_environment() -> None:
    assert parse_args(["--source", "live"], environ={}).source == "live"
    assert parse_args([], environ={"DEMO_SOURCE": "live"}).source == "live"
    assert parse_args(["--source", "sandbox"], environ={"DEMO_SOURCE": "live"}).source == "sandbox"


def test_an_unknown_source_in_the_environment_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args([], environ={"DEMO_SOURCE": "auto"})
    assert stopped.value.code == 2
    assert "$DEMO_SOURCE must be one of sandbox, live, got 'auto'" in capsys.readouterr().err
