"""Where things are: the store location and the bundled evidence.

Defaults, then environment variables (``WHATWORKS_*``), then command-line options; each
later one wins.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

#: Environment variable naming the store (a folder for the embedded store).
STORE_ENV = "WHATWORKS_STORE"


def default_store_location() -> Path:
    """``$XDG_DATA_HOME/whatworks/store``, or ``~/.local/share/whatworks/store``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "whatworks" / "store"


def store_location(option: str | None = None) -> Path:
    """The store to use: the ``--store`` option, else ``$WHATWORKS_STORE``, else the default."""
    chosen = option or os.environ.get(STORE_ENV)
    return Path(chosen).expanduser() if chosen else default_store_location()


def bundled_evidence() -> list[Path]:
    """The coding sheets of the bundled evidence base, in a stable order."""
    folder = files("whatworks.evidence")
    return sorted(Path(str(p)) for p in folder.iterdir() if str(p).endswith(".csv"))


def bundled_statistics() -> Path:
    """The folder of the bundled local-authority statistics (``data/la``, see its README)."""
    return Path(str(files("whatworks.statistics")))
