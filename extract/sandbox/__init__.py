"""The local exchange sandbox: fake binance, kraken, coinbase and okx on 127.0.0.1.

``python -m extract sandbox`` serves them; :func:`extract.sandbox.client.build_exchange` builds a
ccxt.pro client pointed at them.
"""
