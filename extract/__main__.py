"""`python -m extract <command>`: one entry point for the sandbox, collector and export."""

from __future__ import annotations

import importlib
import sys

# command -> (module with a ``main(argv) -> int``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("extract.sandbox.cli", "serve fake binance/kraken/coinbase/okx on 127.0.0.1"),
    "run": ("extract.collector.cli", "collect tickers into per-worker SQLite landing databases"),
    "capabilities": ("extract.collector.capabilities", "list what each ccxt.pro exchange supports"),
    "export": ("extract.export.cli", "export landing databases to the partitioned Parquet lake"),
}


def usage() -> str:
    lines = ["usage: python -m extract <command> [options]", "", "commands:"]
    lines += [f"  {name:<14}{help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, *rest = argv
    if command not in COMMANDS:
        print(
            f"error: unknown command {command!r}; choose one of {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    exit_code: int = module.main(rest)
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
