"""Build a ccxt / ccxt.pro exchange instance from its spec, optionally pointed at a local base URL.

A local base (the sandbox, ``--sandbox``) addresses every real API URL generically:
``scheme://host[:port]/path`` is served at ``http://127.0.0.1:PORT/host/path`` (``ws://`` for
websockets). :func:`rewrite_url` applies that rule; :func:`build_exchange` applies it to every
URL in ``exchange.urls`` and nothing else, so the exchange runs its real request, parsing and
websocket code.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro

from extract.exchanges import spec_for

_URL_SCHEMES = ("http", "https", "ws", "wss")
_WEBSOCKET_SCHEMES = ("ws", "wss")

# ccxt's own per-request delay is tuned for real exchanges (e.g. kraken waits 1 s); a local
# base answers instantly, so tests and the demo use a short one while keeping the limiter on.
TEST_RATE_LIMIT_MS = 5


def rewrite_url(url: str, sandbox_url: str) -> str:
    """Map ``scheme://host[:port]/path`` to ``<sandbox>/host/path`` (``ws://`` for websockets).

    Strings that are not http(s)/ws(s) URLs are returned unchanged. Query and fragment are kept.
    A template host such as okx's ``{hostname}`` stays a template, so ccxt fills it in as usual.
    """
    parts = urlsplit(url)
    if parts.scheme not in _URL_SCHEMES or not parts.netloc:
        return url
    sandbox = urlsplit(sandbox_url)
    if sandbox.scheme not in ("http", "ws") or not sandbox.netloc:
        raise ValueError(f"sandbox_url must look like http://127.0.0.1:PORT, got {sandbox_url!r}")
    scheme = "ws" if parts.scheme in _WEBSOCKET_SCHEMES else "http"
    host = parts.netloc.rsplit("@", 1)[-1]
    if not host.startswith("["):
        host = host.split(":", 1)[0]
    rewritten = f"{scheme}://{sandbox.netloc}/{host}{parts.path}"
    if parts.query:
        rewritten += f"?{parts.query}"
    if parts.fragment:
        rewritten += f"#{parts.fragment}"
    return rewritten


def rewrite_urls(urls: object, sandbox_url: str) -> object:
    """Apply :func:`rewrite_url` to every string inside a nested dict/list of URLs."""
    if isinstance(urls, str):
        return rewrite_url(urls, sandbox_url)
    if isinstance(urls, dict):
        return {key: rewrite_urls(value, sandbox_url) for key, value in urls.items()}
    if isinstance(urls, list):
        return [rewrite_urls(value, sandbox_url) for value in urls]
    return urls


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_exchange(
    exchange_id: str,
    *,
    sandbox_url: str | None = None,
    pro: bool = True,
    config: dict[str, Any] | None = None,
) -> Any:
    """A ccxt.pro (or, with ``pro=False``, ccxt async) instance with its spec's options.

    With ``sandbox_url`` every URL in ``exchange.urls`` is rewritten to it and the rate limiter
    uses :data:`TEST_RATE_LIMIT_MS`. ``config`` is deep-merged last and wins.
    """
    module = ccxt_pro if pro else ccxt_async
    exchange_class = getattr(module, exchange_id, None)
    if exchange_id not in module.exchanges or exchange_class is None:
        raise ValueError(f"unknown ccxt exchange {exchange_id!r}")
    settings: dict[str, Any] = {
        "enableRateLimit": True,
        "options": copy.deepcopy(dict(spec_for(exchange_id).ccxt_options)),
    }
    if sandbox_url is not None:
        settings["rateLimit"] = TEST_RATE_LIMIT_MS
    settings = _deep_merge(settings, config or {})
    exchange = exchange_class(settings)
    if sandbox_url is not None:
        exchange.urls = rewrite_urls(exchange.urls, sandbox_url)
    return exchange
