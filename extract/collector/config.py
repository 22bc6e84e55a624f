"""The collector's configuration: CLI options over environment variables over one YAML file.

Every option is declared once in :data:`OPTIONS` (name, type, default, help, check). The CLI flag
is ``--<name-with-dashes>``, the environment variable ``EXTRACT_<NAME_UPPER>`` and the YAML key
``<name>`` (dashes or underscores). All values are validated at start; anything wrong raises
:class:`ConfigError` with a one-line message that names the option.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"
ENV_PREFIX = "EXTRACT_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of range."""


@dataclass(frozen=True)
class CollectorConfig:
    exchanges: tuple[str, ...] = ()
    exchanges_exclude: tuple[str, ...] = ()
    max_exchanges: int = 0
    symbols: tuple[str, ...] = ()
    max_symbols_per_exchange: int = 25
    max_symbol_streams_per_exchange: int = 10
    only_spot: bool = True
    only_watch_tickers: bool = False
    queue_size: int = 100_000
    batch_size: int = 500
    flush_interval_s: float = 0.5
    exchange_start_delay_s: float = 0.0
    reconnect_base_s: float = 1.0
    reconnect_max_s: float = 60.0
    stale_after_s: float = 60.0
    subscribe_timeout_s: float = 30.0
    request_timeout_s: float = 30.0
    rest_poll_interval_s: float = 5.0
    workers: int = 0
    max_auto_workers: int = 4
    profile_seconds: float = 0.0
    restart_base_s: float = 1.0
    restart_max_s: float = 60.0
    stable_window_s: float = 300.0
    retry_budget: int = 10
    drain_timeout_s: float = 20.0
    plan_output: str = "data/landing/worker_plan.json"
    worker_db_template: str = "data/landing/worker_{worker_id}.sqlite"
    landing_max_mb: float = 0.0
    store_raw_json: bool = True
    backfill: bool = True
    backfill_max_minutes: int = 60
    backfill_initial_minutes: int = 0
    backfill_retries: int = 5
    status_interval_s: float = 10.0
    dry_run: bool = False
    log_level: str = "INFO"
    log_file: str = ""
    duration_s: float = 0.0
    sandbox: str = ""

    def worker_db_path(self, worker_id: int) -> Path:
        return Path(self.worker_db_template.format(worker_id=worker_id))

    def existing_worker_db_paths(self) -> list[Path]:
        """The landing databases on disk that the template names, for any worker id."""
        head, _, tail = self.worker_db_template.partition("{worker_id}")
        found = glob.glob(glob.escape(head) + "[0-9]*" + glob.escape(tail))
        return sorted(
            Path(path) for path in found if path[len(head) : -len(tail) or None].isdigit()
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> CollectorConfig:
        return build_config(json.loads(text), source="worker spec")


@dataclass(frozen=True)
class Option:
    name: str
    kind: str  # int | float | bool | str | list
    help: str
    check: Callable[[Any], bool] | None = None
    requirement: str = ""


def _at_least(bound: float) -> Callable[[Any], bool]:
    return lambda value: bool(value >= bound)


def _greater(bound: float) -> Callable[[Any], bool]:
    return lambda value: bool(value > bound)


OPTIONS: tuple[Option, ...] = (
    Option(
        "exchanges",
        "list",
        "comma-separated ccxt ids (default: every ccxt.pro exchange; "
        "with --sandbox the four sandbox exchanges)",
    ),
    Option("exchanges_exclude", "list", "comma-separated ccxt ids to leave out"),
    Option("max_exchanges", "int", "use at most N exchanges (0 = no limit)", _at_least(0), ">= 0"),
    Option(
        "symbols",
        "list",
        "comma-separated unified symbols to collect where listed "
        "(default: the exchange's first spot markets, USDT/USD quotes first)",
    ),
    Option("max_symbols_per_exchange", "int", "symbols per exchange", _at_least(1), ">= 1"),
    Option(
        "max_symbol_streams_per_exchange",
        "int",
        "per-symbol watch_ticker streams when an exchange lacks watch_tickers",
        _at_least(1),
        ">= 1",
    ),
    Option("only_spot", "bool", "collect spot markets only"),
    Option(
        "only_watch_tickers",
        "bool",
        "use watch_tickers only; exclude exchanges without it (no per-symbol streams, no REST)",
    ),
    Option(
        "queue_size",
        "int",
        "ticks held in memory awaiting commit before new ones are dropped (and counted)",
        _at_least(1),
        ">= 1",
    ),
    Option("batch_size", "int", "rows per landing commit", _at_least(1), ">= 1"),
    Option("flush_interval_s", "float", "commit at least this often", _greater(0), "> 0"),
    Option(
        "exchange_start_delay_s",
        "float",
        "stagger exchange starts within a worker",
        _at_least(0),
        ">= 0",
    ),
    Option("reconnect_base_s", "float", "first reconnect delay", _greater(0), "> 0"),
    Option("reconnect_max_s", "float", "longest reconnect delay", _greater(0), "> 0"),
    Option(
        "stale_after_s",
        "float",
        "reconnect a socket that delivered no ticker for this long",
        _greater(0),
        "> 0",
    ),
    Option(
        "subscribe_timeout_s",
        "float",
        "a subscription without a first ticker within this time counts as rejected",
        _greater(0),
        "> 0",
    ),
    Option(
        "request_timeout_s",
        "float",
        "bound on every REST call (markets, OHLCV, tickers)",
        _greater(0),
        "> 0",
    ),
    Option(
        "rest_poll_interval_s",
        "float",
        "poll interval for exchanges without websockets",
        _greater(0),
        "> 0",
    ),
    Option(
        "workers",
        "int",
        "worker processes (0 = auto, up to --max-auto-workers)",
        _at_least(0),
        ">= 0",
    ),
    Option(
        "max_auto_workers",
        "int",
        "upper bound for the automatic worker count",
        _at_least(1),
        ">= 1",
    ),
    Option(
        "profile_seconds",
        "float",
        "profile each exchange this long before planning (0 = every exchange scores 1)",
        _at_least(0),
        ">= 0",
    ),
    Option("restart_base_s", "float", "first worker restart delay", _greater(0), "> 0"),
    Option("restart_max_s", "float", "longest worker restart delay", _greater(0), "> 0"),
    Option(
        "stable_window_s",
        "float",
        "a worker (or connection) up this long resets its failure counter",
        _greater(0),
        "> 0",
    ),
    Option(
        "retry_budget",
        "int",
        "consecutive worker failures before it is marked failed",
        _at_least(0),
        ">= 0",
    ),
    Option(
        "drain_timeout_s",
        "float",
        "on stop, wait this long for workers to flush",
        _greater(0),
        "> 0",
    ),
    Option("plan_output", "str", "where the worker plan JSON is written"),
    Option("worker_db_template", "str", "landing database path per worker, with {worker_id}"),
    Option(
        "landing_max_mb",
        "float",
        "cap each landing database at this size; a full database "
        "is handled like a full disk (0 = no cap)",
        _at_least(0),
        ">= 0",
    ),
    Option("store_raw_json", "bool", "keep the exchange's raw ticker in raw_json"),
    Option(
        "backfill",
        "bool",
        "repair gaps from REST 1-minute OHLCV at start and after reconnects",
    ),
    Option("backfill_max_minutes", "int", "longest gap to backfill", _at_least(1), ">= 1"),
    Option(
        "backfill_initial_minutes",
        "int",
        "with no earlier live tick of an exchange in its landing database, backfill this many "
        "minutes of history at start (0 = none)",
        _at_least(0),
        ">= 0",
    ),
    Option(
        "backfill_retries",
        "int",
        "retries of a backfill request that is rate-limited (429) or unavailable, each after "
        "the reconnect backoff or the exchange's Retry-After, before the symbol's gap is given up",
        _at_least(0),
        ">= 0",
    ),
    Option(
        "status_interval_s", "float", "one status line per worker this often", _greater(0), "> 0"
    ),
    Option("dry_run", "bool", "profile and plan, write the plan, start no workers"),
    Option(
        "log_level",
        "str",
        "DEBUG, INFO, WARNING or ERROR",
        lambda value: value.upper() in LOG_LEVELS,
        "one of " + ", ".join(LOG_LEVELS),
    ),
    Option("log_file", "str", "also append logs to this file"),
    Option(
        "duration_s",
        "float",
        "stop after collecting N seconds, counted from when the workers started "
        "(0 = run until SIGTERM/SIGINT)",
        _at_least(0),
        ">= 0",
    ),
    Option(
        "sandbox",
        "str",
        f"point every exchange at the local sandbox (default URL {DEFAULT_SANDBOX_URL})",
    ),
)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}


