"""Forecasts per (exchange_id, symbol) from the cleansed grid, with cross-validated accuracy.

``python -m forecasting`` (``make forecast``) reads ``cleansing.cln_market_grid`` from the
warehouse named by ``DWH_DUCKDB_PATH`` and replaces the rows of ``forecast.forecast_prices``,
``forecast.forecast_metrics`` and ``forecast.forecast_skipped_series`` in one transaction.
See docs/forecasting.md.
"""
