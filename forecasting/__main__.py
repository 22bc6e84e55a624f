"""``python -m forecasting [options]`` (``make forecast ARGS=...``)."""

from __future__ import annotations

import sys

from forecasting.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
