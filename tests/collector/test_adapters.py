"""Exchange-time provenance: each exchange's own event time, from where it really lives."""

from __future__ import annotations

from extract.collector.adapters import ADAPTERS, adapter_for, exchange_time_ms


def test_binance_uses_the_event_time_not_the_stats_close_time() -> None:
    ticker = {
        "timestamp": 1_579_485_597_842,
        "info": {"E": 1_579_485_598_569, "C": 1_579_485_597_842},
    }
    assert exchange_time_ms(ADAPTERS["binance"], ticker, frame=None) == 1_579_485_598_569


def test_okx_uses_ts_sent_as_a_digit_string() -> None:
    ticker = {"timestamp": None, "info": {"ts": "1626526618762"}}
    assert exchange_time_ms(ADAPTERS["okx"], ticker, frame=None) == 1_626_526_618_762


def test_coinbase_uses_the_message_timestamp_with_nanoseconds() -> None:
    frame = {"channel": "ticker", "timestamp": "2023-02-09T20:30:37.167359596Z"}
    assert exchange_time_ms(ADAPTERS["coinbase"], {"info": {}}, frame) == 1_675_974_637_167


def test_kraken_reads_the_ticker_or_message_time_and_never_invents_one() -> None:
    adapter = ADAPTERS["kraken"]
    with_time = {"info": {"symbol": "BTC/USD", "timestamp": "2025-06-01T12:00:00.250000Z"}}
    assert exchange_time_ms(adapter, with_time, frame={}) == 1_748_779_200_250
    assert exchange_time_ms(adapter, {"timestamp": None, "info": {"symbol": "BTC/USD"}}, {}) is None


def test_other_exchanges_hook_handle_message_and_trust_ccxt_timestamp() -> None:
    adapter = adapter_for("bybit")
    assert adapter.ticker_handlers == ("handle_message",)
    assert exchange_time_ms(adapter, {"timestamp": 1_700_000_000_000, "info": {}}, None) == (
        1_700_000_000_000
    )
    assert exchange_time_ms(adapter, {"timestamp": None, "info": {}}, None) is None


def test_declared_handlers_exist_on_the_ccxt_pro_classes() -> None:
    import ccxt.pro

    for exchange_id, adapter in ADAPTERS.items():
        exchange_class = getattr(ccxt.pro, exchange_id)
        for handler in adapter.ticker_handlers:
            assert callable(getattr(exchange_class, handler, None)), (exchange_id, handler)
