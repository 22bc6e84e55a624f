"""The local exchange sandbox: fake binance, kraken, coinbase and okx on 127.0.0.1.

``python -m extract sandbox`` serves them; :func:`extract.exchanges.client.build_exchange` (with
``sandbox_url``) builds a ccxt.pro client pointed at them. The venues keep the wire formats; what
the collector knows about each exchange lives in :mod:`extract.exchanges`, never here.
"""
