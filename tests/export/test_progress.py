"""The export progress bar's time left: none while the first rows' rate is noise, then from the
run's average rate over rows."""

from __future__ import annotations

import io

from extract.export.progress import ETA_AFTER_FRACTION, RowProgress


def bar(total: int) -> RowProgress:
    return RowProgress(
        total=total, unit=" rows", unit_scale=True, desc="export", file=io.StringIO()
    )


def test_no_time_left_is_shown_before_enough_rows_are_done() -> None:
    """A first slice of 1,000 rows in 5 million once gave an ETA of hours; now none at all."""
    with bar(5_000_000) as progress:
        progress.update(1_000)
        shown = str(progress)
    assert "<" not in shown, shown
    assert "1.00k/5.00M" in shown


def test_time_left_follows_the_average_row_rate_once_enough_rows_are_done() -> None:
    """Half of 4 million rows done in 10 s: 10 s left, from rows, whatever the slices."""
    with bar(4_000_000) as progress:
        progress.update(int(4_000_000 * ETA_AFTER_FRACTION))
        assert str(progress).count("<") == 1
        progress.update(2_000_000 - progress.n)
        shown = progress.format_meter(**{**progress.format_dict, "elapsed": 10.0})
    assert "00:10<00:10" in shown, shown
