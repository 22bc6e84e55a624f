"""Collector, landing, export and sandbox. ccxt loads its exchange classes on first use here
(see :mod:`extract.ccxt_lazy`), so a worker holds only the exchanges it watches."""

from extract import ccxt_lazy

ccxt_lazy.install()
