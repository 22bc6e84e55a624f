"""Exchanges as data: each shipped exchange's spec (ccxt options, hooked handlers, where its event
time lives) is declared in one module of extract/exchanges/, and the collector reads time there."""

from __future__ import annotations

import ast
from pathlib import Path

import ccxt.pro

from extract.collector.exchange_time import exchange_time_ms
from extract.exchanges import EXCHANGES, spec_for
from extract.exchanges.client import build_exchange
from extract.sandbox.config import SandboxConfig
from extract.sandbox.venues import VENUES

REPO = Path(__file__).resolve().parents[2]


def test_binance_uses_the_event_time_not_the_stats_close_time() -> None:
    ticker = {
        "timestamp": 1_579_485_597_842,
        "info": {"E": 1_579_485_598_569, "C": 1_579_485_597_842},
    }
    assert exchange_time_ms(EXCHANGES["binance"], ticker["info"], None, ticker) == 1_579_485_598_569


def test_okx_uses_ts_sent_as_a_digit_string() -> None:
    ticker = {"timestamp": None, "info": {"ts": "1626526618762"}}
    assert exchange_time_ms(EXCHANGES["okx"], ticker["info"], None, ticker) == 1_626_526_618_762


def test_coinbase_uses_the_message_timestamp_with_nanoseconds() -> None:
    frame = {"channel": "ticker", "timestamp": "2023-02-09T20:30:37.167359596Z"}
    assert exchange_time_ms(EXCHANGES["coinbase"], {}, frame) == 1_675_974_637_167


def test_kraken_reads_the_ticker_or_message_time_and_never_invents_one() -> None:
    spec = EXCHANGES["kraken"]
    with_time = {"info": {"symbol": "BTC/USD", "timestamp": "2025-06-01T12:00:00.250000Z"}}
    assert exchange_time_ms(spec, with_time["info"], {}, with_time) == 1_748_779_200_250
    assert exchange_time_ms(spec, {"symbol": "BTC/USD"}, {}, {"timestamp": None}) is None


def test_other_exchanges_hook_handle_message_and_trust_ccxt_timestamp() -> None:
    spec = spec_for("bybit")
    assert spec.ticker_handlers == ("handle_message",)
    assert exchange_time_ms(spec, {}, None, {"timestamp": 1_700_000_000_000}) == (1_700_000_000_000)
    assert exchange_time_ms(spec, {}, None, {"timestamp": None}) is None
    assert build_exchange("bybit").options["defaultType"] == "spot"


def test_declared_handlers_exist_on_the_ccxt_pro_classes() -> None:
    for exchange_id, spec in EXCHANGES.items():
        exchange_class = getattr(ccxt.pro, exchange_id)
        for handler in spec.ticker_handlers:
            assert callable(getattr(exchange_class, handler, None)), (exchange_id, handler)


def test_the_exchange_list_is_the_modules_and_each_has_a_sandbox_venue() -> None:
    modules = {
        path.stem
        for path in (REPO / "extract" / "exchanges").glob("*.py")
        if "\nSPEC = " in path.read_text(encoding="utf-8")
    }
    assert set(EXCHANGES) == modules == {"binance", "coinbase", "kraken", "okx"}
    assert set(VENUES) == set(EXCHANGES), "every shipped exchange can be tested offline"
    assert set(SandboxConfig().exchanges) == set(VENUES)


def test_ccxt_options_come_from_the_spec_and_are_not_shared_between_instances() -> None:
    first, second = build_exchange("binance"), build_exchange("binance")
    assert first.options["watchTickers"]["name"] == "ticker"
    assert first.options["fetchMarkets"]["types"] == ["spot"]
    first.options["fetchMarkets"]["types"].append("future")
    assert second.options["fetchMarkets"]["types"] == ["spot"]
    assert EXCHANGES["binance"].ccxt_options["fetchMarkets"] == {"types": ["spot"]}
    assert build_exchange("coinbase").options["fetchMarkets"] == "fetchMarketsV3"


def test_the_collector_never_imports_the_sandbox() -> None:
    for path in sorted((REPO / "extract" / "collector").glob("*.py")) + sorted(
        (REPO / "extract" / "exchanges").glob("*.py")
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(name.startswith("extract.sandbox") for name in names), path
