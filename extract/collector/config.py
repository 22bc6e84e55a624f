"""The collector's configuration: CLI options over environment variables over one YAML file.

Every option is declared once, as a field of :class:`CollectorConfig` (name, type, default, help,
check); :data:`OPTIONS` is derived from those fields. The CLI flag is ``--<name-with-dashes>``,
the environment variable ``EXTRACT_<NAME_UPPER>`` and the YAML key ``<name>`` (dashes or
underscores). All values are validated at start; anything wrong raises :class:`ConfigError` with
a one-line message that names the option.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"
ENV_PREFIX = "EXTRACT_"
DEFAULT_WORKER_DB_TEMPLATE = "data/landing/worker_{worker_id}.sqlite"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A configuration value is missing, malformed or out of range."""


@dataclass(frozen=True)
class Check:
    """A value rule and the words the error message uses for it."""

    accepts: Callable[[Any], bool]
    requirement: str


def at_least(bound: float) -> Check:
    return Check(lambda value: bool(value >= bound), f">= {bound:g}")


def greater(bound: float) -> Check:
    return Check(lambda value: bool(value > bound), f"> {bound:g}")


def one_of(choices: Sequence[str]) -> Check:
    return Check(lambda value: value.upper() in choices, "one of " + ", ".join(choices))


def option(default: Any, help_text: str, check: Check | None = None) -> Any:
    """A :class:`CollectorConfig` field: its default, its help line and its check."""
    return field(default=default, metadata={"help": help_text, "check": check})


@dataclass(frozen=True)
class CollectorConfig:
    """Every collector option, once: its type, default, help and check."""

    exchanges: tuple[str, ...] = option(
        (),
        "comma-separated ccxt ids (default: every ccxt.pro exchange; "
        "with --sandbox the exchanges declared in extract/exchanges/)",
    )
    exchanges_exclude: tuple[str, ...] = option((), "comma-separated ccxt ids to leave out")
    max_exchanges: int = option(0, "use at most N exchanges (0 = no limit)", at_least(0))
    symbols: tuple[str, ...] = option(
        (),
        "comma-separated unified symbols to collect where listed "
        "(default: the exchange's first spot markets, USDT/USD quotes first)",
    )
    max_symbols_per_exchange: int = option(25, "symbols per exchange", at_least(1))
    max_symbol_streams_per_exchange: int = option(
        10, "per-symbol watch_ticker streams when an exchange lacks watch_tickers", at_least(1)
    )
    only_spot: bool = option(True, "collect spot markets only")
    only_watch_tickers: bool = option(
        False,
        "use watch_tickers only; exclude exchanges without it (no per-symbol streams, no REST)",
    )
    queue_size: int = option(
        100_000,
        "ticks held in memory awaiting commit before new ones are dropped (and counted)",
        at_least(1),
    )
    batch_size: int = option(500, "rows per landing commit", at_least(1))
    flush_interval_s: float = option(0.5, "commit at least this often", greater(0))
    exchange_start_delay_s: float = option(
        0.0, "stagger exchange starts within a worker", at_least(0)
    )
    reconnect_base_s: float = option(1.0, "first reconnect delay", greater(0))
    reconnect_max_s: float = option(60.0, "longest reconnect delay", greater(0))
    stale_after_s: float = option(
        60.0, "reconnect a socket that delivered no ticker for this long", greater(0)
    )
    subscribe_timeout_s: float = option(
        30.0,
        "a subscription without a first ticker within this time counts as rejected",
        greater(0),
    )
    request_timeout_s: float = option(
        30.0, "bound on every REST call (markets, OHLCV, tickers)", greater(0)
    )
    rest_poll_interval_s: float = option(
        5.0, "poll interval for exchanges without websockets", greater(0)
    )
    workers: int = option(0, "worker processes (0 = auto, up to --max-auto-workers)", at_least(0))
    max_auto_workers: int = option(4, "upper bound for the automatic worker count", at_least(1))
    profile_seconds: float = option(
        0.0,
        "profile each exchange this long before planning (0 = every exchange scores 1)",
        at_least(0),
    )
    restart_base_s: float = option(1.0, "first worker restart delay", greater(0))
    restart_max_s: float = option(60.0, "longest worker restart delay", greater(0))
    stable_window_s: float = option(
        300.0, "a worker (or connection) up this long resets its failure counter", greater(0)
    )
    retry_budget: int = option(
        10, "consecutive worker failures before it is marked failed", at_least(0)
    )
    drain_timeout_s: float = option(
        20.0, "on stop, wait this long for workers to flush", greater(0)
    )
    plan_output: str = option(
        "data/landing/worker_plan.json", "where the worker plan JSON is written"
    )
    worker_db_template: str = option(
        DEFAULT_WORKER_DB_TEMPLATE,
        "landing database path per worker, with {worker_id}",
    )
    landing_max_mb: float = option(
        0.0,
        "cap each landing database at this size; a full database "
        "is handled like a full disk (0 = no cap)",
        at_least(0),
    )
    store_raw_json: bool = option(True, "keep the exchange's raw ticker in raw_json")
    uvloop: bool = option(
        True, "run each worker's event loop on uvloop where installed (--no-uvloop: asyncio's own)"
    )
    backfill: bool = option(
        True, "repair gaps from REST 1-minute OHLCV at start and after reconnects"
    )
    backfill_max_minutes: int = option(60, "longest gap to backfill", at_least(1))
    backfill_initial_minutes: int = option(
        0,
        "with no earlier live tick of an exchange in its landing database, backfill this many "
        "minutes of history at start (0 = none)",
        at_least(0),
    )
    backfill_retries: int = option(
        5,
        "retries of a backfill request that is rate-limited (429) or unavailable, each after "
        "the reconnect backoff or the exchange's Retry-After, before the symbol's gap is given up",
        at_least(0),
    )
    status_interval_s: float = option(10.0, "one status line per worker this often", greater(0))
    dry_run: bool = option(False, "profile and plan, write the plan, start no workers")
    log_level: str = option("INFO", "DEBUG, INFO, WARNING or ERROR", one_of(LOG_LEVELS))
    log_file: str = option("", "also append logs to this file")
    duration_s: float = option(
        0.0,
        "stop after collecting N seconds, counted from when the workers started "
        "(0 = run until SIGTERM/SIGINT)",
        at_least(0),
    )
    sandbox: str = option(
        "", f"point every exchange at the local sandbox (default URL {DEFAULT_SANDBOX_URL})"
    )

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


# the option kinds, from the field annotations (this module uses postponed annotations)
_KINDS = {"tuple[str, ...]": "list", "int": "int", "float": "float", "bool": "bool", "str": "str"}


@dataclass(frozen=True)
class Option:
    name: str
    kind: str  # int | float | bool | str | list
    help: str
    check: Check | None


OPTIONS: tuple[Option, ...] = tuple(
    Option(item.name, _KINDS[str(item.type)], item.metadata["help"], item.metadata["check"])
    for item in fields(CollectorConfig)
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
        if option.check is not None and not option.check.accepts(value):
            flag = option.name.replace("_", "-")
            raise ConfigError(
                f"--{flag} must be {option.check.requirement}, got {raw!r} ({source})"
            )
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
