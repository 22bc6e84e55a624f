"""Everything the collector knows about an exchange, one module per exchange.

Each module of this package that defines ``SPEC`` (an :class:`ExchangeSpec`) declares one
exchange; :data:`EXCHANGES` is derived from the modules once, at import. Adding an exchange is
one new module (plus a sandbox venue to test it offline). Any other ccxt.pro exchange is
collected with :func:`generic_spec`.
"""

from __future__ import annotations

import importlib
import pkgutil

from extract.exchanges.spec import ExchangeSpec, generic_spec

# the package's own machinery, not exchanges (client imports this package)
_NOT_EXCHANGES = frozenset({"spec", "client"})


def _declared() -> dict[str, ExchangeSpec]:
    specs: dict[str, ExchangeSpec] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if module_info.name in _NOT_EXCHANGES:
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        spec = getattr(module, "SPEC", None)
        if isinstance(spec, ExchangeSpec):
            specs[spec.exchange_id] = spec
    return specs


EXCHANGES: dict[str, ExchangeSpec] = _declared()


def spec_for(exchange_id: str) -> ExchangeSpec:
    """The declared spec of an exchange, else the generic one."""
    return EXCHANGES.get(exchange_id) or generic_spec(exchange_id)


__all__ = ["EXCHANGES", "ExchangeSpec", "generic_spec", "spec_for"]
