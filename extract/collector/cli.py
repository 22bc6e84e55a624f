"""``python -m extract run``: plan the workers, start them, supervise them until stopped.

Steps: resolve the exchanges, profile them (``--profile-seconds``), score and bin-pack them onto
worker processes, write the plan JSON, then (unless ``--dry-run``) run one supervised process per
worker until SIGTERM/SIGINT or ``--duration-s``. With ``--sandbox URL`` the sandbox is asked for
its state first, so a sandbox that is not running fails the run within seconds instead of a run
that retries until ``--duration-s`` and lands nothing. Exit codes: 0 ok, 1 a worker failed
permanently, 2 bad configuration or no sandbox at ``--sandbox URL``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from extract.collector.config import CollectorConfig, ConfigError, load_config
from extract.collector.logs import configure, log_event
from extract.collector.planning import make_plan, plan_document, score, write_plan
from extract.collector.supervisor import start_worker_server, supervise

# How long the sandbox probe waits for an answer: the sandbox answers its state in milliseconds.
SANDBOX_PROBE_TIMEOUT_S = 3.0
SANDBOX_STATE_PATH = "/_control/state"


def check_sandbox(url: str, timeout_s: float = SANDBOX_PROBE_TIMEOUT_S) -> None:
    """ConfigError with a hint unless the sandbox answers its state at ``url``."""
    hint = (
        "start it first: `make sandbox` (serves http://127.0.0.1:8765) or "
        "`python -m extract sandbox --port PORT`, then pass --sandbox http://127.0.0.1:PORT"
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with direct.open(url.rstrip("/") + SANDBOX_STATE_PATH, timeout=timeout_s):
            return
    except urllib.error.HTTPError as error:
        raise ConfigError(
            f"--sandbox {url}: something answers there but it is not the sandbox "
            f"(HTTP {error.code} for {SANDBOX_STATE_PATH}); {hint}"
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ConfigError(f"--sandbox {url}: no sandbox is listening ({reason}); {hint}") from None


def resolve_exchanges(config: CollectorConfig) -> list[str]:
    """The exchanges to collect, in a stable order, or a ConfigError saying what is wrong."""
    # ccxt takes seconds to import: it is imported here, after the worker forkserver started
    import ccxt.pro

    from extract.exchanges import EXCHANGES

    supported = set(ccxt.pro.exchanges)
    for option, names in (
        ("--exchanges", config.exchanges),
        ("--exchanges-exclude", config.exchanges_exclude),
    ):
        unknown = sorted(set(names) - supported)
        if unknown:
            raise ConfigError(f"{option}: not ccxt.pro exchanges: {', '.join(unknown)}")
    if config.sandbox:
        outside = sorted(set(config.exchanges) - set(EXCHANGES))
        if outside:
            raise ConfigError(
                f"--sandbox serves only {', '.join(EXCHANGES)}; not {', '.join(outside)}"
            )
    default = tuple(EXCHANGES) if config.sandbox else tuple(sorted(supported))
    chosen = [
        name for name in (config.exchanges or default) if name not in config.exchanges_exclude
    ]
    if config.max_exchanges:
        chosen = chosen[: config.max_exchanges]
    if not chosen:
        raise ConfigError("no exchanges left to collect after --exchanges-exclude/--max-exchanges")
    return chosen


async def run_service(config: CollectorConfig, exchanges: Sequence[str]) -> int:
    if config.profile_seconds:
        from extract.collector.profiling import profile_exchanges

        log_event(
            logging.INFO,
            "profiling",
            exchange=None,
            exchanges=",".join(exchanges),
            seconds=config.profile_seconds,
        )
        profiles = await profile_exchanges(exchanges, config)
    else:
        profiles = {}
    scores = {name: score(profiles[name]) if name in profiles else 1.0 for name in exchanges}
    assignments = make_plan(scores, config)
    document = plan_document(assignments, profiles, scores, config)
    write_plan(document, Path(config.plan_output))
    for assignment in assignments:
        log_event(
            logging.INFO,
            "worker_planned",
            exchange=None,
            worker=assignment.worker_id,
            exchanges=",".join(assignment.exchanges),
            load=assignment.load,
            db=assignment.db_path,
        )
    if config.dry_run:
        print(json.dumps(document, indent=2))
        return 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    outcomes = await supervise(assignments, config, stop)
    failed = [outcome.worker_id for outcome in outcomes if outcome.state == "failed"]
    log_event(
        logging.INFO,
        "collector_exit",
        exchange=None,
        workers=len(outcomes),
        failed_workers=",".join(map(str, failed)) or None,
    )
    return 1 if failed else 0


def main(argv: Sequence[str]) -> int:
    try:
        config = load_config(argv)
        configure(config.log_level, config.log_file)
        if config.sandbox and (not config.dry_run or config.profile_seconds):
            check_sandbox(config.sandbox)  # before seconds of ccxt import: fail fast
        if not config.dry_run:
            start_worker_server()
        exchanges = resolve_exchanges(config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return asyncio.run(run_service(config, exchanges))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
