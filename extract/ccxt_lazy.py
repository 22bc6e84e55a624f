"""Import ccxt's exchange classes on first use, not all of them at once.

ccxt's three packages (``ccxt``, ``ccxt.async_support``, ``ccxt.pro``) import every exchange
class they ship in their ``__init__``: about 120 MB of RSS and 5 s of a collector worker's
start (``python -c "import ccxt.pro"``), for the handful of exchanges a worker watches.
:func:`install` registers module objects for these three packages that resolve a name when it
is first read: an exchange class from its own module (``ccxt.pro.binance``), anything else from
the modules the real ``__init__`` re-exports (errors, the base exchange, ``Precise``,
``decimal_to_precision``). ``exchanges`` and ``__version__`` are read from the real
``__init__``'s source without running it. The rest of ccxt is imported by Python as usual.

``extract/__init__.py`` installs it, so it is in place before any ccxt import of this package;
if ccxt was already imported (a caller imported it before ``extract``), nothing changes.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

# what each package's real __init__ re-exports, looked up in this order
_RE_EXPORTED_FROM = {
    "ccxt": (
        "ccxt.base.errors",
        "ccxt.base.exchange",
        "ccxt.base.precise",
        "ccxt.base.order_router",
        "ccxt.base.decimal_to_precision",
    ),
    "ccxt.async_support": (
        "ccxt.base.errors",
        "ccxt.async_support.base.exchange",
        "ccxt.base.decimal_to_precision",
    ),
    "ccxt.pro": ("ccxt.base.errors", "ccxt.async_support.base.exchange"),
}


def _literals(init_source: str) -> dict[str, Any]:
    """The ``exchanges`` list and ``__version__`` assigned in a package's ``__init__``."""
    found: dict[str, Any] = {}
    for node in ast.parse(init_source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("exchanges", "__version__"):
                found[target.id] = ast.literal_eval(node.value)
    return found


def _lazy_package(name: str) -> types.ModuleType:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an installed package")
    package = types.ModuleType(name)
    package.__file__ = spec.origin
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    literals = _literals(Path(spec.origin).read_text(encoding="utf-8"))
    package.__dict__.update(literals)
    listed = frozenset(literals.get("exchanges", ()))

    def find(attribute: str) -> Any:
        if attribute in listed:
            return getattr(importlib.import_module(f"{name}.{attribute}"), attribute)
        if attribute == "errors":
            return importlib.import_module("ccxt.base.errors")
        for source in _RE_EXPORTED_FROM[name]:
            module = importlib.import_module(source)
            if hasattr(module, attribute):
                return getattr(module, attribute)
        raise AttributeError(f"module {name!r} has no attribute {attribute!r}")

    def resolve(attribute: str) -> Any:
        value = find(attribute)
        setattr(package, attribute, value)  # found once: later reads are plain attributes
        return value

    package.__getattr__ = resolve  # type: ignore[method-assign]
    return package


def install() -> None:
    """Register the lazy packages, unless ccxt is already imported."""
    if "ccxt" in sys.modules:
        return
    for name in _RE_EXPORTED_FROM:
        package = _lazy_package(name)
        sys.modules[name] = package
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, package)
