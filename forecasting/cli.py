"""``python -m forecasting``: parse options, run the forecast, print one summary line."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from extract.timeutil import utc_now
from forecasting.config import ENV_PREFIX, ConfigError, ForecastConfig, load_config
from forecasting.models import BASELINE_MODELS, OPTIONAL_MODELS
from forecasting.pipeline import RunSummary, run_forecast
from forecasting.warehouse import WarehouseError

DEFAULTS = ForecastConfig()

# setting -> help text; every setting is also read from FORECAST_<SETTING> (and YAML --config)
OPTION_HELP: dict[str, str] = {
    "target": (
        "warehouse engine: duckdb (the file below) or spark (the session and warehouse of the"
        " spark output in dbt_project/profiles.yml, env DWH_SPARK_*;"
        f" default {DEFAULTS.target})"
    ),
    "duckdb_path": f"warehouse DuckDB file (env DWH_DUCKDB_PATH; default {DEFAULTS.duckdb_path})",
    "horizon": f"buckets to forecast ahead (default {DEFAULTS.horizon})",
    "season_length": f"season in buckets for SeasonalNaive (default {DEFAULTS.season_length})",
    "window_size": f"buckets averaged by WindowAverage (default {DEFAULTS.window_size})",
    "models": (
        f"extra models, comma-separated, or 'none' (default {','.join(DEFAULTS.models)}); "
        f"choices: {', '.join(OPTIONAL_MODELS)}; {', '.join(BASELINE_MODELS)} always run"
    ),
    "validation_windows": (
        "earlier cross-validation windows the model is chosen on"
        f" (default {DEFAULTS.validation_windows})"
    ),
    "test_windows": (
        "later cross-validation windows the accuracy and coverage are reported on"
        f" (default {DEFAULTS.test_windows})"
    ),
    "cv_step": f"buckets between cross-validation cutoffs (default {DEFAULTS.cv_step})",
    "cv_refit": (
        "true: refit every model at every cutoff; false: fit once at the first cutoff where the "
        f"model can carry its parameters forward (default {str(DEFAULTS.cv_refit).lower()})"
    ),
    "coverage_tolerance": (
        "a model is chosen only if its validation coverage is this close to nominal at 80 and 95 %%"
        f" (default {DEFAULTS.coverage_tolerance})"
    ),
    "conformal_windows": (
        f"windows calibrating conformal intervals (default {DEFAULTS.conformal_windows})"
    ),
    "history_buckets": f"newest buckets used per series (default {DEFAULTS.history_buckets})",
    "min_train_points": (
        f"training buckets needed before the first cutoff (default {DEFAULTS.min_train_points})"
    ),
    "max_missing_share": (
        f"skip a series with more missing buckets (default {DEFAULTS.max_missing_share})"
    ),
    "max_gap_buckets": (
        f"skip a series with a longer run of missing buckets (default {DEFAULTS.max_gap_buckets})"
    ),
    "n_jobs": f"worker processes for statsforecast, -1 = every core (default {DEFAULTS.n_jobs})",
    "exchanges": "only these exchanges, comma-separated (default all)",
    "symbols": "only these symbols, comma-separated (default all)",
    "keep_runs_days": f"delete forecast runs older than this (default {DEFAULTS.keep_runs_days})",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m forecasting",
        description=(
            "Fit statsforecast models per (exchange_id, symbol) on cleansing.cln_forecast_input, "
            "cross-validate them and add a run to the forecast.* tables. Every option can also be "
            f"set as {ENV_PREFIX}<OPTION> (e.g. {ENV_PREFIX}HORIZON) or in a YAML --config file."
        ),
    )
    parser.add_argument("--config", type=Path, help="YAML file of setting: value")
    for name, help_text in OPTION_HELP.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=help_text)
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    return parser


def summary_line(summary: RunSummary) -> str:
    if not summary.written:
        return f"run_id={summary.run_id} nothing to forecast: the grid is empty"
    chosen = ",".join(f"{model}:{count}" for model, count in summary.chosen_by_model) or "none"
    return (
        f"run_id={summary.run_id} series={summary.series_in_grid}"
        f" forecast={summary.series_forecast} skipped={summary.series_skipped}"
        f" forecast_rows={summary.forecast_rows} metric_rows={summary.metric_rows}"
        f" chosen={chosen} seconds={summary.seconds:.1f}"
    )


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        options = vars(parser.parse_args(argv))
    except SystemExit as exit_request:  # argparse: --help (0) or a bad option (2)
        return int(exit_request.code or 0)
    logging.basicConfig(
        level=options.pop("log_level"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    config_file = options.pop("config")
    try:
        config = load_config(options, config_file=config_file)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        summary = run_forecast(config, utc_now())
    except WarehouseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(summary_line(summary))
    return 0
