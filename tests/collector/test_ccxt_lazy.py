"""ccxt's exchange classes load on first use in this package's processes, with ccxt's own
meaning: the same exchange lists, the same error classes, the same exchange classes."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import json, sys
{first}
import ccxt, ccxt.async_support, ccxt.pro
from ccxt.base import errors
def exchange_modules():
    return sorted(m for m in sys.modules if m.startswith("ccxt.pro.") and m.count(".") == 2)
before = exchange_modules()
instance = ccxt.pro.binance()
print(json.dumps({{
    "loaded_before": before,
    "loaded_after": exchange_modules(),
    "lists": [ccxt.exchanges, ccxt.async_support.exchanges, ccxt.pro.exchanges],
    "version": ccxt.__version__,
    "errors_same": ccxt.NetworkError is errors.NetworkError is ccxt.pro.NetworkError,
    "async_base": ccxt.async_support.Exchange.__module__,
    "pro_parent": [c.__module__ for c in type(instance).__mro__[:3]],
    "has_watch_tickers": bool(instance.has.get("watchTickers")),
}}))
"""


def _probe(first: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE.format(first=first)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(completed.stdout)
    return result


def test_a_worker_loads_only_the_exchanges_it_uses_with_ccxts_own_meaning() -> None:
    lazy = _probe("import extract")
    eager = _probe("")
    assert lazy["loaded_before"] == []
    assert lazy["loaded_after"] == ["ccxt.pro.binance"]
    assert len(eager["loaded_before"]) > 50
    for figure in ("lists", "version", "errors_same", "async_base", "pro_parent"):
        assert lazy[figure] == eager[figure], figure
    assert lazy["errors_same"] is True
    assert lazy["pro_parent"] == [
        "ccxt.pro.binance",
        "ccxt.async_support.binance",
        "ccxt.async_support.base.exchange",
    ]
    assert lazy["has_watch_tickers"] is True