def _convert(option: Option, raw: Any, source: str) -> Any:
    label = f"{option.name.replace('_', '-')} ({source})"
    try:
        if option.kind == "list":
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return tuple(str(item).strip() for item in items if str(item).strip())
        if option.kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if option.kind == "int":
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            return int(raw)
        if option.kind == "float":
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        return "" if raw is None else str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"--{label}: expected {option.kind}, got {raw!r}") from None


def build_config(values: Mapping[str, Any], *, source: str) -> CollectorConfig:
    """Convert and validate a mapping of option name -> raw value (missing ones keep defaults)."""
    converted: dict[str, Any] = {}
    for key, raw in values.items():
        name = key.replace("-", "_")
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            raise ConfigError(f"unknown option {key!r} in {source}")
        value = _convert(option, raw, source)
        if option.check is not None and not option.check(value):
            flag = option.name.replace("_", "-")
            raise ConfigError(f"--{flag} must be {option.requirement}, got {raw!r} ({source})")
        converted[name] = value
    config = CollectorConfig(**converted)
    _check_consistency(config)
    return config


def _check_consistency(config: CollectorConfig) -> None:
    if config.backfill_initial_minutes > config.backfill_max_minutes:
        raise ConfigError("--backfill-initial-minutes must not exceed --backfill-max-minutes")
    if config.reconnect_base_s > config.reconnect_max_s:
        raise ConfigError("--reconnect-base-s must not exceed --reconnect-max-s")
    if config.restart_base_s > config.restart_max_s:
        raise ConfigError("--restart-base-s must not exceed --restart-max-s")
    if "{worker_id}" not in config.worker_db_template:
        raise ConfigError("--worker-db-template must contain {worker_id}")
    overlap = set(config.exchanges) & set(config.exchanges_exclude)
    if overlap:
        raise ConfigError(f"exchanges both included and excluded: {', '.join(sorted(overlap))}")
    if config.sandbox and not config.sandbox.startswith("http://"):
        raise ConfigError(f"--sandbox must be an http:// URL, got {config.sandbox!r}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m extract run",
        description="Collect every ticker update into per-worker SQLite landing databases.",
    )
    parser.add_argument("--config", metavar="YAML", help="YAML file with option: value pairs")
    for option in OPTIONS:
        flag = "--" + option.name.replace("_", "-")
        if option.name == "sandbox":
            parser.add_argument(
                flag,
                nargs="?",
                const=DEFAULT_SANDBOX_URL,
                default=None,
                metavar="URL",
                help=option.help,
            )
        elif option.kind == "bool":
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=option.help
            )
        else:
            parser.add_argument(flag, default=None, help=option.help)
    return parser


def _read_yaml(path: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"--config: cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"--config: {path} is not valid YAML: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"--config: {path} must hold a mapping of option: value")
    return loaded


def _read_env(environ: Mapping[str, str]) -> dict[str, str]:
    found = {}
    for option in OPTIONS:
        key = ENV_PREFIX + option.name.upper()
        if key in environ:
            found[option.name] = environ[key]
    return found


def load_config(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> CollectorConfig:
    """Parse argv, then layer CLI over environment over YAML over defaults, and validate."""
    parser = build_parser()
    namespace = parser.parse_args(list(argv))
    environ = os.environ if environ is None else environ
    env = _read_env(environ)
    layered: dict[str, Any] = {}
    yaml_path = namespace.config or environ.get(ENV_PREFIX + "CONFIG")
    if yaml_path:
        file_values = _read_yaml(yaml_path)
        build_config(file_values, source=f"YAML {yaml_path}")
        layered.update({key.replace("-", "_"): value for key, value in file_values.items()})
    build_config(env, source="environment")
    layered.update(env)
    cli_values = {
        field.name: getattr(namespace, field.name)
        for field in fields(CollectorConfig)
        if getattr(namespace, field.name, None) is not None
    }
    layered.update(cli_values)
    return build_config(layered, source="options")
